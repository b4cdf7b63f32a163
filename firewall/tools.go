package firewall

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tools are the commands that drive one iptables backend on this host. On
// Debian 10+, Ubuntu 20.04+ and RHEL 8+ each flavour has its own name
// (iptables-legacy, iptables-nft); on CentOS/RHEL 7, Alibaba Cloud Linux 2
// and Ubuntu 18.04 there is only `iptables`, and it is the legacy one. So
// which command drives a backend is found from what exists, never assumed.
type Tools struct {
	Backend Backend
	// Name is the command: the flavour's own name where it exists (a
	// script that says iptables-legacy keeps working when
	// update-alternatives later points `iptables` elsewhere), else
	// "iptables" when `iptables -V` says it is this flavour.
	Name    string
	Path    string // Name, found on PATH
	Restore string // its iptables-restore sibling, found on PATH
	Version string // from `iptables -V` when Name is "iptables", e.g. "1.4.21"
	// RestoreWaits: this iptables-restore takes `-w SECONDS` (1.6.2 and
	// later; CentOS 7's 1.4.21 and Ubuntu 18.04's 1.6.1 reject it). The
	// flavour-named commands came with 1.8.
	RestoreWaits bool
}

// versionRE reads `iptables -V`: "iptables v1.8.9 (legacy)", "iptables
// v1.8.9 (nf_tables)", or before 1.8 "iptables v1.4.21" with no suffix:
// those predate iptables-nft, so they are legacy.
var versionRE = regexp.MustCompile(`v(\d+\.\d+(?:\.\d+)?)(?:\s+\(([^)]*)\))?`)

// ParseIptablesVersion returns the backend and version `iptables -V`
// printed; ok is false for output it does not recognise.
func ParseIptablesVersion(out string) (b Backend, version string, ok bool) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return "", "", false
	}
	switch m[2] {
	case "", "legacy":
		return IptablesLegacy, m[1], true
	case "nf_tables":
		return IptablesNFT, m[1], true
	}
	return "", m[1], false
}

var numberRE = regexp.MustCompile(`\d+`)

func versionAtLeast(v string, want ...int) bool {
	var parts []int
	for _, f := range numberRE.FindAllString(v, 3) {
		n, _ := strconv.Atoi(f)
		parts = append(parts, n)
	}
	for i, w := range want {
		got := 0
		if i < len(parts) {
			got = parts[i]
		}
		if got != w {
			return got > w
		}
	}
	return true
}

// toolsCache keeps one answer per PATH and question: `iptables -V` is a
// process, and the plan, the batch and the script all ask.
var toolsCache sync.Map // string → toolsAnswer or plainIptables

type toolsAnswer struct {
	t   Tools
	err error
}

// plainIptables is what the command named `iptables` is here.
type plainIptables struct {
	path    string // "" when there is none
	backend Backend
	version string
	said    string // its -V output, when not understood
}

func lookPlain() plainIptables {
	key := os.Getenv("PATH") + "\x00iptables"
	if a, ok := toolsCache.Load(key); ok {
		return a.(plainIptables)
	}
	var pl plainIptables
	if p, err := exec.LookPath("iptables"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, _ := exec.CommandContext(ctx, p, "-V").Output()
		cancel()
		b, version, ok := ParseIptablesVersion(string(out))
		pl = plainIptables{path: p, backend: b, version: version}
		if !ok {
			pl.backend, pl.said = "", strings.TrimSpace(string(out))
		}
	}
	toolsCache.Store(key, pl)
	return pl
}

// FindTools finds the commands for backend b (IptablesNFT or
// IptablesLegacy): the flavour's own name where it exists, else the plain
// `iptables` when `iptables -V` says it is that flavour. The error says
// what to install, for the package manager this host has.
func FindTools(b Backend) (Tools, error) {
	key := os.Getenv("PATH") + "\x00" + string(b)
	if a, ok := toolsCache.Load(key); ok {
		return a.(toolsAnswer).t, a.(toolsAnswer).err
	}
	t, err := findTools(b)
	toolsCache.Store(key, toolsAnswer{t, err})
	return t, err
}

func findTools(b Backend) (Tools, error) {
	name := string(b) // iptables-legacy, iptables-nft
	if p, err := exec.LookPath(name); err == nil {
		return withRestore(Tools{Backend: b, Name: name, Path: p, RestoreWaits: true}, name+"-restore")
	}
	pl := lookPlain()
	switch {
	case pl.path == "":
		return Tools{}, fmt.Errorf("neither %s nor iptables found: %s", name, InstallAdvice(b))
	case pl.backend == b:
		return withRestore(Tools{Backend: b, Name: "iptables", Path: pl.path, Version: pl.version,
			RestoreWaits: versionAtLeast(pl.version, 1, 6, 2)}, "iptables-restore")
	case pl.backend == "":
		return Tools{}, fmt.Errorf("no %s here, and `iptables -V` says %q: %s", name, pl.said, InstallAdvice(b))
	}
	return Tools{}, fmt.Errorf("no %s here, and `iptables` is %s %s: %s", name, pl.backend, pl.version, InstallAdvice(b))
}

func withRestore(t Tools, restore string) (Tools, error) {
	// The sibling in the same directory first: it is the same flavour.
	if p := filepath.Join(filepath.Dir(t.Path), restore); isExecutable(p) {
		t.Restore = p
		return t, nil
	}
	p, err := exec.LookPath(restore)
	if err != nil {
		return t, fmt.Errorf("%s found but not %s: %s", t.Name, restore, InstallAdvice(t.Backend))
	}
	t.Restore = p
	return t, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// CommandName is the command an operator would type for backend b on this
// host: `iptables` when that is the flavour, else what FindTools finds, else
// the flavour's usual name (the plan is still shown; applying it then fails
// with FindTools' advice).
func CommandName(b Backend) string {
	if pl := lookPlain(); pl.path != "" && pl.backend == b {
		return "iptables"
	}
	if t, err := FindTools(b); err == nil {
		return t.Name
	}
	if b == IptablesNFT {
		return "iptables"
	}
	return string(b)
}

// InstallAdvice says how to get the tools for backend b with the package
// manager this host has: apt (Debian, Ubuntu), dnf (RHEL 8+, Alibaba Cloud
// Linux 3, Fedora) or yum (CentOS/RHEL 7, Alibaba Cloud Linux 2, whose
// `iptables` package is the legacy one).
func InstallAdvice(b Backend) string {
	switch {
	case lookable("apt-get"):
		return "install the iptables package (apt install iptables)"
	case lookable("dnf"):
		if b == IptablesLegacy {
			return "install the legacy tools (dnf install iptables-legacy; on RHEL it is in EPEL)"
		}
		return "install the iptables package (dnf install iptables-nft)"
	case lookable("yum"):
		return "install the iptables package (yum install iptables)"
	}
	return "install the iptables package of your distribution"
}

func lookable(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}
