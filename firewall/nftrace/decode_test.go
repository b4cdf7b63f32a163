package nftrace

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/firewall"
)

// readTrace loads recorded NFT_MSG_TRACE bodies (one hex message a line),
// recorded from the lab by `NFTRACE_RECORD=1 go test -run TestLabTrace`.
func readTrace(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".trace"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range strings.Fields(string(b)) {
		m, err := hex.DecodeString(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func decodeAll(t *testing.T, msgs [][]byte) []Event {
	t.Helper()
	var evs []Event
	for _, m := range msgs {
		e, err := Decode(m)
		if err != nil {
			t.Fatalf("decode %x: %v", m, err)
		}
		evs = append(evs, e)
	}
	return evs
}

var allowedVerdicts = []string{"accept", "drop", "jump", "goto", "return", "continue", "queue", "stolen", "policy-accept", "policy-drop"}

// TestDecodeRecorded decodes real kernel trace messages of the lab's four
// DNS replies (UDP and TCP from 100.100.2.136 and .138) and assembles their
// paths, on iptables-nft and native nftables, before and after a whitelist.
func TestDecodeRecorded(t *testing.T) {
	for _, c := range []struct {
		name string
		// want is each path's String() by "proto src".
		want map[string]string
	}{
		{"new-order-drop", map[string]string{
			"udp 100.100.2.136": "INPUT jump ts-input → ts-input DROP",
			"tcp 100.100.2.136": "INPUT jump ts-input → ts-input DROP",
			"udp 100.100.2.138": "INPUT jump ts-input → ts-input DROP",
			"tcp 100.100.2.138": "INPUT jump ts-input → ts-input DROP",
		}},
		{"nftables-drop", map[string]string{
			"udp 100.100.2.136": "INPUT jump ts-input → ts-input DROP",
			"udp 100.100.2.138": "INPUT jump ts-input → ts-input DROP",
		}},
		{"new-order-accept", map[string]string{
			"udp 100.100.2.136": "INPUT jump ts-input → ts-input ACCEPT",
			"udp 100.100.2.138": "INPUT jump ts-input → ts-input DROP",
		}},
		{"nftables-accept", map[string]string{
			"udp 100.100.2.136": "INPUT jump ts-input → ts-input ACCEPT",
			"tcp 100.100.2.138": "INPUT jump ts-input → ts-input DROP",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := decodeAll(t, readTrace(t, c.name))
			for _, e := range evs {
				if !slices.Contains(allowedVerdicts, e.VerdictName()) {
					t.Errorf("event %+v: verdict %q", e, e.VerdictName())
				}
				if e.ID == 0 || e.Family != 2 {
					t.Errorf("event %+v: no trace id or not ip", e)
				}
			}
			paths := Assemble(evs, nil)
			got := map[string]string{}
			for _, p := range paths {
				if !p.Packet.Valid() || p.Packet.SrcPort != 53 || p.Packet.DstPort == 0 {
					t.Errorf("packet %+v not decoded", p.Packet)
				}
				for _, h := range p.Hops {
					if strings.HasPrefix(h.Table, TablePrefix) {
						t.Errorf("tsdoctor's own table in the path: %+v", h)
					}
				}
				k := p.Packet.Proto + " " + p.Packet.Src.String()
				if _, ok := got[k]; !ok { // the first packet of each reply
					got[k] = p.String()
				}
			}
			for k, want := range c.want {
				// Without annotation there are no positions: strip handles.
				if g := stripHandles(got[k]); g != want {
					t.Errorf("%s: path %q, want %q", k, g, want)
				}
			}
		})
	}
}

func stripHandles(s string) string {
	f := strings.Fields(s)
	var out []string
	for i := 0; i < len(f); i++ {
		if f[i] == "handle" {
			i++
			continue
		}
		out = append(out, f[i])
	}
	return strings.Join(out, " ")
}

// TestAnnotate maps the recorded handles to positions and to the rule text
// tsdoctor read: iptables -S form for iptables-nft.
func TestAnnotate(t *testing.T) {
	evs := decodeAll(t, readTrace(t, "new-order-drop"))
	paths := Assemble(evs, nil)
	if len(paths) == 0 {
		t.Fatal("no paths")
	}
	p := paths[0]
	jump, drop := p.Hops[0], p.Hops[p.Final()]
	ref := firewall.ChainRef{Backend: firewall.IptablesNFT, Family: firewall.IPv4, Table: "filter"}
	in, ts := ref, ref
	in.Chain, ts.Chain = "INPUT", "ts-input"
	snap := &firewall.Snapshot{Backends: []firewall.BackendState{{Backend: firewall.IptablesNFT, Chains: []firewall.Chain{
		{ChainRef: in, Hook: "input", Policy: "ACCEPT", Rules: []firewall.Rule{{ChainRef: in, Position: 1, Verdict: firewall.Jump, Target: "ts-input", Text: "-A INPUT -j ts-input"}}},
		{ChainRef: ts, Rules: []firewall.Rule{
			{ChainRef: ts, Position: 1, Text: "-A ts-input -i lo -s 100.64.0.1/32 -j ACCEPT"},
			{ChainRef: ts, Position: 2, Text: "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP", Verdict: firewall.Drop},
		}},
	}}}}
	lists := map[string][]uint64{"INPUT": {jump.Handle}, "ts-input": {drop.Handle - 1, drop.Handle}}
	Annotate(paths, snap, func(f firewall.Family, table, chain string) ([]uint64, error) {
		if f != firewall.IPv4 || table != "filter" {
			t.Errorf("listed %s %s", f, table)
		}
		return lists[chain], nil
	})
	p = paths[0]
	if got, want := p.String(), "INPUT #1 jump ts-input → ts-input #2 DROP"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
	h := p.Hops[p.Final()]
	if h.Rule != "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP" || h.Backend != firewall.IptablesNFT || h.Position != 2 {
		t.Errorf("final hop %+v", h)
	}
}

func TestLabel(t *testing.T) {
	for _, c := range []struct {
		h    Hop
		want string
	}{
		{Hop{Chain: "INPUT", Position: 1, Verdict: "jump", Target: "ts-input"}, "INPUT #1 jump ts-input"},
		{Hop{Chain: "ts-input", Position: 5, Verdict: "drop"}, "ts-input #5 DROP"},
		{Hop{Chain: "ts-input", Position: 1, Verdict: "accept", Comment: "tsdoctor-whitelist"}, "ts-input #1 ACCEPT tsdoctor-whitelist"},
		{Hop{Chain: "PREROUTING", Verdict: "policy-accept"}, "PREROUTING policy ACCEPT"},
		{Hop{Chain: "ts-input", Verdict: "return"}, "ts-input return"},
		{Hop{Chain: "raw", Handle: 7, Verdict: "continue"}, "raw handle 7 continue"},
	} {
		if got := c.h.Label(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.h, got, c.want)
		}
	}
	p := Path{Hops: []Hop{{Chain: "INPUT", Position: 1, Verdict: "jump", Target: "ts-input"}, {Chain: "ts-input", Position: 2, Verdict: "continue"}, {Chain: "ts-input", Verdict: "return"}, {Chain: "INPUT", Verdict: "policy-accept"}}}
	if p.Verdict() != "accept" || p.Final() != 3 || p.String() != "INPUT #1 jump ts-input → ts-input return → INPUT policy ACCEPT" {
		t.Errorf("%q verdict %s final %d", p, p.Verdict(), p.Final())
	}
	if (Path{Hops: []Hop{{Chain: "INPUT", Verdict: "jump"}}}).Verdict() != "unknown" {
		t.Error("a path without a final verdict must be unknown")
	}
}

// A chain's end comes as a rule event without a handle (seen with the real
// tailscaled's empty mangle PREROUTING, and ts-input when nothing matched):
// a base chain's policy event replaces it; a regular chain returns.
func TestAssembleChainEnd(t *testing.T) {
	pkt := Packet{Src: labServers[0].Addr(), SrcPort: 53, Dst: labServers[1].Addr(), DstPort: 4000, Proto: "udp"}
	evs := []Event{
		{ID: 1, Family: 2, Table: "mangle", Chain: "PREROUTING", Type: 3, Verdict: -1, HasVerdict: true, Packet: pkt},
		{ID: 1, Family: 2, Table: "mangle", Chain: "PREROUTING", Type: 1, Policy: 1, HasPolicy: true},
		{ID: 1, Family: 2, Table: "filter", Chain: "INPUT", Handle: 4, Type: 3, Verdict: -3, HasVerdict: true, Target: "ts-input", Packet: pkt},
		{ID: 1, Family: 2, Table: "filter", Chain: "ts-input", Type: 3, Verdict: -1, HasVerdict: true},
		{ID: 1, Family: 2, Table: "filter", Chain: "INPUT", Type: 1, Policy: 1, HasPolicy: true},
	}
	p := Assemble(evs, nil)
	if len(p) != 1 || p[0].String() != "PREROUTING policy ACCEPT → INPUT handle 4 jump ts-input → ts-input return → INPUT policy ACCEPT" || p[0].Packet != pkt {
		t.Errorf("%+v", p)
	}
}

// Two packets of one TCP connection can share a trace id (it hashes the
// skb's address and flow): their different headers make two paths.
func TestAssembleSplitsSharedTraceID(t *testing.T) {
	evs := decodeAll(t, readTrace(t, "new-order-accept"))
	var tcp []Event
	for _, e := range evs {
		if e.Packet.Proto == "tcp" || (len(tcp) > 0 && e.ID == tcp[0].ID && !e.Packet.Valid()) {
			tcp = append(tcp, e)
		}
	}
	if len(tcp) < 2 {
		t.Fatal("no TCP events recorded")
	}
	one := len(Assemble(tcp, nil))
	// The same events again under the first one's id, as the kernel can.
	for i := range tcp {
		tcp[i].ID = tcp[0].ID
	}
	if got := len(Assemble(tcp, nil)); got != one {
		t.Errorf("%d paths from %d packets sharing one trace id", got, one)
	}
}

func TestDecodeBad(t *testing.T) {
	for _, b := range [][]byte{nil, {2, 0}, {2, 0, 0, 0, 5, 0}, {2, 0, 0, 0, 4, 0, 1, 0}} {
		if _, err := Decode(b); err == nil {
			t.Errorf("Decode(%x): no error", b)
		}
	}
}

// FuzzDecode: any message decodes to an error or to an event that assembles
// into a path, never a panic.
func FuzzDecode(f *testing.F) {
	for _, n := range []string{"new-order-drop", "nftables-accept"} {
		for _, m := range readTrace(f, n) {
			f.Add(m)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		if e.Table == "" || e.Chain == "" {
			t.Fatalf("decoded without table or chain: %+v", e)
		}
		if !slices.Contains(allowedVerdicts, e.VerdictName()) {
			t.Fatalf("verdict %q", e.VerdictName())
		}
		for _, p := range Assemble([]Event{e}, nil) {
			_ = p.String()
			p.Final()
		}
	})
}
