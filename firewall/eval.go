package firewall

import (
	"net/netip"
	"slices"
	"strings"
)

// Packet is what evaluation needs to know about an incoming packet.
type Packet struct {
	Src, Dst netip.Addr
	InIface  string
	Protocol string // "udp", "tcp"
	SrcPort  uint16
	DstPort  uint16
	CtState  string // "ESTABLISHED" for replies, "NEW" for requests
}

// Decision is the predicted fate of a packet on the INPUT path.
type Decision struct {
	Dropped bool
	// Rule is the rule that dropped the packet (nil when it was accepted, or
	// when a chain policy dropped it: then Policy names the chain).
	Rule   *Rule
	Policy *ChainRef
	// Uncertain lists rules passed over whose matches tsdoctor does not model:
	// any of them might have decided otherwise.
	Uncertain []Rule
}

// Evaluate walks the packet through every base chain on the INPUT hook, in
// both the legacy and the nf_tables world. A drop in any of them is final.
func (s *Snapshot) Evaluate(p Packet) Decision {
	var d Decision
	for _, world := range [][]Backend{{IptablesLegacy}, {IptablesNFT, NFTables}} {
		chains := map[[3]string]*Chain{}
		var bases []*Chain
		for i := range s.Backends {
			b := &s.Backends[i]
			if !slices.Contains(world, b.Backend) {
				continue
			}
			for j := range b.Chains {
				c := &b.Chains[j]
				if c.Family != IPv4 && c.Family != Inet {
					continue
				}
				chains[[3]string{string(c.Family), c.Table, c.Chain}] = c
				if c.Hook == "input" {
					bases = append(bases, c)
				}
			}
		}
		for _, base := range bases {
			r, dropped := walk(base, p, chains, &d.Uncertain)
			if dropped {
				d.Dropped = true
				if r != nil {
					d.Rule = r
				} else {
					ref := base.ChainRef
					d.Policy = &ref
				}
				return d
			}
		}
	}
	return d
}

// walk evaluates one base chain. It returns (rule, true) when the packet is
// dropped (rule nil: by the policy).
func walk(base *Chain, p Packet, chains map[[3]string]*Chain, uncertain *[]Rule) (*Rule, bool) {
	type frame struct {
		c *Chain
		i int
	}
	stack := []frame{{base, 0}}
	for steps := 0; len(stack) > 0 && steps < 100000; steps++ {
		top := &stack[len(stack)-1]
		if top.i >= len(top.c.Rules) {
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil, base.Policy == "DROP"
			}
			continue
		}
		r := &top.c.Rules[top.i]
		top.i++
		if !Matches(r, p) {
			continue
		}
		if len(r.Unmodeled) > 0 {
			// It may or may not match; assume it does not, and say so.
			*uncertain = append(*uncertain, *r)
			continue
		}
		switch r.Verdict {
		case Accept:
			return nil, false
		case Drop, Reject:
			return r, true
		case Return:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil, base.Policy == "DROP"
			}
		case Jump, Goto:
			next, ok := chains[[3]string{string(top.c.Family), top.c.Table, r.Target}]
			if !ok {
				*uncertain = append(*uncertain, *r)
				continue
			}
			if r.Verdict == Goto {
				stack = stack[:len(stack)-1]
			}
			stack = append(stack, frame{next, 0})
		}
	}
	return nil, false
}

// Matches reports whether the modelled matches of r all hold for p.
func Matches(r *Rule, p Packet) bool {
	if r.Source.IsValid() && r.Source.Contains(p.Src) == r.SourceNegated {
		return false
	}
	if r.Dest.IsValid() && (!p.Dst.IsValid() || r.Dest.Contains(p.Dst) == r.DestNegated) {
		return false
	}
	if r.InIface != "" && IfaceMatches(r.InIface, p.InIface) == r.InIfaceNegated {
		return false
	}
	if r.Protocol != "" && r.Protocol != "all" && r.Protocol != p.Protocol {
		return false
	}
	if r.SrcPort != 0 && r.SrcPort != p.SrcPort {
		return false
	}
	if r.DstPort != 0 && r.DstPort != p.DstPort {
		return false
	}
	if len(r.CtStates) > 0 && !slices.Contains(r.CtStates, p.CtState) {
		return false
	}
	return true
}

// DeniesByDefault reports whether this base chain turns away what none of
// its rules accepted: policy DROP, or policy ACCEPT with a last rule that
// matches everything and drops or rejects. CentOS 7's iptables-services and
// firewalld's iptables backend end INPUT with
// `-j REJECT --reject-with icmp-host-prohibited` under policy ACCEPT.
func (c *Chain) DeniesByDefault() bool {
	if strings.EqualFold(c.Policy, "DROP") {
		return true
	}
	if len(c.Rules) == 0 {
		return false
	}
	last := &c.Rules[len(c.Rules)-1]
	return (last.Verdict == Drop || last.Verdict == Reject) && matchesEverything(last)
}

// matchesEverything: no match at all, modelled or not.
func matchesEverything(r *Rule) bool {
	return !r.Source.IsValid() && !r.Dest.IsValid() && r.InIface == "" &&
		(r.Protocol == "" || r.Protocol == "all") && r.SrcPort == 0 && r.DstPort == 0 &&
		len(r.CtStates) == 0 && len(r.Unmodeled) == 0
}

// InputDeniesByDefault reports whether any base chain on the INPUT hook, in
// any backend, denies by default (see Chain.DeniesByDefault): then traffic
// that only tailscaled's own rules let in is turned away without them.
func (s *Snapshot) InputDeniesByDefault() bool {
	for i := range s.Backends {
		for j := range s.Backends[i].Chains {
			if c := &s.Backends[i].Chains[j]; c.Hook == "input" && c.DeniesByDefault() {
				return true
			}
		}
	}
	return false
}
