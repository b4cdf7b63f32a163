package firewall

import (
	"net/netip"
	"os"
	"reflect"
	"slices"
	"testing"
)

func TestParseIptablesRule(t *testing.T) {
	cases := []struct {
		line string
		want Rule
	}{
		{
			line: `-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -c 12 1008 -j DROP`,
			want: Rule{ChainRef: ChainRef{Chain: "ts-input"}, Source: netip.MustParsePrefix("100.64.0.0/10"),
				InIface: "tailscale0", InIfaceNegated: true, Verdict: Drop, Packets: 12, Bytes: 1008,
				Text: `-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP`},
		},
		{
			line: `-A ts-input -p udp -m udp --dport 43075 -c 3 300 -j ACCEPT`,
			want: Rule{ChainRef: ChainRef{Chain: "ts-input"}, Protocol: "udp", DstPort: 43075, Verdict: Accept,
				Packets: 3, Bytes: 300, Text: `-A ts-input -p udp -m udp --dport 43075 -j ACCEPT`},
		},
		{
			line: `-A INPUT -c 5 6 -j ts-input`,
			want: Rule{ChainRef: ChainRef{Chain: "INPUT"}, Verdict: Jump, Target: "ts-input", Packets: 5, Bytes: 6,
				Text: `-A INPUT -j ts-input`},
		},
		{
			line: `-A ts-input -s 100.100.2.136/32 -p udp -m udp --sport 53 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "tsdoctor whitelist dns" -j ACCEPT`,
			want: Rule{ChainRef: ChainRef{Chain: "ts-input"}, Source: netip.MustParsePrefix("100.100.2.136/32"), Protocol: "udp",
				SrcPort: 53, CtStates: []string{"RELATED", "ESTABLISHED"}, Comment: "tsdoctor whitelist dns", Verdict: Accept,
				Text: `-A ts-input -s 100.100.2.136/32 -p udp -m udp --sport 53 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "tsdoctor whitelist dns" -j ACCEPT`},
		},
		{
			line: `-A INPUT -s 100.64.0.0/10 -m limit --limit 20/sec -m comment --comment "tsdoctor-trace 42" -j LOG --log-prefix "TSDOCTOR-42: "`,
			want: Rule{ChainRef: ChainRef{Chain: "INPUT"}, Source: netip.MustParsePrefix("100.64.0.0/10"), Comment: "tsdoctor-trace 42",
				Verdict: Continue, Target: "LOG", LogPrefix: "TSDOCTOR-42: ",
				Text: `-A INPUT -s 100.64.0.0/10 -m limit --limit 20/sec -m comment --comment "tsdoctor-trace 42" -j LOG --log-prefix "TSDOCTOR-42: "`},
		},
		{
			line: `-A ts-forward -m mark --mark 0x40000/0xff0000 -c 0 0 -j ACCEPT`,
			want: Rule{ChainRef: ChainRef{Chain: "ts-forward"}, Unmodeled: []string{"--mark 0x40000/0xff0000"}, Verdict: Accept,
				Text: `-A ts-forward -m mark --mark 0x40000/0xff0000 -j ACCEPT`},
		},
		{
			line: `-A INPUT -p tcp -j REJECT --reject-with tcp-reset`,
			want: Rule{ChainRef: ChainRef{Chain: "INPUT"}, Protocol: "tcp", Verdict: Reject,
				Text: `-A INPUT -p tcp -j REJECT --reject-with tcp-reset`},
		},
		{
			line: `-A INPUT -s 10.0.0.0/255.0.255.0 -j DROP`,
			want: Rule{ChainRef: ChainRef{Chain: "INPUT"}, Unmodeled: []string{"-s 10.0.0.0/255.0.255.0"}, Verdict: Drop,
				Text: `-A INPUT -s 10.0.0.0/255.0.255.0 -j DROP`},
		},
		{
			line: `-A INPUT -s 10.0.0.0/255.0.0.0 -g other`,
			want: Rule{ChainRef: ChainRef{Chain: "INPUT"}, Source: netip.MustParsePrefix("10.0.0.0/8"), Verdict: Goto, Target: "other",
				Text: `-A INPUT -s 10.0.0.0/255.0.0.0 -g other`},
		},
	}
	for _, c := range cases {
		got, err := ParseIptablesRule(c.line)
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		if !rulesEqual(got, c.want) {
			t.Errorf("ParseIptablesRule(%s)\n got %+v\nwant %+v", c.line, got, c.want)
		}
	}
}

func rulesEqual(a, b Rule) bool {
	ua, ub := a.Unmodeled, b.Unmodeled
	ca, cb := a.CtStates, b.CtStates
	a.Unmodeled, b.Unmodeled, a.CtStates, b.CtStates = nil, nil, nil, nil
	return reflect.DeepEqual(a, b) && slices.Equal(ua, ub) && slices.Equal(ca, cb)
}

func TestParseIptablesRuleErrors(t *testing.T) {
	for _, line := range []string{
		``, `-A`, `-P INPUT ACCEPT`, `-A x -s`, `-A x -s 300.1.1.1 -j DROP`, `-A x -c 1 -j DROP`,
		`-A x --comment "unterminated`, `-A x -c a b -j DROP`, `-A x bare`,
	} {
		if _, err := ParseIptablesRule(line); err == nil {
			t.Errorf("ParseIptablesRule(%q): want error", line)
		}
	}
}

func TestParseIptablesS(t *testing.T) {
	b, err := os.ReadFile("testdata/ts-old-order-legacy.txt")
	if err != nil {
		t.Fatal(err)
	}
	chains, order, err := ParseIptablesS(string(b), IptablesLegacy, "filter")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{"INPUT", "ts-forward", "ts-input", "FORWARD"}) {
		t.Errorf("order = %v", order)
	}
	in := chains["ts-input"]
	if len(in.Rules) != 5 {
		t.Fatalf("ts-input has %d rules", len(in.Rules))
	}
	drop := in.Rules[2]
	if drop.Position != 3 || drop.Verdict != Drop || drop.Packets != 5 || drop.Backend != IptablesLegacy || drop.Table != "filter" {
		t.Errorf("drop rule = %+v", drop)
	}
	if chains["INPUT"].Policy != "ACCEPT" || chains["INPUT"].Packets != 1200 {
		t.Errorf("INPUT = %+v", chains["INPUT"])
	}
	if _, _, err := ParseIptablesS("-A INPUT -j\nwhat is this", IptablesNFT, "filter"); err == nil {
		t.Error("garbage: want error")
	}
}

func FuzzParseIptablesRule(f *testing.F) {
	for _, name := range []string{"testdata/ts-new-order.txt", "testdata/ts-old-order-legacy.txt"} {
		b, _ := os.ReadFile(name)
		f.Add(string(b))
	}
	f.Add(`-A x -m comment --comment "a \" b" -j LOG --log-prefix "p: "`)
	f.Fuzz(func(t *testing.T, s string) {
		chains, _, _ := ParseIptablesS(s, IptablesNFT, "filter")
		for _, c := range chains {
			for _, r := range c.Rules {
				// Whatever we parsed must parse again to the same rule.
				again, err := ParseIptablesRule(r.Text)
				if err != nil {
					t.Fatalf("re-parse of %q (from %q): %v", r.Text, s, err)
				}
				again.ChainRef, again.Position, again.Packets, again.Bytes = r.ChainRef, r.Position, r.Packets, r.Bytes
				if !rulesEqual(again, r) {
					t.Fatalf("round trip of %q:\n got %+v\nwant %+v", r.Text, again, r)
				}
			}
		}
	})
}
