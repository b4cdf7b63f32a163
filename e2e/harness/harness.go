package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tsrules"
	"tailscale.com/types/logger"
)

// Options choose one cell of the matrix.
type Options struct {
	Version string   // tailscaled version, one of Versions
	Mode    string   // lab.ModeIptablesNFT, lab.ModeIptablesLegacy or lab.ModeNFTables
	Variant string   // lab.VariantDefault, lab.VariantNodeAttr or lab.VariantNetfilterOff
	Prefix  string   // lab namespace prefix; must be unique among parallel nodes
	Host    lab.Host // how the server looks to ECS detection; default lab.HostECSDMI
	// LegacyNamed (with lab.ModeIptablesLegacy): tailscaled and tsdoctor
	// both get the lab's legacy-named PATH, where `iptables` is the legacy
	// one and nothing is called iptables-legacy (CentOS 7, Ubuntu 18.04).
	LegacyNamed bool
	Logf        logger.Logf
}

// Scenario is the lab scenario of the same name as this cell, whose rules
// must equal the real daemon's.
func (o Options) Scenario() (lab.Scenario, error) {
	return lab.ParseScenario(o.Version + "-" + o.Mode + "-" + o.Variant)
}

// Node is a real tailscaled on the lab's ECS server, logged in to Control.
type Node struct {
	Options
	Lab     *lab.Lab
	Control *Control
	Bins    string // directory with the real tailscaled and tailscale
	Dir     string // tailscaled's state directory and socket

	mu     sync.Mutex
	daemon *exec.Cmd
	exited chan struct{}
	log    *os.File
	cancel context.CancelFunc
}

// Socket is tailscaled's LocalAPI socket, where the host's root (the lab's,
// TSDOCTOR_ROOT) puts it, so tsdoctor finds it as on a real host.
func (n *Node) Socket() string { return lab.SocketPath(n.Lab.RootDir()) }

// LogFile is where tailscaled's output goes (appended across restarts).
func (n *Node) LogFile() string { return filepath.Join(n.Dir, "tailscaled.log") }

// legacyDir holds iptables → iptables-legacy wrappers for tailscaled's PATH.
func (n *Node) legacyDir() string { return filepath.Join(n.Dir, "legacy-bin") }

// Start builds (or reuses) the binaries, brings up the lab namespaces with
// their VPC services, starts the control server, then tailscaled, and logs
// it in. It returns once tailscaled is Running and its rules are in place.
// Close undoes all of it.
func Start(ctx context.Context, o Options) (n *Node, err error) {
	if os.Geteuid() != 0 {
		return nil, lab.ErrNeedRoot
	}
	if _, err := o.Scenario(); err != nil {
		return nil, err
	}
	if o.Logf == nil {
		o.Logf = logger.Discard
	}
	bins, err := Binaries(ctx, o.Version)
	if err != nil {
		return nil, err
	}
	// No fake Tailscale: the namespaces, resolv.conf and VPC services only.
	if o.LegacyNamed && o.Mode != lab.ModeIptablesLegacy {
		return nil, fmt.Errorf("a legacy-named host has only legacy iptables, not %s", o.Mode)
	}
	l, err := lab.Up(ctx, lab.Options{Prefix: o.Prefix, Scenario: lab.Scenario{Name: "no-tailscale"}, Host: o.Host, LegacyNamed: o.LegacyNamed})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	n = &Node{Options: o, Lab: l, Bins: bins, Dir: filepath.Join(l.Dir, "tailscaled"), cancel: cancel}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.daemonLog(), n.Close())
			n = nil
		}
	}()
	if err := l.Serve(sctx); err != nil {
		return n, err
	}
	if err := n.writeWrappers(); err != nil {
		return n, err
	}
	if n.Control, err = StartControl(l.VPC(), o.Variant == lab.VariantNodeAttr, o.Logf); err != nil {
		return n, err
	}
	if err := n.StartDaemon(ctx); err != nil {
		return n, err
	}
	up := []string{"up", "--login-server=" + n.Control.URL, "--authkey=tskey-lab", "--hostname=ecs-lab",
		// Keep the DHCP resolv.conf as it is on ECS: the failure is about
		// the VPC resolvers, and MagicDNS does not change it.
		"--accept-dns=false", "--timeout=60s"}
	if o.Variant == lab.VariantNetfilterOff {
		up = append(up, "--netfilter-mode=off")
	}
	if out, err := n.CLI(ctx, up...); err != nil {
		return n, fmt.Errorf("tailscale up: %w\n%s", err, out)
	}
	if err := n.WaitReady(ctx); err != nil {
		return n, err
	}
	return n, nil
}

// writeWrappers puts the real tailscale CLI, bound to this node's socket,
// first on the lab's PATH (what tsdoctor runs), and the legacy iptables
// wrappers where only tailscaled sees them.
func (n *Node) writeWrappers() error {
	for _, d := range []string{n.Dir, n.Lab.BinDir(), n.legacyDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	cli := "#!/bin/sh\nexec " + filepath.Join(n.Bins, "tailscale") + " --socket=" + n.Socket() + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(n.Lab.BinDir(), "tailscale"), []byte(cli), 0o755); err != nil {
		return err
	}
	// The real tailscaled, with the node's firewall mode, for what tsdoctor
	// runs itself (`tailscaled --cleanup` after a crash).
	daemon := "#!/bin/sh\nexec env -i " + strings.Join(n.daemonEnv(), " ") + " " + filepath.Join(n.Bins, "tailscaled") + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(n.Lab.BinDir(), "tailscaled"), []byte(daemon), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(n.Socket()), 0o755); err != nil {
		return err
	}
	for _, tool := range []string{"iptables", "ip6tables"} {
		for _, suffix := range []string{"", "-save", "-restore"} {
			target, err := exec.LookPath(tool + "-legacy" + suffix)
			if err != nil {
				return fmt.Errorf("iptables-legacy mode needs %s-legacy%s: apt install iptables", tool, suffix)
			}
			w := "#!/bin/sh\nexec " + target + " \"$@\"\n"
			if err := os.WriteFile(filepath.Join(n.legacyDir(), tool+suffix), []byte(w), 0o755); err != nil {
				return err
			}
		}
	}
	return nil
}

// daemonEnv is tailscaled's environment for the node's firewall mode.
func (n *Node) daemonEnv() []string {
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// TS_LOGS_DIR: even with --no-logs-no-support tailscaled writes its
	// log policy file, by default to /var/lib/tailscale on the host.
	env := []string{"HOME=" + n.Dir, "TS_LOGS_DIR=" + n.Dir}
	switch {
	case n.LegacyNamed:
		// tailscaled finds its iptables on PATH as on CentOS 7: the
		// plain name is the legacy tool, and there is no other.
		path = n.Lab.LegacyNamedDir()
		env = append(env, "TS_DEBUG_FIREWALL_MODE=iptables")
	case n.Mode == lab.ModeIptablesLegacy:
		// tailscaled runs whatever `iptables` is on its PATH, as on a
		// host where update-alternatives points it at iptables-legacy.
		path = n.legacyDir() + ":" + path
		env = append(env, "TS_DEBUG_FIREWALL_MODE=iptables")
	case n.Mode == lab.ModeNFTables:
		env = append(env, "TS_DEBUG_FIREWALL_MODE=nftables")
	default:
		env = append(env, "TS_DEBUG_FIREWALL_MODE=iptables")
	}
	return append(env, "PATH="+path)
}

// StartDaemon starts tailscaled in the ECS namespace and waits for its
// LocalAPI socket.
func (n *Node) StartDaemon(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.daemon != nil {
		return errors.New("tailscaled is already running")
	}
	if n.log == nil {
		f, err := os.OpenFile(n.LogFile(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		n.log = f
	}
	_ = os.Remove(n.Socket())
	args := append([]string{"netns", "exec", n.Lab.ECS(), "env", "-i"}, n.daemonEnv()...)
	args = append(args, filepath.Join(n.Bins, "tailscaled"),
		"--tun=tailscale0", "--statedir="+n.Dir, "--socket="+n.Socket(), "--no-logs-no-support")
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = n.log, n.log
	// Its own process group: a Ctrl-C of the test run reaches the test,
	// which then stops tailscaled in order (rules cleaned up by the daemon).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start tailscaled: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	n.daemon, n.exited = cmd, exited
	for {
		if _, err := os.Stat(n.Socket()); err == nil {
			return nil
		}
		select {
		case <-exited:
			n.daemon = nil
			return fmt.Errorf("tailscaled exited at start: %s\n%s", cmd.ProcessState, n.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// takeDaemon is the running tailscaled (nil if none) and the channel closed
// when it exits; the node no longer counts it as running.
func (n *Node) takeDaemon() (*exec.Cmd, chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	cmd, exited := n.daemon, n.exited
	n.daemon = nil
	return cmd, exited
}

// StopDaemon stops tailscaled as systemd would (SIGTERM, then SIGKILL after
// ten seconds) and waits for it to exit.
func (n *Node) StopDaemon() error {
	cmd, exited := n.takeDaemon()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(10 * time.Second):
	}
	_ = cmd.Process.Kill()
	<-exited
	return errors.New("tailscaled ignored SIGTERM for 10 s and was killed")
}

// KillDaemon kills tailscaled with SIGKILL, as the OOM killer or `kill -9`
// does: it cannot clean up, so its rules and its socket file stay.
func (n *Node) KillDaemon() error {
	cmd, exited := n.takeDaemon()
	if cmd == nil {
		return errors.New("tailscaled is not running")
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
	return nil
}

// Restart stops and starts tailscaled, as `systemctl restart tailscaled`
// does, and waits until it is Running again with its rules rebuilt.
func (n *Node) Restart(ctx context.Context) error {
	if err := n.StopDaemon(); err != nil {
		return err
	}
	if err := n.StartDaemon(ctx); err != nil {
		return err
	}
	return n.WaitReady(ctx)
}

// CLI runs the real tailscale CLI against this node's tailscaled.
func (n *Node) CLI(ctx context.Context, args ...string) ([]byte, error) {
	return n.Command(ctx, "tailscale", args...).CombinedOutput()
}

// Command runs name in the ECS namespace with the real tailscale CLI first on
// PATH: how tsdoctor is run against this node.
func (n *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return n.Lab.Command(ctx, name, args...)
}

// Status is the part of `tailscale status --json` the harness waits on.
type Status struct {
	BackendState string
	Self         struct {
		TailscaleIPs []string
		CapMap       map[string]json.RawMessage
	}
}

// Status reads `tailscale status --json`.
func (n *Node) Status(ctx context.Context) (Status, error) {
	var st Status
	cmd := n.Command(ctx, "tailscale", "status", "--json")
	out, err := cmd.Output()
	if err != nil {
		return st, fmt.Errorf("tailscale status: %w", err)
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return st, fmt.Errorf("tailscale status --json: %w", err)
	}
	return st, nil
}

// IPv4 is the node's own Tailscale address.
func (n *Node) IPv4(ctx context.Context) (string, error) {
	st, err := n.Status(ctx)
	if err != nil {
		return "", err
	}
	for _, ip := range st.Self.TailscaleIPs {
		if !strings.Contains(ip, ":") {
			return ip, nil
		}
	}
	return "", errors.New("tailscale status shows no IPv4 address")
}

// WaitReady waits until tailscaled is Running, holds the node attribute the
// control server grants, and its ts-input chain is as the netfilter mode
// wants it: present with the CGNAT rule in place, or absent when off.
func (n *Node) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last string
	for {
		st, err := n.Status(ctx)
		switch {
		case err != nil:
			last = err.Error()
		case st.BackendState != "Running":
			last = "backend state " + st.BackendState
		default:
			_, attr := st.Self.CapMap["disable-linux-cgnat-drop-rule"]
			rules, err := n.InputRules(ctx)
			off, perr := n.NetfilterOff(ctx)
			switch {
			case err != nil:
				last = err.Error()
			case perr != nil:
				last = perr.Error()
			case attr != n.Control.NodeAttr():
				last = fmt.Sprintf("node attribute in CapMap: %v, control grants %v", attr, n.Control.NodeAttr())
			case off && len(rules) != 0:
				last = fmt.Sprintf("netfilter off but ts-input has %d rules", len(rules))
			case !off && !hasCGNATRule(rules, attr && n.honoursAttr()):
				last = fmt.Sprintf("ts-input not complete yet: %q", rules)
			default:
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tailscaled not ready: %s\n%s", last, n.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// NetfilterOff reports whether tailscaled's netfilter mode pref is off
// (`tailscale debug prefs`: NetfilterMode 0).
func (n *Node) NetfilterOff(ctx context.Context) (bool, error) {
	out, err := n.Command(ctx, "tailscale", "debug", "prefs").Output()
	if err != nil {
		return false, fmt.Errorf("tailscale debug prefs: %w", err)
	}
	var p struct{ NetfilterMode int }
	if err := json.Unmarshal(out, &p); err != nil {
		return false, fmt.Errorf("tailscale debug prefs: %w", err)
	}
	return p.NetfilterMode == 0, nil
}

// honoursAttr: the node attribute exists since 1.98.
func (n *Node) honoursAttr() bool {
	s, err := n.Scenario()
	return err == nil && s.NodeAttrSupported()
}

// hasCGNATRule reports whether the CGNAT rule (the DROP, or the RETURN that
// replaces it under the node attribute) is the chain's last rule's kind: it
// is installed last, so the chain is complete.
func hasCGNATRule(rules []string, attr bool) bool {
	for _, r := range rules {
		if strings.Contains(r, tsrules.CGNAT.String()) {
			isReturn := strings.HasSuffix(r, "RETURN") || strings.HasSuffix(r, "return")
			return isReturn == attr
		}
	}
	return false
}

// Close logs out nothing (the control server just goes away), stops
// tailscaled, the control server and the lab.
func (n *Node) Close() error {
	var errs []error
	if err := n.StopDaemon(); err != nil {
		errs = append(errs, err)
	}
	if n.Control != nil {
		n.Control.Close()
	}
	if n.cancel != nil {
		n.cancel()
	}
	if n.log != nil {
		n.log.Close()
	}
	if n.Lab != nil {
		if err := n.Lab.Down(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// daemonLog returns tailscaled's log as an error for a failed Start.
func (n *Node) daemonLog() error {
	if t := n.logTail(); t != "" {
		return errors.New("tailscaled log:\n" + t)
	}
	return nil
}

func (n *Node) logTail() string {
	b, err := os.ReadFile(n.LogFile())
	if err != nil {
		return ""
	}
	return Tail(b, 30)
}

// FirewallModeLogged returns the firewall mode tailscaled says it chose
// ("iptables" or "nftables"), from its log: the only place it says so.
func (n *Node) FirewallModeLogged() string {
	b, _ := os.ReadFile(n.LogFile())
	s := string(b)
	mode := ""
	for {
		i := strings.Index(s, "netfilter running in ")
		if i < 0 {
			return mode
		}
		s = s[i+len("netfilter running in "):]
		mode, _, _ = strings.Cut(s, " ")
	}
}
