package firewall

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
)

// renderRule renders one entry as `iptables -v -S` would print it, in the
// same order (iptables' print_rule4: addresses, interfaces, protocol,
// fragment, matches, counters, target).
func renderRule(chain string, e rawEntry, tname string, tdata []byte, startName map[int]string) rawRule {
	b := e.b
	var s strings.Builder
	unsup := func(what string) rawRule { return rawRule{Unsupported: what} }
	s.WriteString("-A " + quoteArg(chain))
	inv := b[83]
	flags := b[82]
	for _, a := range []struct {
		letter  string
		addr    []byte
		mask    []byte
		negated bool
	}{{"-s", b[0:4], b[8:12], inv&iptInvSrcIP != 0}, {"-d", b[4:8], b[12:16], inv&iptInvDstIP != 0}} {
		addr := netip.AddrFrom4([4]byte(a.addr))
		mask := binary.BigEndian.Uint32(a.mask)
		if mask == 0 && !a.negated && addr.IsUnspecified() {
			continue
		}
		bits := 0
		for m := mask; m&0x80000000 != 0; m <<= 1 {
			bits++
		}
		if bits < 32 && mask<<bits != 0 {
			return unsup("non-contiguous mask")
		}
		if a.negated {
			s.WriteString(" !")
		}
		s.WriteString(" " + a.letter + " " + netip.PrefixFrom(addr, bits).String())
	}
	for _, f := range []struct {
		letter  string
		name    []byte
		negated bool
	}{{"-i", b[16:32], inv&iptInvViaIn != 0}, {"-o", b[32:48], inv&iptInvViaOut != 0}} {
		if n := cstr(f.name); n != "" {
			if f.negated {
				s.WriteString(" !")
			}
			s.WriteString(" " + f.letter + " " + n)
		}
	}
	proto := binary.NativeEndian.Uint16(b[80:])
	if proto != 0 {
		name := map[uint16]string{1: "icmp", 6: "tcp", 17: "udp"}[proto]
		if name == "" {
			return unsup("protocol " + strconv.Itoa(int(proto)))
		}
		if inv&iptInvProto != 0 {
			s.WriteString(" !")
		}
		s.WriteString(" -p " + name)
	}
	if flags&iptFFrag != 0 {
		if inv&iptInvFrag != 0 {
			s.WriteString(" !")
		}
		s.WriteString(" -f")
	}
	for off := iptEntryLen; off < e.targetOff; {
		m := b[off:]
		size := int(binary.NativeEndian.Uint16(m))
		if size < xtHeaderLen || off+size > e.targetOff {
			return unsup("malformed match")
		}
		name, rev, data := cstr(m[2:31]), m[31], m[xtHeaderLen:size]
		text, ok := renderMatch(name, rev, data)
		if !ok {
			return unsup("match " + name)
		}
		s.WriteString(text)
		off += size
	}
	pk, by := e.counters()
	s.WriteString(" -c " + strconv.FormatUint(pk, 10) + " " + strconv.FormatUint(by, 10))
	r := rawRule{}
	switch tname {
	case "":
		v := e.verdict()
		switch {
		case v >= 0 && int(v) == e.off+e.next:
			// Falls through: a rule without a target (counts only).
		case v >= 0:
			target, ok := startName[int(v)]
			if !ok {
				return unsup("jump to an unknown offset")
			}
			jg := " -j "
			if flags&iptFGoto != 0 {
				jg = " -g "
			}
			s.WriteString(jg + quoteArg(target))
			r.Target = target
		default:
			n := verdictName(v)
			if n == "" || n == "QUEUE" {
				return unsup("verdict " + strconv.Itoa(int(v)))
			}
			s.WriteString(" -j " + n)
		}
	case "REJECT":
		names := map[uint32]string{0: "icmp-net-unreachable", 1: "icmp-host-unreachable", 2: "icmp-proto-unreachable",
			3: "icmp-port-unreachable", 5: "icmp-net-prohibited", 6: "icmp-host-prohibited", 7: "tcp-reset", 8: "icmp-admin-prohibited"}
		if len(tdata) < 4 || names[binary.NativeEndian.Uint32(tdata)] == "" {
			return unsup("REJECT type")
		}
		s.WriteString(" -j REJECT --reject-with " + names[binary.NativeEndian.Uint32(tdata)])
	default:
		return unsup("target " + tname)
	}
	r.Line = s.String()
	return r
}

// renderMatch renders the matches tailscaled, kube-proxy, tsdoctor's
// whitelist and CentOS 7's iptables-services use, ` -m NAME` and options,
// as their iptables extensions save them.
func renderMatch(name string, rev byte, d []byte) (string, bool) {
	text, ok := renderMatchOptions(name, rev, d)
	if !ok {
		return "", false
	}
	if name == "conntrack" && (strings.HasPrefix(text, " --state ") || strings.HasPrefix(text, " ! --state ")) {
		// `-m state`, which iptables 1.8 writes as conntrack and prints
		// under the name it was given (the alias flag says so).
		name = "state"
	}
	return " -m " + name + text, true
}

// ctStateNames are conntrack's state bits in the order iptables prints
// them; `state` revision 0 has the same bits but UNTRACKED at 64.
var ctStateNames = []struct {
	bit  uint16
	name string
}{{1, "INVALID"}, {8, "NEW"}, {4, "RELATED"}, {2, "ESTABLISHED"}, {256, "UNTRACKED"}, {64, "SNAT"}, {128, "DNAT"}}

// stateList names the bits of states, or ok false for an unknown bit.
func stateList(states uint16, untracked uint16) (string, bool) {
	var names []string
	for _, st := range ctStateNames {
		bit := st.bit
		switch st.name {
		case "UNTRACKED":
			bit = untracked
		case "SNAT", "DNAT":
			if untracked != 256 {
				continue // not in the state match
			}
		}
		if states&bit != 0 {
			names = append(names, st.name)
			states &^= bit
		}
	}
	if states != 0 || len(names) == 0 {
		return "", false
	}
	return strings.Join(names, ","), true
}

func renderMatchOptions(name string, rev byte, d []byte) (string, bool) {
	le := binary.NativeEndian
	ports := func(opt string, lo, hi uint16, negated bool) string {
		if lo == 0 && hi == 0xffff {
			return ""
		}
		out := ""
		if negated {
			out = " !"
		}
		if lo == hi {
			return out + " " + opt + " " + strconv.Itoa(int(lo))
		}
		return out + " " + opt + " " + strconv.Itoa(int(lo)) + ":" + strconv.Itoa(int(hi))
	}
	switch {
	case (name == "udp" || name == "tcp") && rev == 0 && len(d) >= 10:
		invOff := 8
		if name == "tcp" {
			// option, flg_mask, flg_cmp, invflags
			if d[8] != 0 || d[9] != 0 {
				return "", false
			}
			invOff = 11
			if len(d) < 12 {
				return "", false
			}
		}
		inv := d[invOff]
		if inv&^0x03 != 0 {
			return "", false
		}
		return ports("--sport", le.Uint16(d[0:]), le.Uint16(d[2:]), inv&1 != 0) +
			ports("--dport", le.Uint16(d[4:]), le.Uint16(d[6:]), inv&2 != 0), true
	case name == "comment" && rev == 0 && len(d) >= 256:
		return " --comment " + quoteArg(cstr(d[:256])), true
	case name == "conntrack" && rev == 3 && len(d) >= 162:
		const stateFlag, stateAlias = 1 << 0, 1 << 13
		match, invert, states := le.Uint16(d[146:]), le.Uint16(d[148:]), le.Uint16(d[150:])
		if match&^(stateFlag|stateAlias) != 0 || invert&^stateFlag != 0 || match&stateFlag == 0 {
			return "", false
		}
		list, ok := stateList(states, 256)
		if !ok {
			return "", false
		}
		out := ""
		if invert&stateFlag != 0 {
			out = " !"
		}
		opt := " --ctstate "
		if match&stateAlias != 0 {
			opt = " --state "
		}
		return out + opt + list, true
	case name == "state" && rev == 0 && len(d) >= 4:
		// A real state match, as iptables before the conntrack alias
		// (CentOS 7's 1.4.21) writes `-m state --state`.
		mask := le.Uint32(d)
		if mask > 0xffff {
			return "", false
		}
		list, ok := stateList(uint16(mask), 64)
		return " --state " + list, ok
	}
	return "", false
}
