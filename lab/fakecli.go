package lab

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

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
	lock, err := lockState(stateFile)
	if err != nil {
		fmt.Fprintf(stderr, "tailscale (lab): %v\n", err)
		return 1
	}
	defer lock.Close()
	b, err := os.ReadFile(stateFile)
	if err != nil {
		fmt.Fprintf(stderr, "tailscale (lab): read state: %v\n", err)
		return 1
	}
	var st CLIState
	if err := json.Unmarshal(b, &st); err != nil {
		fmt.Fprintf(stderr, "tailscale (lab): parse state %s: %v\n", stateFile, err)
		return 1
	}
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

const (
	labTailnet  = "tail1a2b3c.ts.net"
	labNodeID   = "nLab7CNTRL"
	labStableID = "n7Lab3x4y5CNTRL"
)

type peerStatus struct {
	ID             string
	PublicKey      string
	HostName       string
	DNSName        string
	OS             string
	UserID         int64
	TailscaleIPs   []string
	AllowedIPs     []string
	PrimaryRoutes  []string `json:",omitempty"`
	Tags           []string `json:",omitempty"`
	Addrs          []string
	CurAddr        string
	Relay          string
	RxBytes        int64
	TxBytes        int64
	Created        time.Time
	LastWrite      time.Time
	LastSeen       time.Time
	LastHandshake  time.Time
	Online         bool
	ExitNode       bool
	ExitNodeOption bool
	Active         bool
	PeerAPIURL     []string
	TaildropTarget int
	Capabilities   []string
	CapMap         map[string][]json.RawMessage
	InNetworkMap   bool
	InMagicSock    bool
	InEngine       bool
}

func (c *fakeCLI) capMap() map[string][]json.RawMessage {
	m := map[string][]json.RawMessage{
		"https://tailscale.com/cap/file-sharing": nil,
		"https://tailscale.com/cap/ssh":          nil,
	}
	// 1.96.5 predates the attribute, so it never shows up there.
	if c.st.Scenario.Variant == VariantNodeAttr && c.st.Scenario.NodeAttrSupported() {
		m["disable-linux-cgnat-drop-rule"] = nil
	}
	return m
}

func (c *fakeCLI) backendState() string {
	if c.st.WantRunning {
		return "Running"
	}
	return "Stopped"
}

func (c *fakeCLI) status(args []string) int {
	fs := c.newFlags("status")
	asJSON := fs.Bool("json", false, "output in JSON format")
	fs.Bool("peers", true, "show peers")
	fs.Bool("self", true, "show status of local machine")
	fs.Bool("active", false, "filter output to only peers with active sessions")
	fs.Bool("browser", false, "open status in a browser")
	fs.String("listen", "127.0.0.1:8384", "listen address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	host := c.st.hostname()
	ips := []string{NodeIP, NodeIPv6}
	if *asJSON {
		caps := c.capMap()
		var capList []string
		for k := range caps {
			capList = append(capList, k)
		}
		sort.Strings(capList)
		created := time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)
		self := &peerStatus{
			ID:           labStableID,
			PublicKey:    "nodekey:6c61626e6f64656b65796c61626e6f64656b65796c61626e6f64656b657901",
			HostName:     host,
			DNSName:      host + "." + labTailnet + ".",
			OS:           "linux",
			UserID:       1234567890123456,
			TailscaleIPs: ips,
			AllowedIPs:   []string{NodeIP + "/32", NodeIPv6 + "/128"},
			Tags:         []string{"tag:aliyun"},
			Addrs:        []string{"47.96.12.34:41641", ECSAddr + ":41641"},
			Created:      created,
			Online:       c.st.WantRunning,
			PeerAPIURL:   []string{"http://" + NodeIP + ":42817", "http://[" + NodeIPv6 + "]:42817"},
			Capabilities: capList,
			CapMap:       caps,
			InNetworkMap: true,
		}
		type tailnet struct {
			Name            string
			MagicDNSSuffix  string
			MagicDNSEnabled bool
		}
		type user struct {
			ID            int64
			LoginName     string
			DisplayName   string
			ProfilePicURL string
		}
		out := struct {
			Version        string
			TUN            bool
			BackendState   string
			HaveNodeKey    bool
			AuthURL        string
			TailscaleIPs   []string
			Self           *peerStatus
			Health         []string
			MagicDNSSuffix string
			CurrentTailnet *tailnet
			CertDomains    []string
			ExitNodeStatus *exitNodeStatus `json:",omitempty"`
			Peer           map[string]*peerStatus
			User           map[string]user
			ClientVersion  *struct{}
		}{
			Version:        c.st.longVersion(),
			TUN:            true,
			BackendState:   c.backendState(),
			HaveNodeKey:    true,
			TailscaleIPs:   ips,
			Self:           self,
			Health:         []string{},
			MagicDNSSuffix: labTailnet,
			CurrentTailnet: &tailnet{"lab.example.org", labTailnet, true},
			CertDomains:    []string{host + "." + labTailnet},
			Peer:           c.peers(),
			User: map[string]user{"1234567890123456": {
				ID: 1234567890123456, LoginName: "tagged-devices", DisplayName: "Tagged Devices"}},
		}
		if c.st.ExitNode != "" {
			out.ExitNodeStatus = &exitNodeStatus{ID: RouterStableID, Online: true, TailscaleIPs: []string{RouterIP + "/32"}}
		}
		if !c.st.WantRunning {
			out.TailscaleIPs, out.Self.TailscaleIPs = nil, nil
		}
		return c.printJSON(out, "  ")
	}
	if !c.st.WantRunning {
		fmt.Fprintln(c.stdout, "Tailscale is stopped.")
		return 1
	}
	fmt.Fprintf(c.stdout, "%-15s %-20s %-14s %-7s %s\n", NodeIP, host, "tagged-devices", "linux", "-")
	return 0
}

func (c *fakeCLI) prefs(args []string) int {
	fs := c.newFlags("prefs")
	pretty := fs.Bool("pretty", false, "print in human-readable format")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	kind := ""
	if c.st.Scenario.Mode == ModeNFTables {
		kind = "nftables"
	}
	if *pretty {
		fmt.Fprintf(c.stdout, "Prefs{ra=%v dns=%v want=%v nf=%s host=%q}\n",
			c.st.RouteAll, c.st.CorpDNS, c.st.WantRunning, netfilterName(c.st.NetfilterMode), c.st.Hostname)
		return 0
	}
	type autoUpdate struct {
		Check bool
		Apply *bool
	}
	type appConnector struct{ Advertise bool }
	type persist struct {
		PrivateNodeKey        string
		OldPrivateNodeKey     string
		UserProfile           struct{ ID int64 }
		NetworkLockKey        string
		NodeID                string
		DisallowedTKAStateIDs []string
	}
	p := struct {
		ControlURL             string
		RouteAll               bool
		ExitNodeID             string
		ExitNodeIP             string
		InternalExitNodePrior  string
		ExitNodeAllowLANAccess bool
		CorpDNS                bool
		RunSSH                 bool
		RunWebClient           bool
		WantRunning            bool
		LoggedOut              bool
		ShieldsUp              bool
		AdvertiseTags          []string
		Hostname               string
		NotepadURLs            bool
		AdvertiseRoutes        []string
		AdvertiseServices      []string
		NoSNAT                 bool
		NoStatefulFiltering    bool
		NetfilterMode          int
		AutoUpdate             autoUpdate
		AppConnector           appConnector
		PostureChecking        bool
		NetfilterKind          string
		DriveShares            []string
		AllowSingleHosts       bool
		Config                 *persist
	}{
		ControlURL:          "https://controlplane.tailscale.com",
		RouteAll:            c.st.RouteAll,
		ExitNodeID:          exitNodeID(c.st.ExitNode),
		CorpDNS:             c.st.CorpDNS,
		WantRunning:         c.st.WantRunning,
		AdvertiseTags:       []string{"tag:aliyun"},
		Hostname:            c.st.Hostname,
		NoStatefulFiltering: true,
		NetfilterMode:       c.st.NetfilterMode,
		AutoUpdate:          autoUpdate{Check: true},
		NetfilterKind:       kind,
		AllowSingleHosts:    true,
		Config: &persist{
			PrivateNodeKey:    "privkey:0000000000000000000000000000000000000000000000000000000000000000",
			OldPrivateNodeKey: "privkey:0000000000000000000000000000000000000000000000000000000000000000",
			NetworkLockKey:    "nlpriv:0000000000000000000000000000000000000000000000000000000000000000",
			NodeID:            labStableID,
		},
	}
	p.Config.UserProfile.ID = 1234567890123456
	return c.printJSON(p, "\t")
}

func (c *fakeCLI) ip(args []string) int {
	fs := c.newFlags("ip")
	v4 := fs.Bool("4", false, "only print IPv4 address")
	v6 := fs.Bool("6", false, "only print IPv6 address")
	one := fs.Bool("1", false, "only print one IP address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !c.st.WantRunning {
		fmt.Fprintln(c.stderr, "no current Tailscale IPs; state: Stopped")
		return 1
	}
	switch {
	case *v4:
		fmt.Fprintln(c.stdout, NodeIP)
	case *v6:
		fmt.Fprintln(c.stdout, NodeIPv6)
	case *one:
		fmt.Fprintln(c.stdout, NodeIP)
	default:
		fmt.Fprintf(c.stdout, "%s\n%s\n", NodeIP, NodeIPv6)
	}
	return 0
}

func netfilterName(m int) string {
	switch m {
	case 0:
		return "off"
	case 1:
		return "nodivert"
	}
	return "on"
}

func parseNetfilterMode(s string) (int, error) {
	switch s {
	case "off":
		return 0, nil
	case "nodivert":
		return 1, nil
	case "on":
		return 2, nil
	}
	return 0, fmt.Errorf("invalid value %q for --netfilter-mode; must be one of \"on\", \"nodivert\", \"off\"", s)
}

func (c *fakeCLI) setOrUp(cmd string, args []string) int {
	fs := c.newFlags(cmd)
	nf := fs.String("netfilter-mode", netfilterName(c.st.NetfilterMode), "netfilter mode (one of on, nodivert, off)")
	acceptDNS := fs.Bool("accept-dns", c.st.CorpDNS, "accept DNS configuration from the admin panel")
	acceptRoutes := fs.Bool("accept-routes", c.st.RouteAll, "accept routes advertised by other Tailscale nodes")
	hostname := fs.String("hostname", c.st.Hostname, "hostname to use instead of the one provided by the OS")
	exitNode := fs.String("exit-node", c.st.ExitNode, "Tailscale exit node (IP) for internet traffic, or empty string to not use an exit node")
	for _, name := range []string{"advertise-routes", "operator", "advertise-tags", "login-server", "auth-key", "authkey", "netfilter-kind"} {
		fs.String(name, "", "accepted and ignored by the lab")
	}
	for _, name := range []string{"ssh", "shields-up", "exit-node-allow-lan-access", "advertise-exit-node", "reset", "force-reauth", "qr", "json"} {
		fs.Bool(name, false, "accepted and ignored by the lab")
	}
	fs.Duration("timeout", 0, "accepted and ignored by the lab")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "too many non-flag arguments: %q\n", fs.Args())
		return 2
	}
	mode, err := parseNetfilterMode(*nf)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return 2
	}
	next := c.st
	next.NetfilterMode = mode
	next.CorpDNS = *acceptDNS
	next.RouteAll = *acceptRoutes
	switch *exitNode {
	case "", RouterIP, RouterName:
		if *exitNode != "" && c.st.Scenario.Routes != RoutesExit {
			fmt.Fprintf(c.stderr, "node %q is not advertising an exit node\n", *exitNode)
			return 1
		}
		next.ExitNode = strings.Replace(*exitNode, RouterName, RouterIP, 1)
	default:
		fmt.Fprintf(c.stderr, "invalid value %q for --exit-node; must be IP or unique node name\n", *exitNode)
		return 1
	}
	next.Hostname = *hostname
	if cmd == "up" {
		next.WantRunning = true
	}
	return c.apply(next)
}

func (c *fakeCLI) down(args []string) int {
	fs := c.newFlags("down")
	fs.Bool("accept-risk", false, "accepted and ignored by the lab")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	next := c.st
	next.WantRunning = false
	return c.apply(next)
}

// apply moves to the next state. When the firewall shape changes, the ts-*
// chains are torn down and rebuilt from scratch, as tailscaled does: anything
// added to them by hand is gone afterwards. Only on → nodivert keeps them
// and takes out the jumps (tailscaled's setNetfilterMode: DelHooks).
func (c *fakeCLI) apply(next CLIState) int {
	if next.firewall() != c.st.firewall() && !c.st.SkipFirewall {
		if err := rebuildFirewall(c.st.firewall(), next); err != nil {
			fmt.Fprintf(c.stderr, "tailscale (lab): %v\n", err)
			return 1
		}
	}
	if !slices.Equal(next.table52(), c.st.table52()) && !c.st.SkipFirewall {
		if err := resyncRouting(next); err != nil {
			fmt.Fprintf(c.stderr, "tailscale (lab): %v\n", err)
			return 1
		}
	}
	if next != c.st {
		c.st = next
		c.changed = true
	}
	return 0
}

func rebuildFirewall(from int, st CLIState) error {
	inside, err := sameNetns(st.ECS)
	if err != nil || !inside {
		return fmt.Errorf("refusing to change the firewall outside the lab: run this inside namespace %s (`sudo tsdoctor lab shell`)%s",
			st.ECS, errSuffix(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shape := st.firewall()
	if from == 2 && shape == 1 {
		// on → nodivert: tailscaled only takes its jumps out; the chains,
		// and anything added to them, stay.
		return removeRules(ctx, "", st.Scenario, false)
	}
	if err := RemoveRules(ctx, "", st.Scenario); err != nil {
		return err
	}
	if shape == 0 {
		return nil
	}
	s := st.Scenario
	if s.Variant == VariantNetfilterOff {
		s.Variant = VariantDefault // netfilter back on: the usual rules
	}
	return installRules(ctx, "", s, shape == 2)
}

func errSuffix(err error) string {
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return ""
	}
	return ": " + err.Error()
}
