package firewall

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// lhs renders what a register holds the way nft names it.
func (d *nftDecoder) lhs(r nftReg) string {
	var s string
	switch r.kind {
	case nftRegMeta:
		switch r.meta {
		case expr.MetaKeyIIFNAME, expr.MetaKeyOIFNAME, expr.MetaKeyIIF, expr.MetaKeyOIF:
			s = nftMetaName(r.meta)
		default:
			s = "meta " + nftMetaName(r.meta)
		}
	case nftRegPayload:
		s = d.payloadName(r)
	case nftRegCt:
		s = "ct " + nftCtKeyName(r.ct)
	case nftRegImm:
		s = "0x" + hex.EncodeToString(r.data)
	case nftRegOther:
		s = r.name
	default:
		s = "[unknown register]"
	}
	if r.mask != nil {
		m := r
		m.mask = nil
		s += " & " + d.value(m, r.mask)
	}
	return s
}

func (d *nftDecoder) payloadName(r nftReg) string {
	switch {
	case r.base == expr.PayloadBaseNetworkHeader && !d.v6:
		switch {
		case r.off == 12 && r.len == 4:
			return "ip saddr"
		case r.off == 16 && r.len == 4:
			return "ip daddr"
		case r.off == 9 && r.len == 1:
			return "ip protocol"
		}
	case r.base == expr.PayloadBaseNetworkHeader && d.v6:
		switch {
		case r.off == 8 && r.len == 16:
			return "ip6 saddr"
		case r.off == 24 && r.len == 16:
			return "ip6 daddr"
		case r.off == 6 && r.len == 1:
			return "ip6 nexthdr"
		}
	case r.base == expr.PayloadBaseTransportHeader && r.len == 2 && (r.off == 0 || r.off == 2):
		kw := "th"
		if nftPortProto(d.l4) {
			kw = d.l4
		}
		if r.off == 0 {
			return kw + " sport"
		}
		return kw + " dport"
	}
	return nftPayloadRaw(r.base, r.off, r.len)
}

// nftPayloadRaw is nft's raw payload syntax, @base,offset,length in bits.
func nftPayloadRaw(base expr.PayloadBase, off, n uint32) string {
	b := map[expr.PayloadBase]string{
		expr.PayloadBaseLLHeader:        "ll",
		expr.PayloadBaseNetworkHeader:   "nh",
		expr.PayloadBaseTransportHeader: "th",
	}[base]
	if b == "" {
		b = strconv.Itoa(int(base))
	}
	return fmt.Sprintf("@%s,%d,%d", b, off*8, n*8)
}

// value renders comparison data for what the register holds.
func (d *nftDecoder) value(r nftReg, data []byte) string {
	if data == nil && r.kind == nftRegImm {
		data = r.data
	}
	switch {
	case r.kind == nftRegMeta && (r.meta == expr.MetaKeyIIFNAME || r.meta == expr.MetaKeyOIFNAME) && r.mask == nil:
		name, prefix := nftIfname(data)
		if prefix {
			name += "*"
		}
		return `"` + name + `"`
	case r.kind == nftRegMeta && r.meta == expr.MetaKeyL4PROTO && len(data) == 1:
		return nftProtoName(data[0])
	case r.kind == nftRegPayload && r.base == expr.PayloadBaseNetworkHeader && !d.v6 && r.off == 9 && r.len == 1 && len(data) == 1:
		return nftProtoName(data[0])
	case r.kind == nftRegPayload && r.base == expr.PayloadBaseNetworkHeader && !d.v6 &&
		(r.off == 12 || r.off == 16) && r.len == 4 && len(data) == 4:
		return netip.AddrFrom4([4]byte(data)).String()
	case r.kind == nftRegPayload && r.base == expr.PayloadBaseNetworkHeader && d.v6 &&
		(r.off == 8 || r.off == 24) && r.len == 16 && len(data) == 16:
		return netip.AddrFrom16([16]byte(data)).String()
	case r.kind == nftRegPayload && r.base == expr.PayloadBaseTransportHeader && r.len == 2 && len(data) == 2:
		return strconv.Itoa(int(binary.BigEndian.Uint16(data)))
	case r.kind == nftRegCt && r.ct == expr.CtKeySTATE && len(data) == 4:
		names, rest := nftCtStateNames(binary.NativeEndian.Uint32(data))
		if rest == 0 && len(names) > 0 {
			return strings.ToLower(strings.Join(names, ","))
		}
	case r.kind == nftRegOther && strings.HasSuffix(r.name, " type") && len(data) == 4:
		if t := binary.NativeEndian.Uint32(data); int(t) < len(nftAddrTypes) {
			return nftAddrTypes[t]
		}
	case (r.kind == nftRegMeta || r.kind == nftRegCt) && len(data) == 4:
		// meta and ct keys are in host byte order
		return fmt.Sprintf("0x%08x", binary.NativeEndian.Uint32(data))
	}
	return "0x" + hex.EncodeToString(data)
}

func nftFibName(e *expr.Fib) string {
	var keys []string
	for _, k := range []struct {
		set  bool
		name string
	}{{e.FlagSADDR, "saddr"}, {e.FlagDADDR, "daddr"}, {e.FlagMARK, "mark"}, {e.FlagIIF, "iif"}, {e.FlagOIF, "oif"}} {
		if k.set {
			keys = append(keys, k.name)
		}
	}
	res := "type"
	switch {
	case e.ResultOIF:
		res = "oif"
	case e.ResultOIFNAME:
		res = "oifname"
	case e.FlagPRESENT:
		res = "check"
	}
	return "fib " + strings.Join(keys, " . ") + " " + res
}

func nftOp(op expr.CmpOp) string {
	switch op {
	case expr.CmpOpEq:
		return ""
	case expr.CmpOpNeq:
		return "!= "
	case expr.CmpOpLt:
		return "< "
	case expr.CmpOpLte:
		return "<= "
	case expr.CmpOpGt:
		return "> "
	case expr.CmpOpGte:
		return ">= "
	}
	return fmt.Sprintf("op%d ", op)
}

func nftPrefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func nftLimitText(e *expr.Limit) string {
	unit := map[expr.LimitTime]string{
		expr.LimitTimeSecond: "second", expr.LimitTimeMinute: "minute", expr.LimitTimeHour: "hour",
		expr.LimitTimeDay: "day", expr.LimitTimeWeek: "week",
	}[e.Unit]
	if unit == "" {
		unit = fmt.Sprintf("%ds", e.Unit)
	}
	over := ""
	if e.Over {
		over = "over "
	}
	if e.Type == expr.LimitTypePktBytes {
		t := fmt.Sprintf("limit rate %s%d bytes/%s", over, e.Rate, unit)
		if e.Burst != 0 {
			t += fmt.Sprintf(" burst %d bytes", e.Burst)
		}
		return t
	}
	t := fmt.Sprintf("limit rate %s%d/%s", over, e.Rate, unit)
	// 5 is nft's default burst, which it does not print.
	if e.Burst != 0 && e.Burst != 5 {
		t += fmt.Sprintf(" burst %d packets", e.Burst)
	}
	return t
}

func nftRejectText(e *expr.Reject) string {
	icmp := []string{"net-unreachable", "host-unreachable", "prot-unreachable", "port-unreachable"}
	icmpx := []string{"no-route", "port-unreachable", "host-unreachable", "admin-prohibited"}
	switch {
	case e.Type == unix.NFT_REJECT_ICMP_UNREACH && e.Code == 3,
		e.Type == unix.NFT_REJECT_ICMPX_UNREACH && e.Code == unix.NFT_REJECT_ICMPX_PORT_UNREACH:
		return "reject"
	case e.Type == unix.NFT_REJECT_TCP_RST:
		return "reject with tcp reset"
	case e.Type == unix.NFT_REJECT_ICMP_UNREACH && int(e.Code) < len(icmp):
		return "reject with icmp " + icmp[e.Code]
	case e.Type == unix.NFT_REJECT_ICMPX_UNREACH && int(e.Code) < len(icmpx):
		return "reject with icmpx " + icmpx[e.Code]
	}
	return fmt.Sprintf("reject with type %d code %d", e.Type, e.Code)
}
