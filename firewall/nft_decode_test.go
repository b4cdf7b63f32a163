package firewall

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// Expression helpers shaped like what nft and iptables-nft put in the kernel.
func nftTMeta(k expr.MetaKey) *expr.Meta { return &expr.Meta{Key: k, Register: 1} }

func nftTCmp(op expr.CmpOp, data ...byte) *expr.Cmp {
	return &expr.Cmp{Op: op, Register: 1, Data: data}
}

func nftTIfname(op expr.CmpOp, name string, prefix bool) []expr.Any {
	data := []byte(name)
	if !prefix {
		data = make([]byte, 16)
		copy(data, name)
	}
	return []expr.Any{nftTMeta(expr.MetaKeyIIFNAME), &expr.Cmp{Op: op, Register: 1, Data: data}}
}

func nftTSaddr(op expr.CmpOp, prefix string) []expr.Any {
	p := netip.MustParsePrefix(prefix)
	ex := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}}
	if p.Bits() < 32 {
		mask := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-p.Bits()))
		ex = append(ex, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)})
	}
	return append(ex, &expr.Cmp{Op: op, Register: 1, Data: p.Addr().AsSlice()})
}

func nftTPort(off uint32, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, port)},
	}
}

func nftTCtState(op expr.CmpOp, mask, val uint32, withMask bool) []expr.Any {
	ex := []expr.Any{&expr.Ct{Register: 1, Key: expr.CtKeySTATE}}
	if withMask {
		ex = append(ex, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, mask), Xor: make([]byte, 4)})
	}
	return append(ex, &expr.Cmp{Op: op, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, val)})
}

func nftTJoin(parts ...any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		switch p := p.(type) {
		case expr.Any:
			out = append(out, p)
		case []expr.Any:
			out = append(out, p...)
		}
	}
	return out
}

var (
	nftTCounter = &expr.Counter{Packets: 12, Bytes: 960}
	nftTAccept  = &expr.Verdict{Kind: expr.VerdictAccept}
	nftTDrop    = &expr.Verdict{Kind: expr.VerdictDrop}
)

func TestNFTDecodeRule(t *testing.T) {
	udp := nftTJoin(nftTMeta(expr.MetaKeyL4PROTO), nftTCmp(expr.CmpOpEq, unix.IPPROTO_UDP))
	logInfo := make([]byte, 32) // ipt_log_info
	logInfo[0] = 4
	copy(logInfo[2:], "LP: ")
	logUnknown := xt.Unknown(logInfo)
	comment := xt.Comment("hi")

	for _, tc := range []struct {
		name  string
		fam   nftables.TableFamily
		exprs []expr.Any
		udata []byte
		want  nftFields
		text  string
		pkts  uint64
	}{{
		name:  "tailscale drop",
		exprs: nftTJoin(nftTIfname(expr.CmpOpNeq, "tailscale0", true), nftTSaddr(expr.CmpOpEq, "100.64.0.0/10"), nftTCounter, nftTDrop),
		want:  nftFields{InIface: "tailscale0+", InIfaceNegated: true, Source: "100.64.0.0/10", Verdict: Drop},
		text:  `iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter packets 12 bytes 960 drop`,
		pkts:  12,
	}, {
		name:  "loopback host",
		exprs: nftTJoin(nftTIfname(expr.CmpOpEq, "lo", true), nftTSaddr(expr.CmpOpEq, "100.64.0.1/32"), nftTAccept),
		want:  nftFields{InIface: "lo+", Source: "100.64.0.1/32", Verdict: Accept},
		text:  `iifname "lo*" ip saddr 100.64.0.1 accept`,
	}, {
		name:  "exact iface as iptables-nft writes it",
		exprs: nftTJoin(nftTMeta(expr.MetaKeyIIFNAME), nftTCmp(expr.CmpOpEq, 'e', 't', 'h', '0', 0), nftTAccept),
		want:  nftFields{InIface: "eth0", Verdict: Accept},
		text:  `iifname "eth0" accept`,
	}, {
		name:  "udp dport",
		exprs: nftTJoin(udp, nftTPort(2, 35018), nftTAccept),
		want:  nftFields{Protocol: "udp", DstPort: 35018, Verdict: Accept},
		text:  `udp dport 35018 accept`,
	}, {
		name: "ip protocol and sport",
		exprs: nftTJoin(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 9, Len: 1},
			nftTCmp(expr.CmpOpEq, unix.IPPROTO_TCP), nftTPort(0, 53), &expr.Verdict{Kind: expr.VerdictReturn}),
		want: nftFields{Protocol: "tcp", SrcPort: 53, Verdict: Return},
		text: `tcp sport 53 return`,
	}, {
		name:  "protocol alone",
		exprs: nftTJoin(udp, &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 3}),
		want:  nftFields{Protocol: "udp", Verdict: Reject},
		text:  `meta l4proto udp reject`,
	}, {
		name:  "port without protocol",
		exprs: nftTJoin(nftTPort(2, 22), nftTAccept),
		want:  nftFields{DstPort: 22, Verdict: Accept},
		text:  `th dport 22 accept`,
	}, {
		name:  "negated source and dest",
		exprs: nftTJoin(nftTSaddr(expr.CmpOpNeq, "10.0.0.0/8"), &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}, nftTCmp(expr.CmpOpEq, 192, 168, 1, 1), nftTDrop),
		want:  nftFields{Source: "10.0.0.0/8", SourceNegated: true, Verdict: Drop},
		text:  `ip saddr != 10.0.0.0/8 ip daddr 192.168.1.1 drop`,
	}, {
		name:  "ct state any of",
		exprs: nftTJoin(nftTCtState(expr.CmpOpNeq, 6, 0, true), nftTAccept),
		want:  nftFields{CtStates: "ESTABLISHED,RELATED", Verdict: Accept},
		text:  `ct state established,related accept`,
	}, {
		name:  "ct state equal",
		exprs: nftTJoin(nftTCtState(expr.CmpOpEq, 0, expr.CtStateBitNEW, false), nftTAccept),
		want:  nftFields{CtStates: "NEW", Verdict: Accept},
		text:  `ct state new accept`,
	}, {
		name:  "ct state negated",
		exprs: nftTJoin(nftTCtState(expr.CmpOpNeq, 0, expr.CtStateBitESTABLISHED, false), nftTDrop),
		want:  nftFields{Verdict: Drop, Unmodeled: "ct state != established"},
		text:  `ct state != established drop`,
	}, {
		name: "trace log rule",
		exprs: nftTJoin(nftTSaddr(expr.CmpOpEq, "100.64.0.0/10"),
			&expr.Limit{Type: expr.LimitTypePkts, Rate: 20, Unit: expr.LimitTimeSecond, Burst: 5}, &expr.Counter{},
			&expr.Log{Key: 1<<unix.NFTA_LOG_PREFIX | 1<<unix.NFTA_LOG_LEVEL, Level: expr.LogLevelWarning, Data: []byte("TSDOCTOR-x: ")}),
		udata: userdata.AppendString(nil, userdata.TypeComment, "tsdoctor-trace test"),
		want: nftFields{Source: "100.64.0.0/10", Target: "LOG", LogPrefix: "TSDOCTOR-x: ", Comment: "tsdoctor-trace test",
			Unmodeled: "limit rate 20/second"},
		text: `ip saddr 100.64.0.0/10 limit rate 20/second counter packets 0 bytes 0 log prefix "TSDOCTOR-x: " comment "tsdoctor-trace test"`,
	}, {
		name: "iptables-nft xt extensions",
		exprs: nftTJoin(nftTSaddr(expr.CmpOpEq, "100.64.0.0/10"),
			&expr.Match{Name: "conntrack", Rev: 3, Info: &xt.ConntrackMtinfo3{ConntrackMtinfo2: xt.ConntrackMtinfo2{
				ConntrackMtinfoBase: xt.ConntrackMtinfoBase{MatchFlags: uint16(xt.ConntrackState | xt.ConntrackStateAlias)},
				StateMask:           uint16(expr.CtStateBitESTABLISHED)}}},
			&expr.Match{Name: "comment", Info: &comment}, nftTAccept),
		want: nftFields{Source: "100.64.0.0/10", CtStates: "ESTABLISHED", Comment: "hi", Verdict: Accept},
		text: `ip saddr 100.64.0.0/10 ct state established accept comment "hi"`,
	}, {
		name:  "xt LOG and udp",
		exprs: nftTJoin(udp, &expr.Match{Name: "udp", Info: &xt.Udp{SrcPorts: [2]uint16{53, 53}, DstPorts: [2]uint16{0, 0xffff}}}, &expr.Target{Name: "LOG", Info: &logUnknown}),
		want:  nftFields{Protocol: "udp", SrcPort: 53, Target: "LOG", LogPrefix: "LP: "},
		text:  `udp sport 53 log prefix "LP: "`,
	}, {
		name:  "unknown xt match and target",
		exprs: nftTJoin(&expr.Match{Name: "multiport", Info: &xt.Unknown{1, 2}}, &expr.Target{Name: "MARK", Info: &xt.Unknown{}}),
		want:  nftFields{Target: "MARK", Unmodeled: "xt:multiport|xt:MARK"},
		text:  `xt match "multiport" xt target "MARK"`,
	}, {
		name:  "opaque expression feeding a cmp",
		exprs: nftTJoin(&nftOpaque{Name: "socket"}, nftTCmp(expr.CmpOpEq, 1), nftTDrop),
		want:  nftFields{Verdict: Drop, Unmodeled: "socket 0x01"},
		text:  `socket 0x01 drop`,
	}, {
		name:  "opaque statement",
		exprs: nftTJoin(&expr.Quota{Bytes: 10}, nftTAccept),
		want:  nftFields{Verdict: Accept, Unmodeled: "quota"},
		text:  `[quota] accept`,
	}, {
		name: "inet with nfproto and byte-aligned prefix",
		fam:  nftables.TableFamilyINet,
		exprs: nftTJoin(nftTMeta(expr.MetaKeyNFPROTO), nftTCmp(expr.CmpOpEq, unix.NFPROTO_IPV4),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 3},
			nftTCmp(expr.CmpOpEq, 1, 2, 3), nftTAccept),
		want: nftFields{Source: "1.2.3.0/24", Verdict: Accept},
		text: `ip saddr 1.2.3.0/24 accept`,
	}, {
		name: "inet ipv6 only",
		fam:  nftables.TableFamilyINet,
		exprs: nftTJoin(nftTMeta(expr.MetaKeyNFPROTO), nftTCmp(expr.CmpOpEq, unix.NFPROTO_IPV6),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
			nftTCmp(expr.CmpOpEq, netip.IPv6Loopback().AsSlice()...), nftTAccept),
		want: nftFields{Verdict: Accept, Unmodeled: "meta nfproto ipv6|ip6 saddr ::1"},
		text: `ip6 saddr ::1 accept`,
	}, {
		name: "non-contiguous mask",
		exprs: nftTJoin(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{255, 0, 255, 0}, Xor: make([]byte, 4)},
			nftTCmp(expr.CmpOpEq, 1, 0, 2, 0), nftTAccept),
		want: nftFields{Verdict: Accept, Unmodeled: "ip saddr & 255.0.255.0 == 1.0.2.0"},
		text: `ip saddr & 255.0.255.0 == 1.0.2.0 accept`,
	}, {
		name:  "oifname and mark",
		exprs: nftTJoin(nftTMeta(expr.MetaKeyOIFNAME), nftTCmp(expr.CmpOpEq, 'w', 'g'), nftTMeta(expr.MetaKeyMARK), nftTCmp(expr.CmpOpEq, binary.NativeEndian.AppendUint32(nil, 1)...), &expr.Verdict{Kind: expr.VerdictGoto, Chain: "x"}),
		want:  nftFields{Verdict: Goto, Target: "x", Unmodeled: `oifname "wg*"|meta mark 0x00000001`},
		text:  `oifname "wg*" meta mark 0x00000001 goto x`,
	}, {
		name:  "jump and vmap",
		exprs: nftTJoin(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}, &expr.Lookup{SourceRegister: 1, SetName: "__map0", IsDestRegSet: true}, &expr.Verdict{Kind: expr.VerdictJump, Chain: "ts-input"}),
		want:  nftFields{Verdict: Jump, Target: "ts-input", Unmodeled: "ip saddr vmap @__map0"},
		text:  `ip saddr vmap @__map0 jump ts-input`,
	}, {
		name:  "second iifname",
		exprs: nftTJoin(nftTIfname(expr.CmpOpEq, "a", false), nftTIfname(expr.CmpOpEq, "b", false)),
		want:  nftFields{InIface: "a", Unmodeled: `iifname "b"`},
		text:  `iifname "a" iifname "b"`,
	}, {
		name:  "malformed userdata",
		exprs: nftTJoin(nftTAccept),
		udata: []byte{0, 200, 'x'},
		want:  nftFields{Verdict: Accept},
		text:  `accept`,
	}, {
		name:  "nothing",
		want:  nftFields{},
		text:  ``,
		exprs: nil,
	}, {
		name:  "nil expression and cmp of an unset register",
		exprs: []expr.Any{nil, &expr.Cmp{Op: expr.CmpOpEq, Register: 99, Data: []byte{1}}},
		want:  nftFields{Unmodeled: `nil|[unknown register] 0x01`},
		text:  `[nil] [unknown register] 0x01`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			fam := tc.fam
			if fam == 0 {
				fam = nftables.TableFamilyIPv4
			}
			r := nftDecodeRule(fam, tc.exprs, tc.udata)
			if got := nftFieldsOf(r); got != tc.want {
				t.Errorf("fields\n got %+v\nwant %+v", got, tc.want)
			}
			if r.Text != tc.text {
				t.Errorf("text\n got %q\nwant %q", r.Text, tc.text)
			}
			if r.Packets != tc.pkts {
				t.Errorf("packets %d, want %d", r.Packets, tc.pkts)
			}
		})
	}
}

// Every Spec Insert can write decodes back to itself.
func TestNFTSpecRoundTrip(t *testing.T) {
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyINet} {
		for _, spec := range []Spec{
			{Source: netip.MustParsePrefix("100.64.0.0/10"), LimitPerSecond: 20, Comment: "tsdoctor-trace test", LogPrefix: "TSDOCTOR-x: "},
			{Source: netip.MustParsePrefix("100.100.2.136/32"), Protocol: "udp", SrcPort: 53, Verdict: Accept},
			{InIface: "tailscale0+", InIfaceNegated: true, Source: netip.MustParsePrefix("100.64.0.0/10"), Verdict: Drop},
			{InIface: "eth0", Protocol: "tcp", CtStates: []string{"RELATED", "ESTABLISHED"}, Verdict: Return},
			{Verdict: Reject},
			{},
		} {
			ex, udata, err := nftSpecExprs(fam, spec)
			if err != nil {
				t.Fatalf("%+v: %v", spec, err)
			}
			r := nftDecodeRule(fam, ex, udata)
			got := Spec{Source: r.Source, InIface: r.InIface, InIfaceNegated: r.InIfaceNegated, Protocol: r.Protocol,
				SrcPort: r.SrcPort, CtStates: r.CtStates, Comment: r.Comment, LogPrefix: r.LogPrefix, Verdict: r.Verdict}
			want := spec
			want.LimitPerSecond = 0
			if spec.CtStates != nil {
				want.CtStates = []string{"ESTABLISHED", "RELATED"}
			}
			if !reflect.DeepEqual(got, want) || r.SourceNegated || r.DstPort != 0 {
				t.Errorf("family %d: %+v decodes to %+v", fam, spec, got)
			}
			wantUnmodeled := ""
			if spec.LimitPerSecond > 0 {
				wantUnmodeled = "limit rate 20/second"
			}
			if strings.Join(r.Unmodeled, "|") != wantUnmodeled {
				t.Errorf("%+v: unmodeled %q", spec, r.Unmodeled)
			}
		}
	}
}

func TestNFTSpecErrors(t *testing.T) {
	for _, spec := range []Spec{
		{InIface: "+", Verdict: Accept},
		{InIface: "a-very-long-interface-name", Verdict: Accept},
		{Source: netip.MustParsePrefix("::/0"), Verdict: Accept},
		{Protocol: "bogus", Verdict: Accept},
		{Protocol: "icmp", SrcPort: 1, Verdict: Accept},
		{CtStates: []string{"SNAT"}, Verdict: Accept},
		{LimitPerSecond: -1},
		{Comment: strings.Repeat("x", 129), Verdict: Accept},
		{LogPrefix: strings.Repeat("x", 128)},
		{Verdict: Jump},
		{Verdict: Goto},
	} {
		if _, _, err := nftSpecExprs(nftables.TableFamilyIPv4, spec); err == nil {
			t.Errorf("%+v: no error", spec)
		}
	}
	if _, _, err := nftSpecExprs(nftables.TableFamilyIPv6, Spec{Verdict: Accept}); err == nil {
		t.Error("ip6 family: no error")
	}
}

func TestNFTParseExpr(t *testing.T) {
	cmp := &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{1, 2}}
	data, err := expr.MarshalExprData(unix.NFPROTO_IPV4, cmp)
	if err != nil {
		t.Fatal(err)
	}
	if got := nftParseExpr(unix.NFPROTO_IPV4, "cmp", data); !reflect.DeepEqual(got, cmp) {
		t.Errorf("cmp: got %#v", got)
	}
	verdict := &expr.Verdict{Kind: expr.VerdictJump, Chain: "ts-input"}
	data, err = expr.MarshalExprData(unix.NFPROTO_IPV4, verdict)
	if err != nil {
		t.Fatal(err)
	}
	if got := nftParseExpr(unix.NFPROTO_IPV4, "immediate", data); !reflect.DeepEqual(got, verdict) {
		t.Errorf("verdict: got %#v", got)
	}
	if got, ok := nftParseExpr(unix.NFPROTO_IPV4, "tunnel", nil).(*nftOpaque); !ok || got.Name != "tunnel" {
		t.Errorf("unknown expression: got %#v", got)
	}
	// An empty log prefix attribute makes the library's parser panic.
	if got, ok := nftParseExpr(unix.NFPROTO_IPV4, "log", []byte{4, 0, unix.NFTA_LOG_PREFIX, 0}).(*nftOpaque); !ok ||
		got.Name != "log (undecodable)" {
		t.Errorf("malformed log: got %#v", got)
	}
	if got, ok := nftParseExpr(unix.NFPROTO_IPV4, "cmp", []byte{1, 2, 3}).(*nftOpaque); !ok || got.Name != "cmp (undecodable)" {
		t.Errorf("malformed cmp: got %#v", got)
	}
}
