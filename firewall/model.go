// Package firewall reads (and, for tsdoctor's own temporary and remedy rules,
// writes) the packet filter on the INPUT path of a Linux host, in all three
// places tailscaled may put its rules: iptables-nft, iptables-legacy and
// native nftables. Every backend yields the same Rule model, so the rest of
// tsdoctor never cares which backend a rule came from.
package firewall

import (
	"net/netip"
	"strings"
)

// Backend names one of the places netfilter rules live.
type Backend string

const (
	IptablesNFT    Backend = "iptables-nft"
	IptablesLegacy Backend = "iptables-legacy"
	NFTables       Backend = "nftables"
)

// Family is the address family of a table.
type Family string

const (
	IPv4 Family = "ipv4"
	IPv6 Family = "ipv6"
	Inet Family = "inet" // nftables tables that serve both
)

// Verdict is what a rule does with a packet it matches.
type Verdict string

const (
	Accept   Verdict = "ACCEPT"
	Drop     Verdict = "DROP"
	Reject   Verdict = "REJECT"
	Return   Verdict = "RETURN"
	Jump     Verdict = "JUMP" // to Rule.Target, then come back
	Goto     Verdict = "GOTO" // to Rule.Target, never come back
	Continue Verdict = ""     // no verdict: LOG, MARK, counters...
)

// ChainRef names a chain unambiguously across backends.
type ChainRef struct {
	Backend Backend `json:"backend"`
	Family  Family  `json:"family"`
	Table   string  `json:"table"`
	Chain   string  `json:"chain"`
}

func (c ChainRef) String() string {
	return string(c.Backend) + " " + string(c.Family) + " " + c.Table + " " + c.Chain
}

// Rule is one rule in the unified model. Matches tsdoctor understands are
// decoded into fields; any other match sets Unmodeled, so evaluation knows it
// cannot be sure whether the rule matches.
type Rule struct {
	ChainRef
	Position int    `json:"position"`         // 1-based, as `iptables -L --line-numbers`
	Handle   uint64 `json:"handle,omitempty"` // nftables rule handle

	Source         netip.Prefix `json:"source,omitzero"`
	SourceNegated  bool         `json:"source_negated,omitempty"`
	Dest           netip.Prefix `json:"dest,omitzero"`
	DestNegated    bool         `json:"dest_negated,omitempty"`
	InIface        string       `json:"in_iface,omitempty"` // "tailscale0", or "tailscale0+" for a prefix match
	InIfaceNegated bool         `json:"in_iface_negated,omitempty"`
	Protocol       string       `json:"protocol,omitempty"` // "tcp", "udp", "icmp", ...
	SrcPort        uint16       `json:"src_port,omitempty"`
	DstPort        uint16       `json:"dst_port,omitempty"`
	CtStates       []string     `json:"ct_states,omitempty"` // ESTABLISHED, RELATED, NEW, INVALID
	Comment        string       `json:"comment,omitempty"`

	Verdict   Verdict `json:"verdict"`
	Target    string  `json:"target,omitempty"` // chain for JUMP/GOTO, or the non-terminal target (LOG, MARK)
	LogPrefix string  `json:"log_prefix,omitempty"`

	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`

	// Unmodeled lists matches tsdoctor does not decode; a rule with any may or
	// may not match a given packet.
	Unmodeled []string `json:"unmodeled,omitempty"`

	// Text is the rule as the backend itself prints it (iptables -S / nft).
	Text string `json:"text"`
}

// IfaceMatches reports whether an interface pattern as stored in Rule.InIface
// ("eth0", or "eth+" for a prefix) matches name.
func IfaceMatches(pattern, name string) bool {
	if p, ok := strings.CutSuffix(pattern, "+"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}

// Chain is a chain and its rules, in order.
type Chain struct {
	ChainRef
	Hook   string `json:"hook,omitempty"`   // "input" for a base chain on the INPUT hook
	Policy string `json:"policy,omitempty"` // base chains only: ACCEPT or DROP
	Rules  []Rule `json:"rules"`
}

// BackendState is what one backend holds on the INPUT path.
type BackendState struct {
	Backend Backend `json:"backend"`
	// Present: the backend is usable and holds any table at all.
	Present bool `json:"present"`
	// Tailscale: it holds at least one ts-* chain.
	Tailscale bool    `json:"tailscale"`
	Chains    []Chain `json:"chains,omitempty"`
	// Err is why the backend could not be read; reading the others went on.
	Err string `json:"error,omitempty"`
}

// Snapshot is the INPUT path of every backend at one moment.
type Snapshot struct {
	Backends []BackendState `json:"backends"`
}

// Chain finds a chain by reference.
func (s *Snapshot) Chain(ref ChainRef) *Chain {
	for i := range s.Backends {
		for j := range s.Backends[i].Chains {
			if s.Backends[i].Chains[j].ChainRef == ref {
				return &s.Backends[i].Chains[j]
			}
		}
	}
	return nil
}

// Rules returns every rule of every backend, in backend then chain order.
func (s *Snapshot) Rules() []Rule {
	var out []Rule
	for _, b := range s.Backends {
		for _, c := range b.Chains {
			out = append(out, c.Rules...)
		}
	}
	return out
}

// TailscaleBackends lists the backends that hold ts-* chains.
func (s *Snapshot) TailscaleBackends() []Backend {
	var out []Backend
	for _, b := range s.Backends {
		if b.Tailscale {
			out = append(out, b.Backend)
		}
	}
	return out
}

// IsTailscaleChain reports whether a chain name is one tailscaled owns.
func IsTailscaleChain(name string) bool { return strings.HasPrefix(name, "ts-") }
