package firewall

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"reflect"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// nftOpaque stands for an expression this package does not parse. The
// nftables library silently drops expressions it does not know, which would
// make a rule look broader than it is; nftOpaque keeps them visible.
type nftOpaque struct {
	expr.Any // always nil: an nftOpaque is only decoded, never marshalled
	Name     string
}

// nftRegKind says what an nftables register holds while a rule is decoded.
type nftRegKind uint8

const (
	nftRegUnknown nftRegKind = iota
	nftRegMeta
	nftRegPayload
	nftRegCt
	nftRegImm
	nftRegOther // loaded by an expression we only render (fib, ...)
)

type nftReg struct {
	kind nftRegKind
	meta expr.MetaKey
	base expr.PayloadBase
	off  uint32
	len  uint32
	ct   expr.CtKey
	mask []byte // bitwise AND applied on the way, nil if none
	odd  bool   // transformed in a way the model cannot follow (xor, double mask)
	name string // nft text of the producer, for nftRegOther
	data []byte // nftRegImm
}

// nftNumRegs covers NFT_REG_VERDICT..NFT_REG32_15.
const nftNumRegs = 24

// nftDecoder turns one rule's expressions into the Rule model plus the text
// `nft list chain` prints for it.
type nftDecoder struct {
	fam       nftables.TableFamily
	r         Rule
	parts     []string
	regs      [nftNumRegs]nftReg
	l4        string // protocol matched so far, names the port matches ("udp dport")
	l4Part    int    // part holding that protocol match, which nft elides before ports
	nfPart    int    // part holding "meta nfproto ipv4", which nft elides before ip matches
	v6        bool   // network header is IPv6 (ip6 table, or inet after nfproto ipv6)
	xtComment string
	pending   string // opaque expression not yet shown: a following cmp may read what it loaded
}

// nftDecodeRule decodes one rule of a table of family fam. It never fails:
// whatever it cannot model goes to Rule.Unmodeled. ChainRef, Position and
// Handle are left to the caller.
func nftDecodeRule(fam nftables.TableFamily, exprs []expr.Any, udata []byte) Rule {
	d := nftDecoder{fam: fam, l4Part: -1, nfPart: -1, v6: fam == nftables.TableFamilyIPv6}
	for _, e := range exprs {
		d.expr(e)
	}
	d.flush()
	comment, ok := nftUdataComment(udata)
	if !ok && d.xtComment != "" {
		comment, ok = d.xtComment, true
	}
	if ok {
		d.r.Comment = comment
		d.add(`comment "` + comment + `"`)
	}
	var text []string
	for _, p := range d.parts {
		if p != "" {
			text = append(text, p)
		}
	}
	d.r.Text = strings.Join(text, " ")
	return d.r
}

func (d *nftDecoder) add(text string) int {
	d.parts = append(d.parts, text)
	return len(d.parts) - 1
}

func (d *nftDecoder) unmodeled(text string) { d.r.Unmodeled = append(d.r.Unmodeled, text) }

func (d *nftDecoder) reg(n uint32) nftReg {
	if n < nftNumRegs {
		return d.regs[n]
	}
	return nftReg{}
}

func (d *nftDecoder) setReg(n uint32, v nftReg) {
	if n < nftNumRegs {
		d.regs[n] = v
	}
}

// clobber forgets all registers: an expression we do not understand may have
// written any of them.
func (d *nftDecoder) clobber(name string) {
	for i := range d.regs {
		d.regs[i] = nftReg{kind: nftRegOther, name: name, odd: true}
	}
}

// elide blanks a dependency part nft does not print once the match that
// needs it follows.
func (d *nftDecoder) elide(i *int) {
	if *i >= 0 {
		d.parts[*i] = ""
		*i = -1
	}
}

func (d *nftDecoder) expr(e expr.Any) {
	switch e.(type) {
	case *expr.Cmp, *expr.Range, *expr.Lookup:
	default:
		d.flush()
	}
	switch e := e.(type) {
	case *expr.Meta:
		if e.SourceRegister {
			d.add("meta " + nftMetaName(e.Key) + " set " + d.value(nftReg{kind: nftRegMeta, meta: e.Key}, d.reg(e.Register).data))
			return
		}
		d.setReg(e.Register, nftReg{kind: nftRegMeta, meta: e.Key})
	case *expr.Payload:
		if e.OperationType == expr.PayloadWrite {
			d.add(nftPayloadRaw(e.Base, e.Offset, e.Len) + " set " + d.value(d.reg(e.SourceRegister), nil))
			return
		}
		d.setReg(e.DestRegister, nftReg{kind: nftRegPayload, base: e.Base, off: e.Offset, len: e.Len})
	case *expr.Ct:
		if e.SourceRegister {
			d.add("ct " + nftCtKeyName(e.Key) + " set " + d.value(nftReg{kind: nftRegCt, ct: e.Key}, d.reg(e.Register).data))
			return
		}
		d.setReg(e.Register, nftReg{kind: nftRegCt, ct: e.Key})
	case *expr.Immediate:
		d.setReg(e.Register, nftReg{kind: nftRegImm, data: e.Data})
	case *expr.Bitwise:
		v := d.reg(e.SourceRegister)
		if v.mask != nil || len(e.Mask) == 0 || !nftAllZero(e.Xor) {
			v.odd = true
		}
		v.mask = e.Mask
		d.setReg(e.DestRegister, v)
	case *expr.Fib:
		d.setReg(e.Register, nftReg{kind: nftRegOther, name: nftFibName(e)})
	case *expr.Cmp:
		d.cmp(e)
	case *expr.Range:
		src := d.use(e.Register)
		t := d.lhs(src) + " " + nftOp(e.Op) + d.value(src, e.FromData) + "-" + d.value(src, e.ToData)
		d.add(t)
		d.unmodeled(t)
	case *expr.Lookup:
		src := d.use(e.SourceRegister)
		var t string
		switch {
		case e.IsDestRegSet && e.DestRegister == unix.NFT_REG_VERDICT:
			t = d.lhs(src) + " vmap @" + e.SetName
		case e.IsDestRegSet:
			t = d.lhs(src) + " map @" + e.SetName
			d.setReg(e.DestRegister, nftReg{kind: nftRegOther, name: t, odd: true})
		case e.Invert:
			t = d.lhs(src) + " != @" + e.SetName
		default:
			t = d.lhs(src) + " @" + e.SetName
		}
		d.add(t)
		d.unmodeled(t)
	case *expr.Counter:
		d.r.Packets += e.Packets
		d.r.Bytes += e.Bytes
		d.add(fmt.Sprintf("counter packets %d bytes %d", e.Packets, e.Bytes))
	case *expr.Verdict:
		d.verdict(e)
	case *expr.Reject:
		d.r.Verdict = Reject
		d.add(nftRejectText(e))
	case *expr.Log:
		d.log(e)
	case *expr.Limit:
		t := nftLimitText(e)
		d.add(t)
		d.unmodeled(t) // rate-limited: may or may not match
	case *expr.Match:
		d.xtMatch(e)
	case *expr.Target:
		d.xtTarget(e)
	case *expr.Notrack:
		d.add("notrack")
	case nftOpaque:
		d.opaque(e.Name)
	case *nftOpaque:
		d.opaque(e.Name)
	default:
		d.opaque(nftExprName(e))
	}
}

func (d *nftDecoder) opaque(name string) {
	d.pending = name
	d.clobber(name)
}

// flush shows a pending opaque expression on its own.
func (d *nftDecoder) flush() {
	if d.pending != "" {
		d.add("[" + d.pending + "]")
		d.unmodeled(d.pending)
		d.pending = ""
	}
}

// use returns the register a match reads. The dependencies nft does not
// print before such a match (meta nfproto before ip, meta l4proto before
// ports) are elided, and a pending opaque expression is shown as the
// match's left-hand side rather than on its own.
func (d *nftDecoder) use(n uint32) nftReg {
	r := d.reg(n)
	if r.kind == nftRegOther && r.name == d.pending {
		d.pending = ""
	} else {
		d.flush()
	}
	if r.kind == nftRegPayload && r.base == expr.PayloadBaseNetworkHeader {
		d.elide(&d.nfPart)
	}
	if r.kind == nftRegPayload && r.base == expr.PayloadBaseTransportHeader && r.len == 2 &&
		(r.off == 0 || r.off == 2) && nftPortProto(d.l4) {
		d.elide(&d.l4Part)
	}
	return r
}

// nftExprName names an expression by its Go type: *expr.Quota -> "quota".
func nftExprName(e expr.Any) string {
	if e == nil {
		return "nil"
	}
	t := reflect.TypeOf(e)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.ToLower(t.Name())
}

func (d *nftDecoder) cmp(e *expr.Cmp) {
	src := d.use(e.Register)
	neg := e.Op == expr.CmpOpNeq
	simple := (e.Op == expr.CmpOpEq || neg) && !src.odd
	op := nftOp(e.Op)
	switch {
	case simple && src.mask == nil && src.kind == nftRegMeta &&
		(src.meta == expr.MetaKeyIIFNAME || src.meta == expr.MetaKeyOIFNAME):
		name, prefix := nftIfname(e.Data)
		kw := "iifname"
		if src.meta == expr.MetaKeyOIFNAME {
			kw = "oifname"
		}
		t := kw + " " + op + d.value(src, e.Data)
		d.add(t)
		// oifname is empty on the input hook: we cannot tell what was meant.
		if kw == "oifname" || d.r.InIface != "" || name == "" {
			d.unmodeled(t)
			return
		}
		if prefix {
			name += "+"
		}
		d.r.InIface, d.r.InIfaceNegated = name, neg
	case simple && src.mask == nil && src.kind == nftRegMeta && src.meta == expr.MetaKeyL4PROTO && len(e.Data) == 1:
		d.proto("meta l4proto", e.Data[0], neg)
	case simple && src.mask == nil && src.kind == nftRegMeta && src.meta == expr.MetaKeyNFPROTO && len(e.Data) == 1:
		t := "meta nfproto " + op + nftNFProtoName(e.Data[0])
		i := d.add(t)
		switch {
		case !neg && e.Data[0] == unix.NFPROTO_IPV4:
			d.nfPart, d.v6 = i, false
		case !neg && e.Data[0] == unix.NFPROTO_IPV6:
			d.nfPart, d.v6 = i, true
			d.unmodeled(t) // never matches IPv4
		default:
			d.unmodeled(t)
		}
	case simple && src.kind == nftRegPayload && src.base == expr.PayloadBaseNetworkHeader && !d.v6 &&
		(src.off == 12 || src.off == 16):
		p, ok := nftPrefix(e.Data, src.mask, src.len)
		if !ok {
			d.generic(src, e)
			return
		}
		d.addr(src.off == 12, p, neg)
	case simple && src.mask == nil && src.kind == nftRegPayload && src.base == expr.PayloadBaseNetworkHeader && !d.v6 &&
		src.off == 9 && src.len == 1 && len(e.Data) == 1:
		d.proto("ip protocol", e.Data[0], neg)
	case simple && src.mask == nil && src.kind == nftRegPayload && src.base == expr.PayloadBaseTransportHeader &&
		(src.off == 0 || src.off == 2) && src.len == 2 && len(e.Data) == 2:
		t := d.lhs(src) + " " + op + d.value(src, e.Data)
		d.add(t)
		field := &d.r.SrcPort
		if src.off == 2 {
			field = &d.r.DstPort
		}
		if neg || *field != 0 {
			d.unmodeled(t)
			return
		}
		*field = binary.BigEndian.Uint16(e.Data)
	case src.kind == nftRegCt && src.ct == expr.CtKeySTATE && !src.odd && len(e.Data) == 4:
		d.ctState(e, src)
	default:
		d.generic(src, e)
	}
}

func (d *nftDecoder) generic(src nftReg, e *expr.Cmp) {
	op := nftOp(e.Op)
	if op == "" && src.mask != nil {
		op = "== " // as nft: "ip saddr & 255.0.255.0 == 1.0.2.0"
	}
	t := d.lhs(src) + " " + op + d.value(src, e.Data)
	d.add(t)
	d.unmodeled(t)
}

func (d *nftDecoder) proto(kw string, num byte, neg bool) {
	name := nftProtoName(num)
	op := ""
	if neg {
		op = "!= "
	}
	t := kw + " " + op + name
	i := d.add(t)
	switch {
	case neg:
		d.unmodeled(t)
	case d.r.Protocol == "":
		d.r.Protocol = name
		d.l4, d.l4Part = name, i
	default:
		d.unmodeled(t) // a second protocol match: the model holds one
	}
}

func (d *nftDecoder) addr(src bool, p netip.Prefix, neg bool) {
	kw := "ip daddr "
	field, negField := &d.r.Dest, &d.r.DestNegated
	if src {
		kw = "ip saddr "
		field, negField = &d.r.Source, &d.r.SourceNegated
	}
	if neg {
		kw += "!= "
	}
	t := kw + nftPrefixString(p)
	d.add(t)
	if field.IsValid() {
		d.unmodeled(t)
		return
	}
	*field, *negField = p, neg
}

func (d *nftDecoder) ctState(e *expr.Cmp, src nftReg) {
	v := binary.NativeEndian.Uint32(e.Data)
	var states uint32
	var neg bool
	switch {
	case len(src.mask) == 4 && v == 0 && (e.Op == expr.CmpOpNeq || e.Op == expr.CmpOpEq):
		// "ct state a,b": any of the mask's bits; cmp eq 0 means none of them.
		states, neg = binary.NativeEndian.Uint32(src.mask), e.Op == expr.CmpOpEq
	case len(src.mask) == 4 && e.Op == expr.CmpOpEq && v == binary.NativeEndian.Uint32(src.mask) && bits.OnesCount32(v) == 1:
		states = v
	case src.mask == nil && (e.Op == expr.CmpOpEq || e.Op == expr.CmpOpNeq) && bits.OnesCount32(v) == 1:
		// A connection is in exactly one state, so equality is a bit test.
		states, neg = v, e.Op == expr.CmpOpNeq
	default:
		d.generic(src, e)
		return
	}
	names, rest := nftCtStateNames(states)
	lower := make([]string, len(names), len(names)+1)
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	if rest != 0 {
		lower = append(lower, fmt.Sprintf("0x%x", rest))
	}
	t := "ct state "
	if neg {
		t += "!= "
	}
	t += strings.Join(lower, ",")
	d.add(t)
	if neg || rest != 0 || len(names) == 0 || d.r.CtStates != nil {
		d.unmodeled(t)
		return
	}
	d.r.CtStates = names
}

func (d *nftDecoder) verdict(e *expr.Verdict) {
	switch e.Kind {
	case expr.VerdictAccept:
		d.r.Verdict = Accept
		d.add("accept")
	case expr.VerdictDrop:
		d.r.Verdict = Drop
		d.add("drop")
	case expr.VerdictReturn:
		d.r.Verdict = Return
		d.add("return")
	case expr.VerdictJump:
		d.r.Verdict, d.r.Target = Jump, e.Chain
		d.add("jump " + e.Chain)
	case expr.VerdictGoto:
		d.r.Verdict, d.r.Target = Goto, e.Chain
		d.add("goto " + e.Chain)
	case expr.VerdictContinue:
		d.add("continue")
	case expr.VerdictQueue:
		d.add("queue")
		d.unmodeled("queue")
	default:
		t := fmt.Sprintf("verdict %d", e.Kind)
		d.add(t)
		d.unmodeled(t)
	}
}

func (d *nftDecoder) log(e *expr.Log) {
	t := "log"
	if e.Key&(1<<unix.NFTA_LOG_PREFIX) != 0 {
		t += ` prefix "` + string(e.Data) + `"`
		d.r.LogPrefix = string(e.Data)
	}
	// The kernel reports the default level (warn) even when none was set, and
	// nft does not print it.
	if e.Key&(1<<unix.NFTA_LOG_LEVEL) != 0 && e.Level != expr.LogLevelWarning {
		if int(e.Level) < len(nftLogLevels) {
			t += " level " + nftLogLevels[e.Level]
		} else {
			t += fmt.Sprintf(" level %d", e.Level)
		}
	}
	target := "LOG"
	if e.Key&(1<<unix.NFTA_LOG_GROUP) != 0 {
		t += fmt.Sprintf(" group %d", e.Group)
		target = "NFLOG"
	}
	if e.Snaplen != 0 {
		t += fmt.Sprintf(" snaplen %d", e.Snaplen)
	}
	if e.QThreshold != 0 {
		t += fmt.Sprintf(" queue-threshold %d", e.QThreshold)
	}
	if e.Key&(1<<unix.NFTA_LOG_FLAGS) != 0 && e.Flags != 0 {
		t += fmt.Sprintf(" flags 0x%x", uint32(e.Flags))
	}
	if d.r.Target == "" {
		d.r.Target = target
	}
	d.add(t)
}

// nftIfname reads interface name data: nft and iptables-nft compare the name
// including its NUL for an exact match, and only the prefix for "eth*".
func nftIfname(data []byte) (name string, prefix bool) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return string(data[:i]), false
	}
	return string(data), true
}

// nftPrefix reads an IPv4 address match of plen bytes with an optional mask.
func nftPrefix(data, mask []byte, plen uint32) (netip.Prefix, bool) {
	if plen < 1 || plen > 4 || len(data) != int(plen) {
		return netip.Prefix{}, false
	}
	var a [4]byte
	copy(a[:], data)
	n := int(plen) * 8
	if mask != nil {
		if len(mask) != int(plen) {
			return netip.Prefix{}, false
		}
		n = 0
		for _, b := range mask {
			n += bits.LeadingZeros8(^b)
		}
		// Only a contiguous mask is a prefix.
		for i, b := range mask {
			want := byte(0)
			if left := n - 8*i; left >= 8 {
				want = 0xff
			} else if left > 0 {
				want = ^byte(0xff >> left)
			}
			if b != want {
				return netip.Prefix{}, false
			}
		}
	}
	p := netip.PrefixFrom(netip.AddrFrom4(a), n)
	if p.Masked() != p {
		return netip.Prefix{}, false
	}
	return p, true
}

func nftAllZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// nftUdataComment reads the comment (NFTNL_UDATA_RULE_COMMENT) from rule
// userdata TLVs, tolerating malformed data.
func nftUdataComment(b []byte) (string, bool) {
	for len(b) >= 2 {
		typ, n := b[0], int(b[1])
		if len(b) < 2+n {
			break
		}
		if typ == 0 {
			v := b[2 : 2+n]
			if i := bytes.IndexByte(v, 0); i >= 0 {
				v = v[:i]
			}
			return string(v), true
		}
		b = b[2+n:]
	}
	return "", false
}
