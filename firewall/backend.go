package firewall

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
)

// Reader reads one backend. Implementations never change the machine: in
// particular the legacy reader does not run iptables-legacy unless legacy
// tables already exist, because listing would create them.
type Reader interface {
	Backend() Backend
	// InputPath reads the IPv4 base chains on the INPUT hook and every chain
	// reachable from them by jumps, and nothing else: a host with 100,000
	// unrelated rules costs what an empty one does (legacy excepted: its kernel
	// interface hands out whole tables).
	InputPath(ctx context.Context) BackendState
	// Chain re-reads one chain, for fresh counters.
	Chain(ctx context.Context, ref ChainRef) (Chain, error)
}

// Writer changes one backend. tsdoctor writes only its own rules (trace LOG
// rules, remedy whitelists) and deletes only rules it can name exactly.
type Writer interface {
	Backend() Backend
	// Insert puts spec at 1-based position pos of the chain (0 appends).
	Insert(ctx context.Context, ref ChainRef, pos int, spec Spec) error
	// Delete removes the first rule of the chain equal to spec; it is not an
	// error when there is none.
	Delete(ctx context.Context, ref ChainRef, spec Spec) error
}

// Spec describes a rule to write, independent of backend. One Spec serves
// both for adding and for deleting, so the two can never drift apart.
type Spec struct {
	Source         netip.Prefix
	InIface        string
	InIfaceNegated bool
	Protocol       string // "udp", "tcp" or ""
	SrcPort        uint16
	CtStates       []string // e.g. ESTABLISHED, RELATED
	Comment        string
	// LimitPerSecond, when >0, rate-limits matches (used for LOG rules).
	LimitPerSecond int
	LogPrefix      string  // with Verdict Continue: a LOG rule
	Verdict        Verdict // Accept, Drop, Return or Continue (LOG)
}

// SpecOf turns an existing rule back into the Spec that writes it, so it
// can be deleted and put back exactly. ok is false for a rule with matches
// the model does not hold.
func SpecOf(r Rule) (Spec, bool) {
	if len(r.Unmodeled) > 0 || r.SourceNegated || r.Dest.IsValid() || r.DstPort != 0 ||
		(r.Verdict != Accept && r.Verdict != Drop && r.Verdict != Return && r.Verdict != Reject) {
		return Spec{}, false
	}
	return Spec{Source: r.Source, InIface: r.InIface, InIfaceNegated: r.InIfaceNegated, Protocol: r.Protocol,
		SrcPort: r.SrcPort, CtStates: r.CtStates, Comment: r.Comment, Verdict: r.Verdict}, true
}

// IptablesArgs renders the spec as iptables rule arguments (without -A/-I and
// chain), in the order iptables -S prints them.
func (s Spec) IptablesArgs() []string {
	var a []string
	if s.Source.IsValid() {
		a = append(a, "-s", s.Source.String())
	}
	if s.InIface != "" {
		if s.InIfaceNegated {
			a = append(a, "!")
		}
		a = append(a, "-i", s.InIface)
	}
	if s.Protocol != "" {
		a = append(a, "-p", s.Protocol)
		if s.SrcPort != 0 {
			a = append(a, "-m", s.Protocol, "--sport", strconv.Itoa(int(s.SrcPort)))
		}
	}
	if len(s.CtStates) > 0 {
		a = append(a, "-m", "conntrack", "--ctstate", strings.Join(s.CtStates, ","))
	}
	if s.LimitPerSecond > 0 {
		a = append(a, "-m", "limit", "--limit", strconv.Itoa(s.LimitPerSecond)+"/sec")
	}
	if s.Comment != "" {
		a = append(a, "-m", "comment", "--comment", s.Comment)
	}
	switch {
	case s.Verdict == Continue && s.LogPrefix != "":
		a = append(a, "-j", "LOG", "--log-prefix", s.LogPrefix)
	case s.Verdict != Continue:
		a = append(a, "-j", string(s.Verdict))
	}
	return a
}
