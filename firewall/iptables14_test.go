package firewall

import (
	"encoding/binary"
	"net/netip"
	"os"
	"slices"
	"testing"
)

// snapshotOf reads an `iptables -v -S` fixture of the whole filter table
// into a legacy snapshot, as the CLI reader files it (INPUT on the hook).
func snapshotOf(t *testing.T, file string) *Snapshot {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	chains, order, err := ParseIptablesS(string(b), IptablesLegacy, "filter")
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	st := BackendState{Backend: IptablesLegacy, Present: true}
	for _, name := range order {
		pc := chains[name]
		c := Chain{ChainRef: ChainRef{Backend: IptablesLegacy, Family: IPv4, Table: "filter", Chain: name}, Policy: pc.Policy, Rules: pc.Rules}
		if name == "INPUT" {
			c.Hook = "input"
		}
		st.Chains = append(st.Chains, c)
	}
	return &Snapshot{Backends: []BackendState{st}}
}

// TestParseIptables14: iptables 1.4.21 (CentOS/RHEL 7, Alibaba Cloud Linux
// 2) prints `-m state --state` where 1.8 hosts use conntrack, quotes a
// comment only when it holds more than [A-Za-z0-9_-] and escapes ' inside,
// and puts the counters of `-v -S` before the target. Both shapes of a
// CentOS 7 INPUT chain (iptables-services, firewalld's iptables backend)
// parse, and the VPC DNS reply meets tailscaled's DROP first.
func TestParseIptables14(t *testing.T) {
	s := snapshotOf(t, "testdata/centos7-iptables-services-1.4.21.txt")
	in := s.Chain(ChainRef{Backend: IptablesLegacy, Family: IPv4, Table: "filter", Chain: "INPUT"})
	if in == nil || len(in.Rules) != 7 || in.Policy != "ACCEPT" {
		t.Fatalf("INPUT = %+v", in)
	}
	if st := in.Rules[1]; !slices.Equal(st.CtStates, []string{"RELATED", "ESTABLISHED"}) || st.Verdict != Accept || st.Packets != 1850 || len(st.Unmodeled) != 0 {
		t.Errorf("-m state rule = %+v", st)
	}
	if c := in.Rules[5]; c.Comment != "node_exporter: ops's scrape" || c.DstPort != 9100 || c.Source != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("quoted comment rule = %+v", c)
	}
	if last := in.Rules[6]; last.Verdict != Reject || last.Packets != 41 || last.Text != "-A INPUT -j REJECT --reject-with icmp-host-prohibited" {
		t.Errorf("final REJECT = %+v", last)
	}
	ts := s.Chain(ChainRef{Backend: IptablesLegacy, Family: IPv4, Table: "filter", Chain: "ts-input"})
	if ts == nil || ts.Rules[0].Comment != "tsdoctor-whitelist" || ts.Rules[3].Verdict != Drop || ts.Rules[3].Packets != 37 {
		t.Fatalf("ts-input = %+v", ts)
	}
	reply := Packet{Src: netip.MustParseAddr("100.100.2.138"), InIface: "eth0", Protocol: "udp", SrcPort: 53, CtState: "ESTABLISHED"}
	if d := s.Evaluate(reply); !d.Dropped || d.Rule == nil || d.Rule.Chain != "ts-input" || d.Rule.Position != 4 {
		t.Errorf("reply of .138: %+v, want dropped by ts-input #4", d)
	}
	reply.Src = netip.MustParseAddr("100.100.2.136")
	if d := s.Evaluate(reply); d.Dropped {
		t.Errorf("reply of .136 passes the whitelist, got %+v", d)
	}

	fw := snapshotOf(t, "testdata/centos7-firewalld-1.4.21.txt")
	if d := fw.Evaluate(Packet{Src: netip.MustParseAddr("100.100.2.136"), InIface: "eth0", Protocol: "udp", SrcPort: 53, CtState: "ESTABLISHED"}); !d.Dropped || d.Rule == nil || d.Rule.Chain != "ts-input" {
		t.Errorf("firewalld host: %+v, want dropped in ts-input", d)
	}
	// fail2ban's firewalld action: an ipset match whose option has two values.
	f2b := fw.Chain(ChainRef{Backend: IptablesLegacy, Family: IPv4, Table: "filter", Chain: "INPUT_direct"})
	if f2b == nil || len(f2b.Rules) != 1 || !slices.Equal(f2b.Rules[0].Unmodeled, []string{"--dports 22", "--match-set f2b-sshd src"}) || f2b.Rules[0].Verdict != Reject {
		t.Errorf("INPUT_direct = %+v", f2b)
	}
	// SSH from the LAN reaches firewalld's zone through a goto.
	if d := fw.Evaluate(Packet{Src: netip.MustParseAddr("10.0.0.5"), InIface: "eth0", Protocol: "tcp", DstPort: 22, CtState: "NEW"}); d.Dropped {
		t.Errorf("SSH via IN_public_allow: %+v", d)
	}
}

// TestDeniesByDefault: policy DROP, and a final catch-all DROP or REJECT
// under policy ACCEPT (CentOS 7's iptables-services and firewalld), deny by
// default; a final REJECT that matches only some packets does not.
func TestDeniesByDefault(t *testing.T) {
	for file, want := range map[string]bool{
		"testdata/centos7-iptables-services-1.4.21.txt": true,
		"testdata/centos7-firewalld-1.4.21.txt":         true,
		"testdata/ts-old-order-legacy.txt":              false,
	} {
		if got := snapshotOf(t, file).InputDeniesByDefault(); got != want {
			t.Errorf("%s: %v, want %v", file, got, want)
		}
	}
	rule := func(line string) Rule {
		r, err := ParseIptablesRule(line)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, c := range []struct {
		policy, last string
		want         bool
	}{
		{"DROP", "", true},
		{"drop", "-A INPUT -i lo -j ACCEPT", true}, // nft prints it lower-case
		{"ACCEPT", "", false},
		{"ACCEPT", "-A INPUT -j DROP", true},
		{"ACCEPT", "-A INPUT -p all -j REJECT --reject-with icmp-port-unreachable", true},
		{"ACCEPT", "-A INPUT -p tcp -j REJECT --reject-with tcp-reset", false},
		{"ACCEPT", "-A INPUT -m conntrack --ctstate INVALID -j DROP", false},
		{"ACCEPT", "-A INPUT -m set --match-set blocklist src -j DROP", false},
		{"ACCEPT", "-A INPUT -j LOG", false},
	} {
		ch := Chain{Hook: "input", Policy: c.policy}
		if c.last != "" {
			ch.Rules = []Rule{rule(c.last)}
		}
		if got := ch.DeniesByDefault(); got != c.want {
			t.Errorf("policy %s, last %q: %v, want %v", c.policy, c.last, got, c.want)
		}
	}
}

// TestRenderStateRev0: the real `state` match (revision 0, struct
// xt_state_info: one statemask) that iptables before the conntrack alias
// writes, CentOS 7's 1.4.21 among them; iptables 1.8 writes `-m state` as
// conntrack, which TestLegacyRawMatchesCLI compares with the real CLI.
func TestRenderStateRev0(t *testing.T) {
	for mask, want := range map[uint32]string{
		2 | 4:  " -m state --state RELATED,ESTABLISHED",
		8:      " -m state --state NEW",
		1 | 64: " -m state --state INVALID,UNTRACKED",
	} {
		d := binary.NativeEndian.AppendUint32(nil, mask)
		if got, ok := renderMatch("state", 0, append(d, 0, 0, 0, 0)); !ok || got != want {
			t.Errorf("mask %#x: %q %v, want %q", mask, got, ok, want)
		}
	}
	for _, mask := range []uint32{0, 256, 1 << 20} {
		if got, ok := renderMatch("state", 0, binary.NativeEndian.AppendUint32(nil, mask)); ok {
			t.Errorf("mask %#x rendered as %q: want it left to the iptables command", mask, got)
		}
	}
}
