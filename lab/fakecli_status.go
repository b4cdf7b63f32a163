package lab

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// The fake tailscale CLI's read-only verbs: status --json, debug prefs and ip,
// in the shapes the real CLI prints them.

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
