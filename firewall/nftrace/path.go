package nftrace

import (
	"fmt"
	"strings"

	"github.com/tsdoctor/tsdoctor/firewall"
	"golang.org/x/sys/unix"
)

// Path is one reply packet's way through nf_tables, hop by hop.
type Path struct {
	Packet Packet `json:"packet"`
	Hops   []Hop  `json:"hops"`
}

// Hop is one step of a path: a rule that matched (and its verdict), a
// regular chain's end (return) or a base chain's policy.
type Hop struct {
	Family firewall.Family `json:"family"`
	Table  string          `json:"table"`
	Chain  string          `json:"chain"`
	// Position is the rule's 1-based place in its chain (0: a policy or
	// an implicit return), as `iptables -L --line-numbers` counts.
	Position int    `json:"position"`
	Handle   uint64 `json:"handle,omitempty"`
	// Rule is the rule as tsdoctor read it: `iptables -S` form for
	// iptables-nft, nft form for native nftables; a policy as `-P INPUT
	// ACCEPT` or `policy accept`.
	Rule    string           `json:"rule"`
	Comment string           `json:"comment,omitempty"`
	Backend firewall.Backend `json:"backend,omitempty"`
	// Verdict: accept, drop, jump, goto, return, continue, queue, stolen,
	// policy-accept or policy-drop.
	Verdict string `json:"verdict"`
	Target  string `json:"target,omitempty"` // the chain of a jump or goto
}

// Verdict is the path's outcome: "drop" when a hop dropped the packet,
// "accept" when its last hop let it through, else "unknown" (the events end
// without a verdict: something outside nf_tables, such as iptables-legacy,
// took the packet, or events were lost).
func (p Path) Verdict() string {
	if i := p.Final(); i >= 0 {
		switch p.Hops[i].Verdict {
		case "drop", "policy-drop":
			return "drop"
		case "accept", "policy-accept":
			return "accept"
		}
	}
	return "unknown"
}

// Final is the index of the hop whose verdict decided the packet's fate: the
// drop, or the last hop if it accepts; -1 if none did.
func (p Path) Final() int {
	for i, h := range p.Hops {
		if h.Verdict == "drop" || h.Verdict == "policy-drop" {
			return i
		}
	}
	if n := len(p.Hops); n > 0 && (p.Hops[n-1].Verdict == "accept" || p.Hops[n-1].Verdict == "policy-accept") {
		return n - 1
	}
	return -1
}

// Label is a hop in a few words: "INPUT #1 jump ts-input", "ts-input #5
// DROP", "INPUT policy ACCEPT", "ts-input return". The words are
// netfilter's own, the same in every language.
func (h Hop) Label() string {
	var b strings.Builder
	b.WriteString(h.Chain)
	if h.Position > 0 {
		fmt.Fprintf(&b, " #%d", h.Position)
	} else if h.Handle != 0 {
		fmt.Fprintf(&b, " handle %d", h.Handle)
	}
	switch h.Verdict {
	case "accept", "drop":
		b.WriteString(" " + strings.ToUpper(h.Verdict))
	case "policy-accept", "policy-drop":
		b.WriteString(" policy " + strings.ToUpper(strings.TrimPrefix(h.Verdict, "policy-")))
	default:
		b.WriteString(" " + h.Verdict)
	}
	if h.Target != "" {
		b.WriteString(" " + h.Target)
	}
	if h.Comment != "" && (h.Verdict == "accept" || h.Verdict == "drop") {
		b.WriteString(" " + h.Comment)
	}
	return b.String()
}

// String is the path on one line, e.g. `INPUT #1 jump ts-input → ts-input
// #5 DROP`. Rules that matched without a verdict (counters, LOG) are left
// out here; they are in Hops.
func (p Path) String() string {
	var parts []string
	for _, h := range p.Hops {
		if h.Verdict == "continue" {
			continue
		}
		parts = append(parts, h.Label())
	}
	return strings.Join(parts, " → ")
}

// Assemble groups events by trace id into one path per packet, in the order
// the packets were first seen, leaving out the events of tsdoctor's own
// trace table and of packets keep rejects (nil keeps all).
func Assemble(events []Event, keep func(Packet) bool) []Path {
	type cur struct {
		p  *Path
		fp string
	}
	var order []*Path
	byID := map[uint32]*cur{}
	for _, e := range events {
		c, ok := byID[e.ID]
		if !ok || (e.fingerprint != "" && c.fp != "" && e.fingerprint != c.fp) {
			// A new packet, or another packet under the same trace id.
			c = &cur{p: &Path{}}
			byID[e.ID] = c
			order = append(order, c.p)
		}
		p := c.p
		if !p.Packet.Valid() && e.Packet.Valid() {
			c.fp, p.Packet = e.fingerprint, e.Packet
		}
		if e.Family == unix.NFPROTO_IPV4 && strings.HasPrefix(e.Table, TablePrefix) {
			continue
		}
		h := Hop{Family: family(e.Family), Table: e.Table, Chain: e.Chain, Handle: e.Handle, Verdict: e.VerdictName()}
		if h.Verdict == "jump" || h.Verdict == "goto" {
			h.Target = e.Target
		}
		if e.Type == unix.NFT_TRACETYPE_RULE && e.Handle == 0 && h.Verdict == "continue" {
			// The packet fell off a chain's end (the kernel names no
			// rule): a regular chain returns to its caller; a base chain's
			// policy event follows and replaces this.
			h.Verdict = "return"
		}
		if n := len(p.Hops); n > 0 && e.Type == unix.NFT_TRACETYPE_POLICY {
			if last := p.Hops[n-1]; last.Verdict == "return" && last.Handle == 0 && last.Table == h.Table && last.Chain == h.Chain {
				p.Hops = p.Hops[:n-1]
			}
		}
		p.Hops = append(p.Hops, h)
	}
	var out []Path
	for _, p := range order {
		if len(p.Hops) == 0 || (keep != nil && !keep(p.Packet)) {
			continue
		}
		out = append(out, *p)
	}
	return out
}

func family(f byte) firewall.Family {
	switch f {
	case unix.NFPROTO_IPV4:
		return firewall.IPv4
	case unix.NFPROTO_IPV6:
		return firewall.IPv6
	case unix.NFPROTO_INET:
		return firewall.Inet
	}
	return firewall.Family(fmt.Sprint(f))
}

// nfproto is family's inverse, for listing a chain's handles.
func nfproto(f firewall.Family) byte {
	switch f {
	case firewall.IPv6:
		return unix.NFPROTO_IPV6
	case firewall.Inet:
		return unix.NFPROTO_INET
	}
	return unix.NFPROTO_IPV4
}

// HandleLister lists a chain's rule handles in order (ChainHandles, bound
// to a namespace; tests pass a map).
type HandleLister func(family firewall.Family, table, chain string) ([]uint64, error)

// Annotate fills in each hop's position, rule text, comment and backend
// from the snapshot tsdoctor read and the chains' handle order. A hop in a
// chain the snapshot does not hold (one off the INPUT path) keeps its
// position and shows its handle.
func Annotate(paths []Path, snap *firewall.Snapshot, list HandleLister) {
	type key struct {
		fam          firewall.Family
		table, chain string
	}
	handles := map[key][]uint64{}
	for pi := range paths {
		for hi := range paths[pi].Hops {
			h := &paths[pi].Hops[hi]
			k := key{h.Family, h.Table, h.Chain}
			var ch *firewall.Chain
			if snap != nil {
				ch = findChain(snap, h.Family, h.Table, h.Chain)
			}
			if ch != nil {
				h.Backend = ch.Backend
			}
			if h.Verdict == "policy-accept" || h.Verdict == "policy-drop" {
				pol := strings.ToUpper(strings.TrimPrefix(h.Verdict, "policy-"))
				if h.Backend == firewall.IptablesNFT {
					h.Rule = "-P " + h.Chain + " " + pol
				} else {
					h.Rule = "policy " + strings.ToLower(pol)
				}
				continue
			}
			if h.Handle == 0 {
				continue
			}
			hs, ok := handles[k]
			if !ok && list != nil {
				hs, _ = list(h.Family, h.Table, h.Chain)
				handles[k] = hs
			}
			for i, x := range hs {
				if x == h.Handle {
					h.Position = i + 1
				}
			}
			if ch == nil {
				continue
			}
			for _, r := range ch.Rules {
				if (r.Handle != 0 && r.Handle == h.Handle) || (r.Handle == 0 && h.Position != 0 && r.Position == h.Position) {
					h.Rule, h.Comment = r.Text, r.Comment
					if h.Position == 0 {
						h.Position = r.Position
					}
					break
				}
			}
		}
	}
}

// findChain finds a chain of an nf_tables backend by family, table and name.
func findChain(snap *firewall.Snapshot, fam firewall.Family, table, chain string) *firewall.Chain {
	for _, b := range []firewall.Backend{firewall.IptablesNFT, firewall.NFTables} {
		if c := snap.Chain(firewall.ChainRef{Backend: b, Family: fam, Table: table, Chain: chain}); c != nil {
			return c
		}
	}
	return nil
}
