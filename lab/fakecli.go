package lab

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// CLIState is what the fake tailscale CLI remembers between invocations.
type CLIState struct {
	Scenario Scenario `json:"scenario"`
	// ECS is the namespace whose firewall the CLI changes. The CLI refuses
	// to touch any firewall unless it is running inside exactly that one.
	ECS           string `json:"ecs"`
	NetfilterMode int    `json:"netfilterMode"` // 0 off, 1 nodivert, 2 on
	CorpDNS       bool   `json:"corpDNS"`
	RouteAll      bool   `json:"routeAll"`
	// ExitNode is the exit node in use (its Tailscale IP), "" for none.
	ExitNode    string `json:"exitNode,omitempty"`
	WantRunning bool   `json:"wantRunning"`
	Hostname    string `json:"hostname"`
	// SkipFirewall makes the CLI change only this file (unit tests).
	SkipFirewall bool `json:"skipFirewall,omitempty"`
}

// NewCLIState is the state of a freshly built lab.
func NewCLIState(s Scenario, ecs string) CLIState {
	st := CLIState{Scenario: s, ECS: ecs, NetfilterMode: 2, CorpDNS: true, WantRunning: s.Running(),
		RouteAll: s.Routes == RoutesSubnet}
	if s.Routes == RoutesExit {
		st.ExitNode = RouterIP
	}
	if s.Variant == VariantNetfilterOff {
		st.NetfilterMode = 0
	}
	return st
}

// WriteCLIState writes a state file for FakeTailscale.
func WriteCLIState(path string, st CLIState) error { return writeJSON(path, st) }

// firewall is the shape of the ts-* rules the state calls for: 0 none,
// 1 chains without jumps (nodivert), 2 full.
func (st CLIState) firewall() int {
	if !st.Scenario.Running() || !st.WantRunning {
		return 0
	}
	return st.NetfilterMode
}

func (st CLIState) hostname() string {
	if st.Hostname != "" {
		return st.Hostname
	}
	if st.ECS != "" {
		return st.ECS // the metadata service reports the same hostname
	}
	return "lab-ecs"
}

type versionInfo struct {
	commit, extraCommit, goVersion string
	capVer                         int
}

// Build metadata in the shape official builds report.
var versionInfos = map[string]versionInfo{
	"1.102.3": {"8e1d7f3a2b6c4d5e9f0a1b2c3d4e5f6a7b8c9d0e", "4c9b0d2e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c", "go1.26.2", 140},
	"1.96.5":  {"5b7e9c1d0a2f4e6b8d0c2e4f6a8b0d2c4e6f8a0b", "3a8f2e6b4c0d8e2f6a4b0c8d2e6f4a0b8c2d6e4f", "go1.25.5", 131},
}

func (st CLIState) longVersion() string {
	vi := versionInfos[st.Scenario.Version]
	return st.Scenario.Version + "-t" + vi.commit[:9] + "-g" + vi.extraCommit[:9]
}

const daemonDown = "failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start tailscaled ?)"

// FakeTailscale behaves like the tailscale CLI of the lab's scenario, reading
// and updating stateFile. Netfilter changes really rebuild the ts-* chains in
// the current network namespace, which must be the lab's ECS namespace.
// It returns the exit code.
func FakeTailscale(args []string, stateFile string, stdout, stderr io.Writer) int {
	st, lock, err := lockedCLIState(stateFile)
	if err != nil {
		fmt.Fprintf(stderr, "tailscale (lab): %v\n", err)
		return 1
	}
	defer lock.Close()
	if !st.Scenario.Tailscale {
		fmt.Fprintln(stderr, "tailscale: command not found")
		return 127
	}
	c := &fakeCLI{st: st, stdout: stdout, stderr: stderr, unlock: lock.Close}
	code := c.run(args)
	if c.changed {
		if err := WriteCLIState(stateFile, c.st); err != nil {
			fmt.Fprintf(stderr, "tailscale (lab): save state: %v\n", err)
			return 1
		}
	}
	return code
}

// insideLab refuses a change to what (the firewall, routes) unless this
// process runs in the lab's ECS namespace: the fakes change the namespace
// they run in, which must never be the host's.
func insideLab(st CLIState, what string) error {
	inside, err := sameNetns(st.ECS)
	if err != nil || !inside {
		return fmt.Errorf("refusing to change %s outside the lab: run this inside namespace %s (`sudo tsdoctor lab shell`)%s",
			what, st.ECS, errSuffix(err))
	}
	return nil
}

// readCLIState reads the lab's CLI state file.
func readCLIState(stateFile string) (CLIState, error) {
	var st CLIState
	b, err := os.ReadFile(stateFile)
	if err != nil {
		return st, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("parse state %s: %w", stateFile, err)
	}
	return st, nil
}

// lockedCLIState takes the state file's lock (lockState) and reads it; the
// caller closes the lock.
func lockedCLIState(stateFile string) (CLIState, *os.File, error) {
	lock, err := lockState(stateFile)
	if err != nil {
		return CLIState{}, nil, err
	}
	st, err := readCLIState(stateFile)
	if err != nil {
		lock.Close()
		return st, nil, err
	}
	return st, lock, nil
}

// lockState serialises concurrent CLI invocations on one state file.
func lockState(stateFile string) (*os.File, error) {
	f, err := os.OpenFile(stateFile+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

type fakeCLI struct {
	unlock         func() error // releases the state lock early
	st             CLIState
	changed        bool
	stdout, stderr io.Writer
}

func (c *fakeCLI) run(args []string) int {
	// Global flags of the real CLI.
	for len(args) > 0 && strings.HasPrefix(args[0], "--socket") {
		if args[0] == "--socket" && len(args) > 1 {
			args = args[1:]
		}
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, "USAGE\n  tailscale [flags] <subcommand> [command flags]\n\nSUBCOMMANDS (lab)\n  up, down, set, status, ip, version, debug prefs")
		return 0
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version", "-version":
		return c.version(rest)
	}
	if !c.st.Scenario.Running() {
		c.cannotConnect()
		return 1
	}
	switch cmd {
	case "status":
		return c.status(rest)
	case "debug":
		if len(rest) > 0 && rest[0] == "prefs" {
			return c.prefs(rest[1:])
		}
		fmt.Fprintln(c.stderr, "tailscale (lab): only `debug prefs` is implemented")
		return 1
	case "ip":
		return c.ip(rest)
	case "set", "up":
		return c.setOrUp(cmd, rest)
	case "down":
		return c.down(rest)
	}
	fmt.Fprintf(c.stderr, "tailscale: unknown subcommand: %s\n", cmd)
	return 1
}

func (c *fakeCLI) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

func (c *fakeCLI) version(args []string) int {
	fs := c.newFlags("version")
	asJSON := fs.Bool("json", false, "output in JSON format")
	daemon := fs.Bool("daemon", false, "also print local node's daemon version")
	fs.Bool("upstream", false, "fetch and print the latest upstream release version")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *daemon && !c.st.Scenario.Running() {
		c.cannotConnect()
		return 1
	}
	v := c.st.Scenario.Version
	vi := versionInfos[v]
	if *asJSON {
		m := struct {
			MajorMinorPatch string `json:"majorMinorPatch"`
			Short           string `json:"short"`
			Long            string `json:"long"`
			UnstableBranch  bool   `json:"unstableBranch"`
			GitCommit       string `json:"gitCommit"`
			ExtraGitCommit  string `json:"extraGitCommit"`
			DaemonLong      string `json:"daemonLong,omitempty"`
			Cap             int    `json:"cap"`
		}{v, v, c.st.longVersion(), false, vi.commit, vi.extraCommit, "", vi.capVer}
		if *daemon {
			m.DaemonLong = c.st.longVersion()
		}
		return c.printJSON(m, "  ")
	}
	fmt.Fprintf(c.stdout, "%s\n  tailscale commit: %s\n  go version: %s\n", v, vi.commit, vi.goVersion)
	if *daemon {
		fmt.Fprintf(c.stdout, "Daemon: %s\n", c.st.longVersion())
	}
	return 0
}

func (c *fakeCLI) printJSON(v any, indent string) int {
	b, err := json.MarshalIndent(v, "", indent)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return 1
	}
	fmt.Fprintf(c.stdout, "%s\n", b)
	return 0
}
