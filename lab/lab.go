package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultPrefix names the lab when Options.Prefix is empty.
const DefaultPrefix = "tsdlab"

// ErrNeedRoot is returned when the lab is used without root.
var ErrNeedRoot = errors.New("the lab needs root to create network namespaces: rerun with sudo")

// Options configure Up.
type Options struct {
	Prefix   string   // namespace name prefix; default "tsdlab"
	Scenario Scenario // zero value: DefaultScenario()
	Dir      string   // state directory; default /run/tsdoctor-lab/<prefix>
	Tsdoctor string   // tsdoctor binary the tailscale wrapper execs; default os.Executable()
	Host     Host     // how the server looks to ECS detection; default HostECSDMI
	// LegacyNamed runs every command in the lab with a PATH whose
	// `iptables` is the legacy one and which has no iptables-legacy (see
	// LegacyNamedDir). The lab's own rule writing is not affected.
	LegacyNamed bool
}

// Lab is a running lab. Its exported fields are saved to <Dir>/lab.json so
// other processes (`tsdoctor lab serve`, `lab shell`, `lab down`) can find it.
type Lab struct {
	Prefix   string   `json:"prefix"`
	Scenario Scenario `json:"scenario"`
	Dir      string   `json:"dir"`
	Tsdoctor string   `json:"tsdoctor"`
	Host     Host     `json:"host"`
	// LegacyNamed: see Options.LegacyNamed.
	LegacyNamed bool `json:"legacyNamed,omitempty"`
	// TunKind is how tailscale0 was made: "dummy", or "tun" where the kernel
	// has no dummy driver (a persistent tun device, as tailscaled uses).
	TunKind string `json:"tunKind,omitempty"`

	mu      sync.Mutex
	servers []*servers
}

var prefixRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,19}$`)

// DefaultDir is where a lab keeps its state.
func DefaultDir(prefix string) string { return filepath.Join("/run/tsdoctor-lab", prefix) }

// ECS is the name of the namespace playing the ECS server.
func (l *Lab) ECS() string { return l.Prefix + "-ecs" }

// VPC is the name of the namespace playing the VPC and its services.
func (l *Lab) VPC() string { return l.Prefix + "-vpc" }

// BinDir holds the fake tailscale wrapper (absent without Tailscale).
func (l *Lab) BinDir() string { return filepath.Join(l.Dir, "bin") }

// RootDir is the ECS server's file system root for tsdoctor's remedies
// (TSDOCTOR_ROOT): units, scripts and the journal land here, never in the
// host's /etc. Its etc/resolv.conf is the server's resolv.conf.
func (l *Lab) RootDir() string { return filepath.Join(l.Dir, "root") }

// StateFile is the fake tailscale CLI's state.
func (l *Lab) StateFile() string { return filepath.Join(l.Dir, "state.json") }

// Up builds the lab, replacing any lab with the same prefix.
func Up(ctx context.Context, o Options) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !prefixRE.MatchString(o.Prefix) {
		return nil, fmt.Errorf("invalid lab prefix %q: use up to 20 lowercase letters, digits and dashes", o.Prefix)
	}
	if o.Scenario == (Scenario{}) {
		o.Scenario = DefaultScenario()
	}
	if err := o.Scenario.Validate(); err != nil {
		return nil, err
	}
	host, err := ParseHost(string(o.Host))
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		o.Dir = DefaultDir(o.Prefix)
	}
	if o.Tsdoctor == "" && o.Scenario.Tailscale {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the tsdoctor binary for the fake tailscale CLI: %w", err)
		}
		o.Tsdoctor = exe
	}
	if o.Tsdoctor != "" {
		abs, err := filepath.Abs(o.Tsdoctor)
		if err != nil {
			return nil, err
		}
		o.Tsdoctor = abs
	}
	for _, tool := range []string{"ip", "iptables-nft-restore", "iptables-legacy-restore", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("the lab needs %s: install iproute2, iptables and nftables", tool)
		}
	}
	l := &Lab{Prefix: o.Prefix, Scenario: o.Scenario, Dir: o.Dir, Tsdoctor: o.Tsdoctor, Host: host, LegacyNamed: o.LegacyNamed}
	// A lab of this process with the same prefix may still be serving.
	if old, ok := live.Load(o.Prefix); ok {
		old.(*Lab).stopServers()
	}
	if err := l.Down(); err != nil {
		return nil, fmt.Errorf("remove the previous lab %s: %w", l.Prefix, err)
	}
	if err := l.build(ctx); err != nil {
		if derr := l.Down(); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, err
	}
	live.Store(l.Prefix, l)
	return l, nil
}

// live holds the labs this process built, by prefix.
var live sync.Map

func (l *Lab) build(ctx context.Context) error {
	for _, ns := range []string{l.ECS(), l.VPC()} {
		if _, err := run(ctx, "", "", "ip", "netns", "add", ns); err != nil {
			return err
		}
	}
	// The veth pair is created inside the namespaces: the host's own
	// namespace never sees an interface, a route or an address of the lab.
	err := ipBatch(ctx, l.ECS(),
		"link set lo up",
		"link add eth0 address 00:16:3e:00:01:0a type veth peer name veth-ecs netns "+l.VPC(),
		"addr add "+ECSAddr+"/24 dev eth0",
		"link set eth0 up",
		"route add default via "+GatewayAddr,
	)
	if err != nil {
		return err
	}
	vpc := []string{"link set lo up", "addr add " + GatewayAddr + "/24 dev veth-ecs", "link set veth-ecs up"}
	for _, a := range append(slices.Clone(internalDNS), MetadataAddr, MirrorAddr, PublicDNS1, PublicDNS2, ExampleAddr) {
		vpc = append(vpc, "addr add "+a+"/32 dev lo")
	}
	if err := ipBatch(ctx, l.VPC(), vpc...); err != nil {
		return err
	}
	if l.Scenario.Tailscale {
		l.TunKind = "dummy"
		if err := ipBatch(ctx, l.ECS(), "link add tailscale0 type dummy"); err != nil {
			l.TunKind = "tun"
			if err2 := ipBatch(ctx, l.ECS(), "tuntap add dev tailscale0 mode tun"); err2 != nil {
				return errors.Join(err, err2)
			}
		}
		if err := ipBatch(ctx, l.ECS(), "link set tailscale0 mtu 1280 up", "addr add "+NodeIP+"/32 dev tailscale0"); err != nil {
			return err
		}
		// IPv6 may be disabled in the kernel; the IPv4 address is what matters.
		_ = ipBatch(ctx, l.ECS(), "addr add "+NodeIPv6+"/128 dev tailscale0 nodad")
	}

	etc := l.etcDir()
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return err
	}
	// DHCP on ECS pushes both VPC resolvers with these options (each host
	// shape its own resolvers). The file
	// lives in the server's root (where tsdoctor's remedy 4 edits it);
	// `ip netns exec` binds /etc/netns/<ecs>/resolv.conf, a link to it, over
	// /etc/resolv.conf for every process it starts.
	resolv := nameservers(l.Host.Resolvers()) + "options timeout:2 attempts:3 rotate single-request-reopen\n"
	if err := os.MkdirAll(filepath.Join(l.RootDir(), "etc"), 0o755); err != nil {
		return err
	}
	if l.Scenario.Resolver == ResolverStub {
		if err := l.writeResolvedFiles(); err != nil {
			return err
		}
	} else if err := os.WriteFile(filepath.Join(l.RootDir(), "etc", "resolv.conf"), []byte(resolv), 0o644); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join(l.RootDir(), "etc", "resolv.conf"), filepath.Join(etc, "resolv.conf")); err != nil {
		return err
	}

	if err := InstallRules(ctx, l.ECS(), l.Scenario); err != nil {
		return err
	}
	if err := syncRouting(ctx, l.ECS(), NewCLIState(l.Scenario, l.ECS())); err != nil {
		return err
	}

	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return err
	}
	if err := l.writeDMI(); err != nil {
		return err
	}
	if l.LegacyNamed {
		if err := WriteLegacyNamed(l.LegacyNamedDir(), os.Getenv("PATH")); err != nil {
			return err
		}
	}
	if err := l.checkHost(ctx); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(l.Dir, "lab.json"), l); err != nil {
		return err
	}
	if err := WriteCLIState(l.StateFile(), NewCLIState(l.Scenario, l.ECS())); err != nil {
		return err
	}
	if l.Scenario.Tailscale {
		if err := os.MkdirAll(l.BinDir(), 0o755); err != nil {
			return err
		}
		wrapper := "#!/bin/sh\n# tsdoctor lab: fake tailscale CLI for scenario " + l.Scenario.Name + "\n" +
			"exec " + shellQuote(l.Tsdoctor) + " lab tailscale --state " + shellQuote(l.StateFile()) + " -- \"$@\"\n"
		if err := os.WriteFile(filepath.Join(l.BinDir(), "tailscale"), []byte(wrapper), 0o755); err != nil {
			return err
		}
		daemon := "#!/bin/sh\n# tsdoctor lab: fake tailscaled (only --cleanup) for scenario " + l.Scenario.Name + "\n" +
			"exec " + shellQuote(l.Tsdoctor) + " lab tailscaled --state " + shellQuote(l.StateFile()) + " -- \"$@\"\n"
		if err := os.WriteFile(filepath.Join(l.BinDir(), "tailscaled"), []byte(daemon), 0o755); err != nil {
			return err
		}
	}
	if l.Scenario.Variant == VariantCrashed {
		if err := staleSocket(SocketPath(l.RootDir())); err != nil {
			return err
		}
	}
	if l.Scenario.Resolver == ResolverStub {
		if err := l.writeSystemctlGuard(); err != nil {
			return err
		}
	}
	return nil
}

// staleSocket leaves a socket file nobody listens on, as a killed
// tailscaled does: connecting to it is refused.
func staleSocket(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	_ = os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("stale socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	return ln.Close()
}

func (l *Lab) etcDir() string { return filepath.Join("/etc/netns", l.ECS()) }

// nameservers renders resolv.conf lines for addrs.
func nameservers(addrs []string) string {
	var b strings.Builder
	for _, a := range addrs {
		b.WriteString("nameserver " + a + "\n")
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ShellJoin quotes args for sh, so a command of the lab (Command's Args,
// which carry a script of their own) can be run from a shell, e.g. in tmux.
func ShellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Open loads the lab with this prefix from its default directory.
func Open(prefix string) (*Lab, error) { return openDir(DefaultDir(prefix)) }

func openDir(dir string) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(dir, "lab.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no lab in %s: start one with `sudo tsdoctor lab up`", dir)
		}
		return nil, err
	}
	l := new(Lab)
	if err := json.Unmarshal(b, l); err != nil {
		return nil, fmt.Errorf("read %s/lab.json: %w", dir, err)
	}
	if !netnsExists(l.ECS()) || !netnsExists(l.VPC()) {
		return nil, fmt.Errorf("lab %s is incomplete (namespace missing): rerun `sudo tsdoctor lab up`", l.Prefix)
	}
	return l, nil
}

// Command runs name inside the ECS namespace with the lab's bin directory
// first on PATH, so `tailscale` is the fake CLI, on the lab's host shape
// (its DMI, or TSDOCTOR_ECS=1).
func (l *Lab) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", l.ECS()}, l.hostArgs()...)
	full = append(full, "env", "PATH="+l.pathEnv(), "TSDOCTOR_ROOT="+l.RootDir())
	if l.Host == HostECSFlag {
		full = append(full, "TSDOCTOR_ECS=1")
	}
	full = append(append(full, name), args...)
	return exec.CommandContext(ctx, "ip", full...)
}

// pathEnv leaves out directories holding a real tailscale binary: it would
// talk to the host's tailscaled over its socket and mix the host into the lab.
// A legacy-named lab has only its bin directory and its copy of the tools.
func (l *Lab) pathEnv() string {
	dirs := []string{l.BinDir()}
	if l.LegacyNamed {
		return l.BinDir() + ":" + l.LegacyNamedDir()
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "tailscale")); err == nil {
			continue
		}
		dirs = append(dirs, d)
	}
	return strings.Join(dirs, ":")
}

// Down stops the servers (also a background `lab serve` process), ends any
// process left in the namespaces, deletes them, /etc/netns/<ecs> and the
// lab's directory. It is safe to call more than once.
func (l *Lab) Down() error {
	l.stopServers()
	live.CompareAndDelete(l.Prefix, l)
	var errs []error
	if err := killServe(l.Dir); err != nil {
		errs = append(errs, err)
	}
	for _, ns := range []string{l.ECS(), l.VPC()} {
		if !netnsExists(ns) {
			continue
		}
		killNetnsProcs(ns)
		if _, err := run(context.Background(), "", "", "ip", "netns", "del", ns); err != nil && netnsExists(ns) {
			errs = append(errs, err)
		}
	}
	for _, d := range []string{l.etcDir(), filepath.Join("/etc/netns", l.VPC()), l.Dir} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	// Parents the lab created; os.Remove keeps them if anything else is inside.
	_ = os.Remove("/etc/netns")
	_ = os.Remove(filepath.Dir(l.Dir))
	return errors.Join(errs...)
}

// Down removes the lab with this prefix, including its background server.
func Down(prefix string) error {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if os.Geteuid() != 0 {
		return ErrNeedRoot
	}
	dir := DefaultDir(prefix)
	l := &Lab{Prefix: prefix, Dir: dir}
	if b, err := os.ReadFile(filepath.Join(dir, "lab.json")); err == nil {
		_ = json.Unmarshal(b, l)
		l.Prefix, l.Dir = prefix, dir
	}
	return l.Down()
}

// killServe ends the background server recorded in dir/serve.pid, after
// checking the pid still belongs to a `lab serve` for this directory.
func killServe(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "serve.pid"))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || pid == os.Getpid() {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil // already gone
	}
	args := strings.Split(string(cmdline), "\x00")
	if !containsSeq(args, "lab", "serve") || !contains(args, dir) {
		return nil // the pid was reused by something else
	}
	return terminate(pid)
}

func containsSeq(args []string, a, b string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == a && args[i+1] == b {
			return true
		}
	}
	return false
}

// terminate sends SIGTERM, then SIGKILL if the process is still there after
// three seconds. A zombie counts as gone: its parent reaps it.
func terminate(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return nil
	}
	for i := 0; i < 60; i++ {
		if gone(pid) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 40; i++ {
		if gone(pid) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("process %d did not exit", pid)
}

func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// Field 3 (after the parenthesised command name) is the state.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// killNetnsProcs ends processes still running in a lab namespace (a shell,
// a hung dig), which would otherwise keep it alive after `ip netns del`.
func killNetnsProcs(ns string) {
	out, err := run(context.Background(), "", "", "ip", "netns", "pids", ns)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			_ = terminate(pid)
		}
	}
}
