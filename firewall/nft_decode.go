package firewall

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
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

// nft ct state bits, in the order nft prints them.
var nftCtStates = []struct {
	bit  uint32
	name string
}{
	{expr.CtStateBitINVALID, "INVALID"},
	{expr.CtStateBitESTABLISHED, "ESTABLISHED"},
	{expr.CtStateBitRELATED, "RELATED"},
	{expr.CtStateBitNEW, "NEW"},
	{expr.CtStateBitUNTRACKED, "UNTRACKED"},
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

// nftCtStateNames splits a state bit set into model names and unknown bits.
func nftCtStateNames(states uint32) (names []string, rest uint32) {
	for _, s := range nftCtStates {
		if states&s.bit != 0 {
			names = append(names, s.name)
			states &^= s.bit
		}
	}
	return names, states
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

var nftLogLevels = []string{"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit"}

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

// xt_conntrack state bits equal nft's for the five states the model knows.
const nftXtCtStateOnly = xt.ConntrackState | xt.ConntrackStateAlias

func (d *nftDecoder) xtMatch(e *expr.Match) {
	switch info := e.Info.(type) {
	case *xt.Comment:
		d.xtComment = string(*info)
		return
	case *xt.ConntrackMtinfo1:
		if d.xtCtState(uint32(info.StateMask), info.ConntrackMtinfoBase) {
			return
		}
	case *xt.ConntrackMtinfo2:
		if d.xtCtState(uint32(info.StateMask), info.ConntrackMtinfoBase) {
			return
		}
	case *xt.ConntrackMtinfo3:
		if d.xtCtState(uint32(info.StateMask), info.ConntrackMtinfoBase) {
			return
		}
	case *xt.Udp:
		if d.xtPorts("udp", info.SrcPorts, info.DstPorts, info.InvFlags != 0) {
			return
		}
	case *xt.Tcp:
		// Flag or option tests make it more than a port match.
		if info.FlagsMask == 0 && info.Option == 0 &&
			d.xtPorts("tcp", info.SrcPorts, info.DstPorts, info.InvFlags != 0) {
			return
		}
	}
	d.add(`xt match "` + e.Name + `"`)
	d.unmodeled("xt:" + e.Name)
}

func (d *nftDecoder) xtCtState(mask uint32, b xt.ConntrackMtinfoBase) bool {
	flags := xt.ConntrackFlags(b.MatchFlags)
	if flags&xt.ConntrackState == 0 || flags&^nftXtCtStateOnly != 0 || b.InvertFlags != 0 || d.r.CtStates != nil {
		return false
	}
	names, rest := nftCtStateNames(mask)
	if rest != 0 || len(names) == 0 {
		return false
	}
	d.r.CtStates = names
	d.add("ct state " + strings.ToLower(strings.Join(names, ",")))
	return true
}

// xtPorts decodes iptables' -m udp/-m tcp when it tests at most one exact
// port each way.
func (d *nftDecoder) xtPorts(proto string, sp, dp [2]uint16, inv bool) bool {
	single := func(r [2]uint16) bool { return r[0] == r[1] || (r[0] == 0 && r[1] == 0xffff) }
	if inv || !single(sp) || !single(dp) || d.r.SrcPort != 0 || d.r.DstPort != 0 {
		return false
	}
	if d.r.Protocol == proto {
		d.elide(&d.l4Part)
	}
	if sp[0] == sp[1] {
		d.r.SrcPort = sp[0]
		d.add(proto + " sport " + strconv.Itoa(int(sp[0])))
	}
	if dp[0] == dp[1] {
		d.r.DstPort = dp[0]
		d.add(proto + " dport " + strconv.Itoa(int(dp[0])))
	}
	return true
}

func (d *nftDecoder) xtTarget(e *expr.Target) {
	switch e.Name {
	case "LOG":
		// struct ipt_log_info { u8 level; u8 logflags; char prefix[30]; }
		if u, ok := e.Info.(*xt.Unknown); ok && len(*u) >= 2 {
			raw := []byte(*u)
			prefix := string(bytes.TrimRight(raw[2:min(len(raw), 32)], "\x00"))
			if i := strings.IndexByte(prefix, 0); i >= 0 {
				prefix = prefix[:i]
			}
			d.r.Target, d.r.LogPrefix = "LOG", prefix
			t := `log prefix "` + prefix + `"`
			if lvl := raw[0]; lvl != 4 && int(lvl) < len(nftLogLevels) {
				t += " level " + nftLogLevels[lvl]
			}
			d.add(t)
			return
		}
	case "REJECT":
		d.r.Verdict = Reject
		d.add("reject")
		return
	}
	d.r.Target = e.Name
	d.add(`xt target "` + e.Name + `"`)
	d.unmodeled("xt:" + e.Name)
}

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

var nftAddrTypes = []string{"unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable", "prohibit"}

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

func nftPrefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func nftAllZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

var nftProtos = map[byte]string{
	1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 33: "dccp", 41: "ipv6", 47: "gre",
	50: "esp", 51: "ah", 58: "ipv6-icmp", 132: "sctp", 136: "udplite",
}

func nftProtoName(n byte) string {
	if s, ok := nftProtos[n]; ok {
		return s
	}
	return strconv.Itoa(int(n))
}

func nftProtoNum(name string) (byte, bool) {
	for n, s := range nftProtos {
		if s == name {
			return n, true
		}
	}
	if n, err := strconv.ParseUint(name, 10, 8); err == nil {
		return byte(n), true
	}
	return 0, false
}

// nftPortProto reports whether nft prints ports as "<proto> sport".
func nftPortProto(p string) bool {
	switch p {
	case "tcp", "udp", "udplite", "sctp", "dccp":
		return true
	}
	return false
}

func nftNFProtoName(n byte) string {
	switch n {
	case unix.NFPROTO_IPV4:
		return "ipv4"
	case unix.NFPROTO_IPV6:
		return "ipv6"
	}
	return strconv.Itoa(int(n))
}

var nftMetaNames = map[expr.MetaKey]string{
	expr.MetaKeyLEN: "length", expr.MetaKeyPROTOCOL: "protocol", expr.MetaKeyPRIORITY: "priority",
	expr.MetaKeyMARK: "mark", expr.MetaKeyIIF: "iif", expr.MetaKeyOIF: "oif",
	expr.MetaKeyIIFNAME: "iifname", expr.MetaKeyOIFNAME: "oifname", expr.MetaKeyIIFTYPE: "iiftype",
	expr.MetaKeyOIFTYPE: "oiftype", expr.MetaKeySKUID: "skuid", expr.MetaKeySKGID: "skgid",
	expr.MetaKeyNFTRACE: "nftrace", expr.MetaKeyRTCLASSID: "rtclassid", expr.MetaKeySECMARK: "secmark",
	expr.MetaKeyNFPROTO: "nfproto", expr.MetaKeyL4PROTO: "l4proto", expr.MetaKeyBRIIIFNAME: "ibrname",
	expr.MetaKeyBRIOIFNAME: "obrname", expr.MetaKeyPKTTYPE: "pkttype", expr.MetaKeyCPU: "cpu",
	expr.MetaKeyIIFGROUP: "iifgroup", expr.MetaKeyOIFGROUP: "oifgroup", expr.MetaKeyCGROUP: "cgroup",
	expr.MetaKeyPRANDOM: "random",
}

func nftMetaName(k expr.MetaKey) string {
	if s, ok := nftMetaNames[k]; ok {
		return s
	}
	return fmt.Sprintf("key%d", k)
}

var nftCtKeyNames = map[expr.CtKey]string{
	expr.CtKeySTATE: "state", expr.CtKeyDIRECTION: "direction", expr.CtKeySTATUS: "status",
	expr.CtKeyMARK: "mark", expr.CtKeySECMARK: "secmark", expr.CtKeyEXPIRATION: "expiration",
	expr.CtKeyHELPER: "helper", expr.CtKeyL3PROTOCOL: "l3proto", expr.CtKeySRC: "saddr",
	expr.CtKeyDST: "daddr", expr.CtKeyPROTOCOL: "protocol", expr.CtKeyPROTOSRC: "proto-src",
	expr.CtKeyPROTODST: "proto-dst", expr.CtKeyLABELS: "label", expr.CtKeyPKTS: "packets",
	expr.CtKeyBYTES: "bytes", expr.CtKeyAVGPKT: "avgpkt", expr.CtKeyZONE: "zone",
}

func nftCtKeyName(k expr.CtKey) string {
	if s, ok := nftCtKeyNames[k]; ok {
		return s
	}
	return fmt.Sprintf("key%d", k)
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
