package firewall

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// tailscaled's native nftables rules (v1.102.3, nftables mode).
const nftTailscaleRules = `
add table ip filter
add chain ip filter INPUT { type filter hook input priority filter; policy accept; }
add chain ip filter ts-input
add rule ip filter INPUT counter jump ts-input
add rule ip filter ts-input iifname "lo*" ip saddr 100.64.0.1 counter accept
add rule ip filter ts-input iifname "tailscale0*" counter accept
add rule ip filter ts-input udp dport 35018 counter accept
add rule ip filter ts-input iifname != "tailscale0*" ip saddr 100.115.92.0/23 counter return
add rule ip filter ts-input iifname != "tailscale0*" ip saddr 100.64.0.0/10 counter drop
`

var (
	nftRefInput   = ChainRef{Backend: NFTables, Family: IPv4, Table: "filter", Chain: "INPUT"}
	nftRefTSInput = ChainRef{Backend: NFTables, Family: IPv4, Table: "filter", Chain: "ts-input"}
)

// nftNetns creates a network namespace for one test and deletes it when the
// test ends. Nothing here ever touches the host's own firewall.
func nftNetns(t testing.TB) (name string, fd int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name = "tsdnft-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add %s failed (%v): %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	f, err := os.Open("/var/run/netns/" + name)
	if err != nil {
		t.Fatalf("open netns: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return name, int(f.Fd())
}

// nftIn runs a command inside namespace ns.
func nftIn(t testing.TB, ns string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func nftNeedTool(t testing.TB, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("no %s command", tool)
	}
}

// nftTailscaleNS is a fresh namespace holding tailscaled's rules.
func nftTailscaleNS(t testing.TB) (string, *NFTablesBackend) {
	t.Helper()
	nftNeedTool(t, "nft")
	ns, fd := nftNetns(t)
	nftIn(t, ns, nftTailscaleRules, "nft", "-f", "-")
	return ns, NewNFTables(fd)
}

func nftChainNamed(st BackendState, name string) *Chain {
	for i := range st.Chains {
		if st.Chains[i].Chain == name {
			return &st.Chains[i]
		}
	}
	return nil
}

// nftFields is what a rule does, for comparing against expectations.
type nftFields struct {
	Pos            int
	Source         string
	SourceNegated  bool
	InIface        string
	InIfaceNegated bool
	Protocol       string
	SrcPort        uint16
	DstPort        uint16
	CtStates       string
	Comment        string
	Verdict        Verdict
	Target         string
	LogPrefix      string
	Unmodeled      string
}

func nftFieldsOf(r Rule) nftFields {
	f := nftFields{
		Pos: r.Position, InIface: r.InIface, InIfaceNegated: r.InIfaceNegated,
		SourceNegated: r.SourceNegated, Protocol: r.Protocol, SrcPort: r.SrcPort, DstPort: r.DstPort,
		CtStates: strings.Join(r.CtStates, ","), Comment: r.Comment, Verdict: r.Verdict,
		Target: r.Target, LogPrefix: r.LogPrefix, Unmodeled: strings.Join(r.Unmodeled, "|"),
	}
	if r.Source.IsValid() {
		f.Source = r.Source.String()
	}
	return f
}

func TestNFTInputPathTailscale(t *testing.T) {
	_, nb := nftTailscaleNS(t)
	st := nb.InputPath(context.Background())
	if st.Err != "" {
		t.Fatalf("Err: %s", st.Err)
	}
	if st.Backend != NFTables || !st.Present || !st.Tailscale {
		t.Errorf("Backend=%s Present=%v Tailscale=%v", st.Backend, st.Present, st.Tailscale)
	}
	var names []string
	for _, c := range st.Chains {
		names = append(names, c.Chain)
	}
	if !slices.Equal(names, []string{"INPUT", "ts-input"}) {
		t.Fatalf("chains = %v", names)
	}
	in := st.Chains[0]
	if in.ChainRef != nftRefInput || in.Hook != "input" || in.Policy != "ACCEPT" {
		t.Errorf("INPUT = %+v hook %q policy %q", in.ChainRef, in.Hook, in.Policy)
	}
	ts := st.Chains[1]
	if ts.ChainRef != nftRefTSInput || ts.Hook != "" || ts.Policy != "" {
		t.Errorf("ts-input = %+v hook %q policy %q", ts.ChainRef, ts.Hook, ts.Policy)
	}
	if len(in.Rules) != 1 || nftFieldsOf(in.Rules[0]) != (nftFields{Pos: 1, Verdict: Jump, Target: "ts-input"}) {
		t.Errorf("INPUT rules = %+v", in.Rules)
	}
	want := []nftFields{
		{Pos: 1, InIface: "lo+", Source: "100.64.0.1/32", Verdict: Accept},
		{Pos: 2, InIface: "tailscale0+", Verdict: Accept},
		{Pos: 3, Protocol: "udp", DstPort: 35018, Verdict: Accept},
		{Pos: 4, InIface: "tailscale0+", InIfaceNegated: true, Source: "100.115.92.0/23", Verdict: Return},
		{Pos: 5, InIface: "tailscale0+", InIfaceNegated: true, Source: "100.64.0.0/10", Verdict: Drop},
	}
	if len(ts.Rules) != len(want) {
		t.Fatalf("ts-input has %d rules, want %d", len(ts.Rules), len(want))
	}
	for i, r := range ts.Rules {
		if got := nftFieldsOf(r); got != want[i] {
			t.Errorf("rule %d:\n got %+v\nwant %+v", i+1, got, want[i])
		}
		if r.ChainRef != nftRefTSInput || r.Handle == 0 || r.Packets != 0 {
			t.Errorf("rule %d: ref %v handle %d packets %d", i+1, r.ChainRef, r.Handle, r.Packets)
		}
	}
}

// nftListed returns the rules of `nft list chain`, whitespace-normalised.
func nftListed(t testing.TB, ns, table, chain string) []string {
	t.Helper()
	out := nftIn(t, ns, "", "nft", "list", "chain", "ip", table, chain)
	var rules []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" || l == "}" || strings.HasPrefix(l, "table ") || strings.HasPrefix(l, "chain ") ||
			strings.HasPrefix(l, "type ") || strings.HasPrefix(l, "#") {
			continue
		}
		rules = append(rules, l)
	}
	return rules
}

func nftTexts(c Chain) []string {
	var s []string
	for _, r := range c.Rules {
		s = append(s, strings.Join(strings.Fields(r.Text), " "))
	}
	return s
}

func TestNFTTextMatchesNFT(t *testing.T) {
	ns, nb := nftTailscaleNS(t)
	// More of what the decoder knows, in a chain of its own.
	nftIn(t, ns, `
add table ip extra
add chain ip extra x
add chain ip extra x2
add rule ip extra x iifname "eth0" ct state established,related counter accept
add rule ip extra x ip protocol tcp tcp sport 53 reject
add rule ip extra x meta l4proto udp reject with icmp host-unreachable
add rule ip extra x ip saddr != 10.0.0.0/8 ip daddr 192.168.1.1 tcp dport 22 drop
add rule ip extra x ip saddr 100.64.0.0/10 limit rate 20/second counter log prefix "TSDOCTOR-x: " comment "tsdoctor-trace test"
add rule ip extra x ct state new limit rate 3/minute burst 7 packets log level info
add rule ip extra x oifname "wg*" meta mark 0x00000001 goto x2
add rule ip extra x fib daddr type local ip saddr { 1.2.3.4, 5.6.7.8 } continue
`, "nft", "-f", "-")
	st := nb.InputPath(context.Background())
	if st.Err != "" {
		t.Fatalf("Err: %s", st.Err)
	}
	for _, name := range []string{"INPUT", "ts-input"} {
		c := nftChainNamed(st, name)
		if c == nil {
			t.Fatalf("no chain %s", name)
		}
		got, want := nftTexts(*c), nftListed(t, ns, "filter", name)
		if !slices.Equal(got, want) {
			t.Errorf("%s text:\n got %q\nwant %q", name, got, want)
		}
	}
	x, err := nb.Chain(context.Background(), ChainRef{Backend: NFTables, Family: IPv4, Table: "extra", Chain: "x"})
	if err != nil {
		t.Fatal(err)
	}
	got, want := nftTexts(x), nftListed(t, ns, "extra", "x")
	if len(got) != len(want) {
		t.Fatalf("extra x: got %q want %q", got, want)
	}
	for i := range got {
		// nft prints anonymous sets inline; we name them.
		if strings.Contains(want[i], "{") {
			if !strings.Contains(got[i], "ip saddr @__set") {
				t.Errorf("extra x rule %d: got %q, want a set lookup", i+1, got[i])
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("extra x rule %d:\n got %q\nwant %q", i+1, got[i], want[i])
		}
	}
}

func TestNFTCounters(t *testing.T) {
	ns, nb := nftTailscaleNS(t)
	peer, _ := nftNetns(t)
	for _, args := range [][]string{
		{"-n", ns, "link", "add", "tsv0", "type", "veth", "peer", "name", "tsv1", "netns", peer},
		{"-n", ns, "addr", "add", "100.100.2.1/24", "dev", "tsv0"},
		{"-n", ns, "link", "set", "tsv0", "up"},
		{"-n", peer, "addr", "add", "100.100.2.136/24", "dev", "tsv1"},
		{"-n", peer, "link", "set", "tsv1", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ctx := context.Background()
	drops := func() Rule {
		c, err := nb.Chain(ctx, nftRefTSInput)
		if err != nil {
			t.Fatal(err)
		}
		r := c.Rules[len(c.Rules)-1]
		if r.Verdict != Drop {
			t.Fatalf("last rule is %q", r.Text)
		}
		return r
	}
	if r := drops(); r.Packets != 0 {
		t.Fatalf("before: %d packets", r.Packets)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		// From 100.100.2.136 (in 100.64.0.0/10, not on tailscale0): dropped.
		nftIn(t, peer, "", "bash", "-c", "echo tsdoctor >/dev/udp/100.100.2.1/9")
		time.Sleep(100 * time.Millisecond)
		r := drops()
		if r.Packets >= 1 {
			if r.Bytes == 0 || !strings.Contains(r.Text, fmt.Sprintf("counter packets %d bytes %d", r.Packets, r.Bytes)) {
				t.Errorf("bytes %d, text %q", r.Bytes, r.Text)
			}
			t.Logf("DROP rule: %s", r.Text)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DROP rule counter stayed at 0: %s", r.Text)
		}
	}
}

// nftBigRules is n rules in a table no input chain reaches.
func nftBigRules(n int) string {
	var b bytes.Buffer
	b.WriteString("table ip kube {\n\tchain big {\n")
	for i := range n {
		fmt.Fprintf(&b, "\t\tip saddr 10.%d.%d.%d tcp dport %d counter accept\n", i>>16&0xff, i>>8&0xff, i&0xff, 1+i%60000)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func TestNFTInputPathIgnores100kUnrelatedRules(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100k rules")
	}
	ns, nb := nftTailscaleNS(t)
	start := time.Now()
	nftIn(t, ns, nftBigRules(100000), "nft", "-f", "-")
	t.Logf("loaded 100k rules in %v", time.Since(start))
	start = time.Now()
	st := nb.InputPath(context.Background())
	t.Logf("InputPath took %v", time.Since(start))
	if st.Err != "" {
		t.Fatal(st.Err)
	}
	n := 0
	for _, c := range st.Chains {
		if c.Table != "filter" {
			t.Errorf("unexpected chain %v", c.ChainRef)
		}
		n += len(c.Rules)
	}
	if len(st.Chains) != 2 || n != 6 {
		t.Errorf("got %d chains, %d rules; want 2, 6", len(st.Chains), n)
	}
}

func TestNFTInputPathFollowsJumps(t *testing.T) {
	nftNeedTool(t, "nft")
	ns, fd := nftNetns(t)
	nftIn(t, ns, `
add table inet fw
add chain inet fw in { type filter hook input priority -10; policy drop; }
add chain inet fw fw-forward { type filter hook forward priority 0; }
add chain inet fw a
add chain inet fw b
add chain inet fw c
add chain inet fw unused
add rule inet fw in jump a
add rule inet fw in ip saddr vmap { 1.2.3.4 : jump c, 1.2.3.5 : drop }
add rule inet fw in jump a
add rule inet fw a goto b
add rule inet fw fw-forward jump unused
add table ip6 v6
add chain ip6 v6 in { type filter hook input priority 0; }
add table ip late
add chain ip late in { type filter hook input priority 10; }
add chain ip late ts-x
`, "nft", "-f", "-")
	st := NewNFTables(fd).InputPath(context.Background())
	if st.Err != "" {
		t.Fatal(st.Err)
	}
	var got []string
	for _, c := range st.Chains {
		got = append(got, fmt.Sprintf("%s/%s/%s:%s:%s", c.Family, c.Table, c.Chain, c.Hook, c.Policy))
	}
	want := []string{"inet/fw/in:input:DROP", "inet/fw/a::", "inet/fw/b::", "inet/fw/c::", "ipv4/late/in:input:ACCEPT"}
	if !slices.Equal(got, want) {
		t.Errorf("chains\n got %v\nwant %v", got, want)
	}
	if !st.Tailscale {
		t.Error("Tailscale = false, but ip late has ts-x")
	}
	if in := nftChainNamed(st, "in"); in == nil || len(in.Rules[1].Unmodeled) == 0 {
		t.Errorf("vmap rule should be unmodeled: %+v", in)
	}
}

func TestNFTEmptyNamespace(t *testing.T) {
	_, fd := nftNetns(t)
	st := NewNFTables(fd).InputPath(context.Background())
	if st.Err != "" || st.Present || st.Tailscale || len(st.Chains) != 0 {
		t.Errorf("empty namespace: %+v", st)
	}
	if _, err := NewNFTables(fd).Chain(context.Background(), nftRefInput); err == nil {
		t.Error("Chain of a missing chain: no error")
	}
}

func TestNFTInsertDeleteLog(t *testing.T) {
	ns, nb := nftTailscaleNS(t)
	ctx := context.Background()
	spec := Spec{
		Source:         netip.MustParsePrefix("100.64.0.0/10"),
		LimitPerSecond: 20,
		Comment:        "tsdoctor-trace test",
		LogPrefix:      "TSDOCTOR-x: ",
		Verdict:        Continue,
	}
	if err := nb.Insert(ctx, nftRefInput, 1, spec); err != nil {
		t.Fatal(err)
	}
	listed := nftListed(t, ns, "filter", "INPUT")
	wantTop := `ip saddr 100.64.0.0/10 limit rate 20/second counter packets 0 bytes 0 log prefix "TSDOCTOR-x: " comment "tsdoctor-trace test"`
	if len(listed) != 2 || listed[0] != wantTop {
		t.Fatalf("after insert, nft lists %q", listed)
	}
	c, err := nb.Chain(ctx, nftRefInput)
	if err != nil {
		t.Fatal(err)
	}
	if got := nftFieldsOf(c.Rules[0]); got != (nftFields{Pos: 1, Source: "100.64.0.0/10", Comment: spec.Comment,
		Target: "LOG", LogPrefix: spec.LogPrefix, Unmodeled: "limit rate 20/second"}) {
		t.Errorf("decoded %+v", got)
	}
	if c.Rules[0].Text != wantTop {
		t.Errorf("Text %q", c.Rules[0].Text)
	}
	if err := nb.Delete(ctx, nftRefInput, spec); err != nil {
		t.Fatal(err)
	}
	if listed := nftListed(t, ns, "filter", "INPUT"); len(listed) != 1 || strings.Contains(listed[0], "TSDOCTOR") {
		t.Fatalf("after delete, nft lists %q", listed)
	}
}

func TestNFTInsertDeleteAccept(t *testing.T) {
	ns, nb := nftTailscaleNS(t)
	ctx := context.Background()
	spec := Spec{
		Source:   netip.MustParsePrefix("100.100.2.136/32"),
		Protocol: "udp",
		SrcPort:  53,
		Verdict:  Accept,
	}
	before := nftListed(t, ns, "filter", "ts-input")
	if err := nb.Insert(ctx, nftRefTSInput, 1, spec); err != nil {
		t.Fatal(err)
	}
	c, err := nb.Chain(ctx, nftRefTSInput)
	if err != nil {
		t.Fatal(err)
	}
	want := nftFields{Pos: 1, Source: "100.100.2.136/32", Protocol: "udp", SrcPort: 53, Verdict: Accept}
	if got := nftFieldsOf(c.Rules[0]); got != want || len(c.Rules) != 6 {
		t.Errorf("decoded %+v (of %d rules), want %+v", got, len(c.Rules), want)
	}
	if l := nftListed(t, ns, "filter", "ts-input"); l[0] != "ip saddr 100.100.2.136 udp sport 53 counter packets 0 bytes 0 accept" {
		t.Errorf("nft lists %q", l[0])
	}

	// Position 3 goes between the current rules 2 and 3; 0 appends.
	mid := Spec{InIface: "eth0", Protocol: "tcp", CtStates: []string{"RELATED", "ESTABLISHED"}, Verdict: Accept, Comment: "mid"}
	if err := nb.Insert(ctx, nftRefTSInput, 3, mid); err != nil {
		t.Fatal(err)
	}
	last := Spec{InIface: "eth+", InIfaceNegated: true, Verdict: Reject}
	if err := nb.Insert(ctx, nftRefTSInput, 0, last); err != nil {
		t.Fatal(err)
	}
	if err := nb.Insert(ctx, nftRefTSInput, 10, last); err == nil {
		t.Error("insert at 10 of 8 rules: no error")
	}
	c, err = nb.Chain(ctx, nftRefTSInput)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) != 8 {
		t.Fatalf("%d rules: %v", len(c.Rules), nftTexts(c))
	}
	if got := nftFieldsOf(c.Rules[2]); got != (nftFields{Pos: 3, InIface: "eth0", Protocol: "tcp",
		CtStates: "ESTABLISHED,RELATED", Verdict: Accept, Comment: "mid"}) {
		t.Errorf("rule 3: %+v", got)
	}
	if got := nftFieldsOf(c.Rules[7]); got != (nftFields{Pos: 8, InIface: "eth+", InIfaceNegated: true, Verdict: Reject}) {
		t.Errorf("rule 8: %+v", got)
	}
	if got, want := nftTexts(c), nftListed(t, ns, "filter", "ts-input"); !slices.Equal(got, want) {
		t.Errorf("text\n got %q\nwant %q", got, want)
	}

	for _, s := range []Spec{spec, spec, mid, last} {
		if err := nb.Delete(ctx, nftRefTSInput, s); err != nil {
			t.Fatal(err)
		}
	}
	if after := nftListed(t, ns, "filter", "ts-input"); !slices.Equal(after, before) {
		t.Errorf("after deletes\n got %q\nwant %q", after, before)
	}
}

func TestNFTWriteErrors(t *testing.T) {
	_, nb := nftTailscaleNS(t)
	ctx := context.Background()
	ok := Spec{Verdict: Accept}
	for name, tc := range map[string]struct {
		ref  ChainRef
		pos  int
		spec Spec
	}{
		"missing chain":  {ChainRef{Backend: NFTables, Family: IPv4, Table: "filter", Chain: "nope"}, 1, ok},
		"other backend":  {ChainRef{Backend: IptablesNFT, Family: IPv4, Table: "filter", Chain: "INPUT"}, 1, ok},
		"negative pos":   {nftRefInput, -1, ok},
		"jump verdict":   {nftRefInput, 1, Spec{Verdict: Jump}},
		"port, no proto": {nftRefInput, 1, Spec{SrcPort: 53, Verdict: Accept}},
		"ipv6 source":    {nftRefInput, 1, Spec{Source: netip.MustParsePrefix("::1/128"), Verdict: Accept}},
		"bad ct state":   {nftRefInput, 1, Spec{CtStates: []string{"BOGUS"}, Verdict: Accept}},
	} {
		if err := nb.Insert(ctx, tc.ref, tc.pos, tc.spec); err == nil {
			t.Errorf("%s: Insert: no error", name)
		}
	}
	if err := nb.Delete(ctx, ChainRef{Backend: NFTables, Family: IPv4, Table: "filter", Chain: "nope"}, ok); err == nil {
		t.Error("Delete from missing chain: no error")
	}
	if err := nb.Delete(ctx, nftRefInput, ok); err != nil {
		t.Errorf("Delete of an absent rule: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if st := nb.InputPath(cctx); st.Err == "" {
		t.Error("InputPath with a cancelled context: no error")
	}
}

func TestNFTIptablesNFTRule(t *testing.T) {
	nftNeedTool(t, "iptables-nft")
	ns, fd := nftNetns(t)
	nftIn(t, ns, "", "iptables-nft", "-A", "INPUT", "-s", "100.64.0.0/10", "-m", "conntrack", "--ctstate", "ESTABLISHED",
		"-m", "comment", "--comment", "hi", "-j", "ACCEPT")
	nftIn(t, ns, "", "iptables-nft", "-A", "INPUT", "-i", "eth+", "-p", "udp", "--sport", "53",
		"-m", "limit", "--limit", "20/sec", "-j", "LOG", "--log-prefix", "LP: ")
	nftIn(t, ns, "", "iptables-nft", "-A", "INPUT", "-p", "tcp", "-m", "multiport", "--dports", "1,2", "-j", "REJECT")
	st := NewNFTables(fd).InputPath(context.Background())
	if st.Err != "" {
		t.Fatal(st.Err)
	}
	in := nftChainNamed(st, "INPUT")
	if in == nil || len(st.Chains) != 1 || len(in.Rules) != 3 {
		t.Fatalf("chains %+v", st.Chains)
	}
	for _, r := range in.Rules {
		t.Logf("%d: %s  unmodeled=%q", r.Position, r.Text, r.Unmodeled)
		if r.Text == "" {
			t.Errorf("rule %d has no text", r.Position)
		}
	}
	if got := nftFieldsOf(in.Rules[0]); got != (nftFields{Pos: 1, Source: "100.64.0.0/10", CtStates: "ESTABLISHED",
		Comment: "hi", Verdict: Accept}) {
		t.Errorf("rule 1: %+v", got)
	}
	if got := nftFieldsOf(in.Rules[1]); got != (nftFields{Pos: 2, InIface: "eth+", Protocol: "udp", SrcPort: 53,
		Target: "LOG", LogPrefix: "LP: ", Unmodeled: "limit rate 20/second"}) {
		t.Errorf("rule 2: %+v", got)
	}
	if got := nftFieldsOf(in.Rules[2]); got != (nftFields{Pos: 3, Protocol: "tcp", Verdict: Reject, Unmodeled: "xt:multiport"}) {
		t.Errorf("rule 3: %+v", got)
	}
}

func BenchmarkNFTInputPath(b *testing.B) {
	_, nb := nftTailscaleNS(b)
	nftBenchInputPath(b, nb, 2)
}

func BenchmarkNFTInputPath100k(b *testing.B) {
	ns, nb := nftTailscaleNS(b)
	nftIn(b, ns, nftBigRules(100000), "nft", "-f", "-")
	nftBenchInputPath(b, nb, 2)
}

func nftBenchInputPath(b *testing.B, nb *NFTablesBackend, chains int) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		st := nb.InputPath(ctx)
		if st.Err != "" || len(st.Chains) != chains {
			b.Fatalf("%d chains, err %q", len(st.Chains), st.Err)
		}
	}
}
