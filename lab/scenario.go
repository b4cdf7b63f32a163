// Package lab reproduces an Alibaba Cloud ECS server running Tailscale inside
// its VPC, with network namespaces: one namespace is the server, the other is
// the VPC (gateway, internal DNS, metadata service, mirror, public resolvers,
// example.com). tailscaled's rules are installed exactly as real builds install
// them, so tsdoctor can be run against the real failure without a cloud
// account and without touching the host's own network.
package lab

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Firewall backends tailscaled can end up using.
const (
	ModeIptablesNFT    = "iptables-nft"
	ModeIptablesLegacy = "iptables-legacy"
	ModeNFTables       = "nftables"
)

// Variants of a running (or not running) Tailscale.
const (
	VariantDefault      = "default"       // rules as tailscaled builds them
	VariantNodeAttr     = "nodeattr"      // the tailnet grants disable-linux-cgnat-drop-rule
	VariantNetfilterOff = "netfilter-off" // tailscale set --netfilter-mode=off
	VariantStopped      = "stopped"       // tailscaled installed but not running
	// VariantCrashed: tailscaled was killed (SIGKILL, OOM, a crash) and could
	// not clean up: its rules stay, its socket file stays with nobody
	// listening, and the CLI cannot connect.
	VariantCrashed = "crashed"
)

// How the ECS server resolves names.
const (
	// ResolverDHCP (the zero value): resolv.conf lists the VPC's DNS, as
	// DHCP pushes it on Alibaba Cloud Linux, CentOS and Debian images.
	ResolverDHCP = ""
	// ResolverStub: Ubuntu's default. resolv.conf points at
	// systemd-resolved's stub 127.0.0.53, which forwards to the VPC's DNS
	// listed in /run/systemd/resolve/resolv.conf.
	ResolverStub = "resolved-stub"
)

// Tailscale versions the lab knows the rule layout of: 1.96.5 puts the CGNAT
// DROP before the tailscale0 accept, 1.102.3 after it.
var Versions = []string{"1.102.3", "1.96.5"}

var (
	modes    = []string{ModeIptablesNFT, ModeIptablesLegacy, ModeNFTables}
	variants = []string{VariantDefault, VariantNodeAttr, VariantNetfilterOff, VariantStopped, VariantCrashed}
)

// Addresses of the lab node and of the VPC's services.
const (
	NodeIP          = "100.101.102.103" // the lab node's Tailscale IPv4
	NodeIPv6        = "fd7a:115c:a1e0::6f01:6667"
	ECSAddr         = "172.16.1.10"
	GatewayAddr     = "172.16.1.1"
	InternalDNS1    = "100.100.2.136"
	InternalDNS2    = "100.100.2.138"
	MetadataAddr    = "100.100.100.200"
	MirrorAddr      = "100.100.2.148"
	PublicDNS1      = "223.5.5.5"
	PublicDNS2      = "223.6.6.6"
	ExampleAddr     = "93.184.215.14"
	MagicsockPortV4 = 43075 // iptables modes
	MagicsockPortNF = 35018 // nftables mode
)

// Scenario is one state of Tailscale on the ECS server.
type Scenario struct {
	Name      string `json:"name"`
	Version   string `json:"version"` // "1.102.3" or "1.96.5"; "" without Tailscale
	Mode      string `json:"mode"`    // ModeIptablesNFT, ModeIptablesLegacy or ModeNFTables
	Variant   string `json:"variant"` // VariantDefault, VariantNodeAttr, ...
	Tailscale bool   `json:"tailscale"`
	// Resolver is ResolverDHCP or ResolverStub.
	Resolver string `json:"resolver,omitempty"`
	// Routes: tailscaled's table 52 covers the VPC services (routes.go):
	// RoutesSubnet or RoutesExit; "" for none.
	Routes string `json:"routes,omitempty"`
}

type namedScenario struct {
	Scenario
	desc string
}

var named = []namedScenario{
	{Scenario{"new-order", "1.102.3", ModeIptablesNFT, VariantDefault, true, ResolverDHCP, ""},
		"tailscale 1.102.3, iptables-nft: CGNAT DROP after the tailscale0 accept; VPC DNS and metadata blocked (default)"},
	{Scenario{"old-order", "1.96.5", ModeIptablesNFT, VariantDefault, true, ResolverDHCP, ""},
		"tailscale 1.96.5, iptables-nft: CGNAT DROP before the tailscale0 accept; VPC DNS and metadata blocked"},
	{Scenario{"legacy", "1.102.3", ModeIptablesLegacy, VariantDefault, true, ResolverDHCP, ""},
		"tailscale 1.102.3 using iptables-legacy: rules invisible to iptables-nft and nft; blocked"},
	{Scenario{"nftables", "1.102.3", ModeNFTables, VariantDefault, true, ResolverDHCP, ""},
		"tailscale 1.102.3 in native nftables mode: iptables -S cannot parse the rules; blocked"},
	{Scenario{"nodeattr", "1.102.3", ModeIptablesNFT, VariantNodeAttr, true, ResolverDHCP, ""},
		"tailscale 1.102.3 with node attribute disable-linux-cgnat-drop-rule: DROP became RETURN; DNS works"},
	{Scenario{"netfilter-off", "1.102.3", ModeIptablesNFT, VariantNetfilterOff, true, ResolverDHCP, ""},
		"tailscale 1.102.3 running with --netfilter-mode=off: no ts-* rules; DNS works"},
	{Scenario{"stopped", "1.102.3", ModeIptablesNFT, VariantStopped, true, ResolverDHCP, ""},
		"tailscale 1.102.3 installed, tailscaled not running: no rules, the CLI cannot connect; DNS works"},
	{Scenario{"crashed", "1.102.3", ModeIptablesNFT, VariantCrashed, true, ResolverDHCP, ""},
		"tailscale 1.102.3 killed with SIGKILL: its rules (DROP included) are orphaned, its socket is stale; blocked"},
	{Scenario{"route-subnet", "1.102.3", ModeIptablesNFT, VariantNodeAttr, true, ResolverDHCP, RoutesSubnet},
		"tailscale 1.102.3 (node attribute granted) accepting peer vpc-router's subnet route 100.100.2.0/24: table 52 sends the VPC DNS into tailscale0"},
	{Scenario{"route-exit", "1.102.3", ModeIptablesNFT, VariantNodeAttr, true, ResolverDHCP, RoutesExit},
		"tailscale 1.102.3 (node attribute granted) using peer vpc-router as exit node: table 52 sends everything not on-link, the VPC DNS too, into tailscale0"},
	{Scenario{"no-tailscale", "", "", "", false, ResolverDHCP, ""},
		"no Tailscale at all: no binary, no tailscale0, no rules; DNS works"},
	{Scenario{"ubuntu-stub", "1.102.3", ModeIptablesNFT, VariantDefault, true, ResolverStub, ""},
		"as new-order, resolving as Ubuntu does: resolv.conf → systemd-resolved's stub 127.0.0.53 → the VPC DNS; blocked"},
}

// Scenarios lists the named scenarios; the first is the default.
func Scenarios() []Scenario {
	out := make([]Scenario, len(named))
	for i, n := range named {
		out[i] = n.Scenario
	}
	return out
}

// DefaultScenario is new-order: the current release blocking the VPC DNS.
func DefaultScenario() Scenario { return named[0].Scenario }

// ParseScenario accepts a named scenario or a composed name
// <version>-<mode>[-<variant>], e.g. 1.96.5-nftables-nodeattr. "" is the
// default scenario.
func ParseScenario(name string) (Scenario, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return DefaultScenario(), nil
	}
	for _, n := range named {
		if n.Name == name {
			return n.Scenario, nil
		}
	}
	if s, ok := parseComposed(name); ok {
		return s, nil
	}
	return Scenario{}, fmt.Errorf("unknown lab scenario %q: valid names are %s, or <version>-<mode>-<variant> with version %s, mode %s, variant %s (e.g. 1.96.5-nftables-nodeattr)",
		name, strings.Join(namedNames(), ", "), strings.Join(Versions, "|"), strings.Join(modes, "|"), strings.Join(variants, "|"))
}

func namedNames() []string {
	var out []string
	for _, n := range named {
		out = append(out, n.Name)
	}
	return out
}

func parseComposed(name string) (Scenario, bool) {
	version, rest, ok := strings.Cut(name, "-")
	if !ok || !contains(Versions, version) {
		return Scenario{}, false
	}
	// Modes and variants contain dashes themselves, so match by prefix.
	for _, m := range modes {
		variant := VariantDefault
		if rest != m {
			v, ok := strings.CutPrefix(rest, m+"-")
			if !ok {
				continue
			}
			variant = v
		}
		if !contains(variants, variant) {
			return Scenario{}, false
		}
		return Scenario{Name: name, Version: version, Mode: m, Variant: variant, Tailscale: true, Resolver: ResolverDHCP}, true
	}
	return Scenario{}, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Validate reports whether the scenario is one the lab can build.
func (s Scenario) Validate() error {
	if s.Resolver != ResolverDHCP && s.Resolver != ResolverStub {
		return fmt.Errorf("invalid lab scenario %+v: resolver must be empty (DHCP) or %s", s, ResolverStub)
	}
	if !s.Tailscale {
		return nil
	}
	if s.Routes != "" && s.Routes != RoutesSubnet && s.Routes != RoutesExit {
		return fmt.Errorf("invalid lab scenario %+v: routes must be %q, %q or empty", s, RoutesSubnet, RoutesExit)
	}
	if !contains(Versions, s.Version) || !contains(modes, s.Mode) || !contains(variants, s.Variant) {
		return fmt.Errorf("invalid lab scenario %+v: version must be one of %s, mode one of %s, variant one of %s",
			s, strings.Join(Versions, "|"), strings.Join(modes, "|"), strings.Join(variants, "|"))
	}
	return nil
}

// Description is a one-line summary for `tsdoctor lab scenarios`.
func (s Scenario) Description() string {
	for _, n := range named {
		if n.Scenario == s {
			return n.desc
		}
	}
	if !s.Tailscale {
		return "no Tailscale at all"
	}
	d := fmt.Sprintf("tailscale %s, %s, %s", s.Version, s.Mode, s.Variant)
	if s.Blocks() {
		return d + ": VPC DNS and metadata blocked"
	}
	return d + ": DNS works"
}

// NodeAttrSupported reports whether this version honours the node attribute
// disable-linux-cgnat-drop-rule (added in 1.98.0).
func (s Scenario) NodeAttrSupported() bool {
	return s.Tailscale && versionAtLeast(s.Version, 1, 98)
}

// oldOrder: before 1.98 the ChromeOS RETURN and CGNAT DROP came first.
func (s Scenario) oldOrder() bool { return !versionAtLeast(s.Version, 1, 98) }

// nodeAttrActive: the attribute is granted and the client understands it.
func (s Scenario) nodeAttrActive() bool {
	return s.Variant == VariantNodeAttr && s.NodeAttrSupported()
}

// HasRules reports whether tailscaled has ts-* chains installed at start.
func (s Scenario) HasRules() bool {
	return s.Tailscale && s.Variant != VariantNetfilterOff && s.Variant != VariantStopped
}

// Blocks reports whether replies from 100.100.2.136 are dropped on the server.
func (s Scenario) Blocks() bool { return s.HasRules() && !s.nodeAttrActive() }

// Running reports whether tailscaled is running.
func (s Scenario) Running() bool {
	return s.Tailscale && s.Variant != VariantStopped && s.Variant != VariantCrashed
}

// SocketPath is tailscaled's socket under root, where tsdoctor looks for it.
func SocketPath(root string) string {
	return filepath.Join(root, "var/run/tailscale/tailscaled.sock")
}

func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// InputRules returns the ts-input rules of the scenario as the tools print
// them: `iptables -S ts-input` lines for the iptables modes (without the -N
// line), rule lines of `nft list chain ip filter ts-input` (without counter
// values) for nftables. nil when the scenario has no rules.
func (s Scenario) InputRules() []string {
	port := MagicsockPortV4
	if s.Mode == ModeNFTables {
		port = MagicsockPortNF
	}
	return s.InputRulesWith(NodeIP, port)
}

// InputRulesWith is InputRules for another node address and magicsock port,
// e.g. those of a real tailscaled in a fidelity test.
func (s Scenario) InputRulesWith(nodeIP string, magicsockPort int) []string {
	if !s.HasRules() {
		return nil
	}
	if s.Mode == ModeNFTables {
		return s.nftInputRules(nodeIP, magicsockPort)
	}
	return s.iptInputRules(nodeIP, magicsockPort)
}

func (s Scenario) iptInputRules(nodeIP string, port int) []string {
	lo := "-A ts-input -s " + nodeIP + "/32 -i lo -j ACCEPT"
	tun := "-A ts-input -i tailscale0 -j ACCEPT"
	magic := "-A ts-input -p udp -m udp --dport " + strconv.Itoa(port) + " -j ACCEPT"
	chromeos := "-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN"
	cgnat := "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP"
	return s.order(lo, tun, magic, chromeos, cgnat, "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j RETURN")
}

func (s Scenario) nftInputRules(nodeIP string, port int) []string {
	lo := `iifname "lo*" ip saddr ` + nodeIP + ` counter accept`
	tun := `iifname "tailscale0*" counter accept`
	magic := `udp dport ` + strconv.Itoa(port) + ` counter accept`
	chromeos := `iifname != "tailscale0*" ip saddr 100.115.92.0/23 counter return`
	cgnat := `iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter drop`
	return s.order(lo, tun, magic, chromeos, cgnat, `iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter return`)
}

// order arranges the ts-input rules as the scenario's version does. With the
// node attribute the ChromeOS RETURN is gone and the DROP becomes a RETURN.
func (s Scenario) order(lo, tun, magic, chromeos, cgnat, cgnatReturn string) []string {
	if s.nodeAttrActive() {
		return []string{lo, tun, magic, cgnatReturn}
	}
	if s.oldOrder() {
		return []string{lo, chromeos, cgnat, tun, magic}
	}
	return []string{lo, tun, magic, chromeos, cgnat}
}

// iptablesRestore is the iptables-restore --noflush input for the scenario.
// Without hooks (netfilter-mode=nodivert) the chains exist but nothing jumps
// to them.
func (s Scenario) iptablesRestore(hooks bool) string {
	var b strings.Builder
	b.WriteString("*filter\n:ts-input - [0:0]\n:ts-forward - [0:0]\n")
	if hooks {
		// tailscaled inserts its jumps at the top of the base chains.
		b.WriteString("-I INPUT 1 -j ts-input\n-I FORWARD 1 -j ts-forward\n")
	}
	for _, r := range s.iptInputRules(NodeIP, MagicsockPortV4) {
		b.WriteString(r + "\n")
	}
	b.WriteString(`-A ts-forward -i tailscale0 -j MARK --set-xmark 0x40000/0xff0000
-A ts-forward -m mark --mark 0x40000/0xff0000 -j ACCEPT
-A ts-forward -s 100.64.0.0/10 -o tailscale0 -j DROP
-A ts-forward -o tailscale0 -j ACCEPT
COMMIT
*nat
:ts-postrouting - [0:0]
`)
	if hooks {
		b.WriteString("-I POSTROUTING 1 -j ts-postrouting\n")
	}
	b.WriteString("-A ts-postrouting -m mark --mark 0x40000/0xff0000 -j MASQUERADE\nCOMMIT\n")
	return b.String()
}

// nftScript is the `nft -f -` input for native nftables mode, in the shape
// tailscaled's nftables runner produces (prefix interface matches, a counter
// on every rule, a native mark rule that iptables-nft cannot parse).
func (s Scenario) nftScript(hooks bool) string {
	var b strings.Builder
	b.WriteString(`add table ip filter
add chain ip filter INPUT { type filter hook input priority filter; policy accept; }
add chain ip filter FORWARD { type filter hook forward priority filter; policy accept; }
add chain ip filter ts-input
add chain ip filter ts-forward
`)
	if hooks {
		b.WriteString("insert rule ip filter INPUT counter jump ts-input\n")
		b.WriteString("insert rule ip filter FORWARD counter jump ts-forward\n")
	}
	for _, r := range s.nftInputRules(NodeIP, MagicsockPortNF) {
		b.WriteString("add rule ip filter ts-input " + r + "\n")
	}
	b.WriteString(`add rule ip filter ts-forward iifname "tailscale0*" counter meta mark set meta mark and 0xff00ffff xor 0x00040000
add rule ip filter ts-forward meta mark and 0x00ff0000 == 0x00040000 counter accept
add rule ip filter ts-forward oifname "tailscale0*" ip saddr 100.64.0.0/10 counter drop
add rule ip filter ts-forward oifname "tailscale0*" counter accept
add table ip nat
add chain ip nat POSTROUTING { type nat hook postrouting priority srcnat; policy accept; }
add chain ip nat ts-postrouting
`)
	if hooks {
		b.WriteString("insert rule ip nat POSTROUTING counter jump ts-postrouting\n")
	}
	b.WriteString("add rule ip nat ts-postrouting meta mark and 0x00ff0000 == 0x00040000 counter masquerade\n")
	return b.String()
}
