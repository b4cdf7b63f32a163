package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// LegacyNamedDir holds the lab's tools when Options.LegacyNamed is set: a
// copy (by symlinks) of every command on PATH, except that `iptables`,
// `iptables-save` and `iptables-restore` are the legacy tools and nothing is
// called iptables-legacy or iptables-nft, as on CentOS/RHEL 7, Alibaba Cloud
// Linux 2 and Ubuntu 18.04.
func (l *Lab) LegacyNamedDir() string { return filepath.Join(l.Dir, "legacy-named") }

// iptablesFamily are the names a legacy-named host does not have (or has
// only as the legacy tools): every flavour of every *tables command.
var iptablesFamily = regexp.MustCompile(`^(ip6?tables|xtables|arptables|ebtables)(-|$)`)

// WriteLegacyNamed fills dir from the directories of path (the first of a
// name wins, as in a PATH lookup). tailscale and tailscaled are left out:
// the lab's bin directory provides them.
func WriteLegacyNamed(dir, path string) error {
	multi, err := exec.LookPath("xtables-legacy-multi")
	if err != nil {
		return fmt.Errorf("a legacy-named lab needs xtables-legacy-multi: apt install iptables")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// xtables-legacy-multi acts by the name it is started as.
	for _, name := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
		if err := os.Symlink(multi, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	for _, d := range filepath.SplitList(path) {
		entries, err := os.ReadDir(d)
		if d == "" || err != nil || d == dir {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if iptablesFamily.MatchString(name) || name == "tailscale" || name == "tailscaled" || strings.HasPrefix(name, ".") {
				continue
			}
			link := filepath.Join(dir, name)
			if _, err := os.Lstat(link); err == nil {
				continue
			}
			if err := os.Symlink(filepath.Join(d, name), link); err != nil {
				return err
			}
		}
	}
	return nil
}

// CentOS7Input is what CentOS 7's iptables-services loads into INPUT from
// /etc/sysconfig/iptables, which ends up below the jump tailscaled inserts
// first: policy ACCEPT, `-m state` rules, and a final REJECT that turns
// away whatever nothing accepted.
var CentOS7Input = [][]string{
	{"-m", "state", "--state", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
	{"-p", "icmp", "-j", "ACCEPT"},
	{"-i", "lo", "-j", "ACCEPT"},
	{"-p", "tcp", "-m", "state", "--state", "NEW", "-m", "tcp", "--dport", "22", "-j", "ACCEPT"},
	{"-j", "REJECT", "--reject-with", "icmp-host-prohibited"},
}

// AppendInput appends rules to INPUT in namespace ns, in the backend of
// mode (ModeIptablesLegacy or ModeIptablesNFT), with the host's own tools.
func AppendInput(ctx context.Context, ns, mode string, rules [][]string) error {
	bin := "iptables-nft"
	if mode == ModeIptablesLegacy {
		bin = "iptables-legacy"
	}
	for _, r := range rules {
		if _, err := run(ctx, ns, "", bin, append([]string{"-w", "-A", "INPUT"}, r...)...); err != nil {
			return err
		}
	}
	return nil
}
