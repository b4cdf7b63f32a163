package checks

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/netprobe"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// fakeFW is one iptables-like backend whose DROP counters move when the
// fake prober "sends" to an address the rules drop: the same cause and
// effect as the kernel, without one.
type fakeFW struct {
	mu     sync.Mutex
	chains []firewall.Chain
	err    string
	// rereads records, for each Chain call, the packets its rules had dropped.
	rereads []uint64
}

func (f *fakeFW) Backend() firewall.Backend { return firewall.IptablesNFT }
func (f *fakeFW) InputPath(context.Context) firewall.BackendState {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := firewall.BackendState{Backend: firewall.IptablesNFT, Present: true, Err: f.err}
	for _, c := range f.chains {
		c.Rules = append([]firewall.Rule(nil), c.Rules...)
		st.Chains = append(st.Chains, c)
		st.Tailscale = st.Tailscale || firewall.IsTailscaleChain(c.Chain)
	}
	return st
}
func (f *fakeFW) Chain(_ context.Context, ref firewall.ChainRef) (firewall.Chain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.chains {
		if c.ChainRef == ref {
			c.Rules = append([]firewall.Rule(nil), c.Rules...)
			var n uint64
			for _, r := range c.Rules {
				n += r.Packets
			}
			f.rereads = append(f.rereads, n)
			return c, nil
		}
	}
	return firewall.Chain{}, errors.New("no chain")
}

// Insert puts a rule at the top of the chain; the kernel's LOG is played by
// deliver, which counts the packets a LOG rule matches.
func (f *fakeFW) Insert(_ context.Context, ref firewall.ChainRef, _ int, spec firewall.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := firewall.ParseIptablesRule("-A " + ref.Chain + " " + firewall.ShellJoin(spec.IptablesArgs()))
	if err != nil {
		return err
	}
	r.ChainRef = ref
	for i := range f.chains {
		if f.chains[i].ChainRef == ref {
			f.chains[i].Rules = append([]firewall.Rule{r}, f.chains[i].Rules...)
			renumber(&f.chains[i])
			return nil
		}
	}
	return errors.New("no chain " + ref.String())
}

func (f *fakeFW) Delete(_ context.Context, ref firewall.ChainRef, spec firewall.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.chains {
		if f.chains[i].ChainRef == ref {
			f.chains[i].Rules = slices.DeleteFunc(f.chains[i].Rules, func(r firewall.Rule) bool { return r.Comment == spec.Comment })
			renumber(&f.chains[i])
		}
	}
	return nil
}

func renumber(c *firewall.Chain) {
	for i := range c.Rules {
		c.Rules[i].Position = i + 1
	}
}
func (f *fakeFW) Apply(context.Context, []firewall.Change) error { return nil }

// deliver plays the kernel: a reply from src either reaches the socket or is
// dropped by the first matching DROP rule, whose counter goes up.
func (f *fakeFW) deliver(src netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	snap := firewall.Snapshot{Backends: []firewall.BackendState{{Backend: firewall.IptablesNFT, Chains: f.chains}}}
	pkt := firewall.Packet{Src: src, InIface: "eth0", Protocol: "udp", SrcPort: 53, CtState: "ESTABLISHED"}
	// A LOG rule (the trace's, at the top of INPUT) sees the packet first.
	for i := range f.chains {
		for j := range f.chains[i].Rules {
			if r := &f.chains[i].Rules[j]; r.LogPrefix != "" && firewall.Matches(r, pkt) {
				r.Packets++
			}
		}
	}
	d := snap.Evaluate(pkt)
	if !d.Dropped {
		return true
	}
	for i := range f.chains {
		for j := range f.chains[i].Rules {
			if f.chains[i].Rules[j].Position == d.Rule.Position && f.chains[i].Rules[j].Chain == d.Rule.Chain {
				f.chains[i].Rules[j].Packets++
			}
		}
	}
	return false
}

type fakeProber struct {
	fw   *fakeFW
	dead map[netip.Addr]bool // silent for another reason
	// stub are the upstreams 127.0.0.53 forwards to, from this host, in
	// turn, as systemd-resolved does.
	stub []netip.Addr
}

func (p fakeProber) reply(ctx context.Context, a netip.Addr) netprobe.Result {
	if a == hostinfo.StubResolver {
		for _, up := range p.stub {
			if !p.dead[up] && (p.fw == nil || p.fw.deliver(up)) {
				return netprobe.Result{OK: true, RTT: time.Millisecond, Detail: "NOERROR 93.184.215.14"}
			}
		}
		<-ctx.Done()
		return netprobe.Result{Timeout: true, Err: "no answer"}
	}
	if !p.dead[a] && (p.fw == nil || p.fw.deliver(a)) {
		return netprobe.Result{OK: true, RTT: time.Millisecond, Detail: "NOERROR 93.184.215.14"}
	}
	<-ctx.Done()
	return netprobe.Result{Timeout: true, Err: "no answer"}
}
func (p fakeProber) DNS(ctx context.Context, s netip.AddrPort, _, _ string) netprobe.Result {
	return p.reply(ctx, s.Addr())
}
func (p fakeProber) TCP(ctx context.Context, a netip.AddrPort) netprobe.Result {
	return p.reply(ctx, a.Addr())
}
func (p fakeProber) HTTP(ctx context.Context, _ string) netprobe.Result {
	return p.reply(ctx, netip.MustParseAddr("100.100.100.200"))
}

type fakeTS map[string]string

func (f fakeTS) Run(_ context.Context, args ...string) ([]byte, error) {
	out, ok := f[strings.Join(args, " ")]
	if !ok {
		return nil, errors.New("tailscale: failed to connect to local tailscaled; it doesn't appear to be running")
	}
	return []byte(out), nil
}

var runningTS = fakeTS{
	"version --json": `{"majorMinorPatch":"1.102.3"}`,
	"status --json":  `{"Version":"1.102.3-t1","BackendState":"Running","Self":{"CapMap":{}}}`,
	"debug prefs":    `{"NetfilterMode":2,"CorpDNS":true}`,
}

func rulesOf(t *testing.T, chain string, lines ...string) firewall.Chain {
	c := firewall.Chain{ChainRef: firewall.ChainRef{Backend: firewall.IptablesNFT, Family: firewall.IPv4, Table: "filter", Chain: chain}}
	if chain == "INPUT" {
		c.Hook, c.Policy = "input", "ACCEPT"
	}
	for i, l := range lines {
		r, err := firewall.ParseIptablesRule(l)
		if err != nil {
			t.Fatal(err)
		}
		r.ChainRef, r.Position = c.ChainRef, i+1
		c.Rules = append(c.Rules, r)
	}
	return c
}

func tsChains(t *testing.T, verdict string) []firewall.Chain {
	return []firewall.Chain{
		rulesOf(t, "INPUT", "-A INPUT -j ts-input"),
		rulesOf(t, "ts-input",
			"-A ts-input -s 100.101.102.103/32 -i lo -j ACCEPT",
			"-A ts-input -i tailscale0 -j ACCEPT",
			"-A ts-input -p udp -m udp --dport 43075 -j ACCEPT",
			"-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN",
			"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j "+verdict),
	}
}

func testEnv(t *testing.T, resolv string, fw *fakeFW, ts fakeTS, dead ...string) Env {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	paths := hostinfo.Paths{
		ResolvConf: write("resolv.conf", resolv),
		ProcRoute:  write("route", "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\neth0\t00000000\t010110AC\t0003\t0\t0\t0\t00000000\n"),
		ProcARP:    write("arp", "IP address HW type Flags HW address Mask Device\n"),
		// tailscaled's copy of the resolv.conf it replaced with MagicDNS.
		TailscaleBackup: write("resolv.pre-tailscale-backup.conf", ecsResolv),
	}
	dd := map[netip.Addr]bool{}
	for _, d := range dead {
		dd[netip.MustParseAddr(d)] = true
	}
	env := Env{Tailscale: ts, Paths: paths, Probe: fakeProber{fw: fw, dead: dd}, Root: fw != nil,
		Interface: func(n string) bool { return n == "tailscale0" }}
	if fw != nil {
		env.Firewall = firewall.NewHost(fw)
	}
	return env
}

const ecsResolv = "nameserver 100.100.2.136\nnameserver 100.100.2.138\noptions timeout:2 attempts:3 rotate\n"

func fastOpts() Options {
	o := DefaultOptions()
	o.ProbeTimeout = 2 * time.Second
	return o
}

func TestRunVerdicts(t *testing.T) {
	cases := []struct {
		name    string
		resolv  string
		fw      *fakeFW
		ts      fakeTS
		dead    []string
		verdict Verdict
		culprit int
	}{
		{"blocked", ecsResolv, &fakeFW{chains: tsChains(t, "DROP")}, runningTS, nil, Blocked, 5},
		{"node attribute", ecsResolv, &fakeFW{chains: tsChains(t, "RETURN")}, runningTS, nil, Healthy, 0},
		{"no tailscale", ecsResolv, &fakeFW{}, fakeTS{}, nil, Healthy, 0},
		{"resolver down", "nameserver 10.0.0.2\n", &fakeFW{chains: tsChains(t, "DROP")}, runningTS, []string{"10.0.0.2"}, Degraded, 0},
		{"internet down", "nameserver 10.0.0.2\n", &fakeFW{}, runningTS, []string{"223.5.5.5", "223.6.6.6"}, Degraded, 0},
		{"garbage resolv.conf", "\x00\xffnameserver\nfoo bar\n", &fakeFW{}, runningTS, nil, Degraded, 0},
		{"ipv6-only resolvers", "nameserver 2400:3200::1\nnameserver 2400:3200:baba::1\n", &fakeFW{chains: tsChains(t, "DROP")}, runningTS, nil, Healthy, 0},
		{"not root, silent CGNAT resolver", ecsResolv, nil, runningTS, []string{"100.100.2.136", "100.100.2.138"}, Error, 0},
		{"backend fails to read", ecsResolv, &fakeFW{err: "iptables-nft: Parsing nftables rule failed"}, runningTS, nil, Healthy, 0},
		{"unreadable backend, silent CGNAT resolver", ecsResolv, &fakeFW{err: "iptables-legacy not found"}, runningTS, []string{"100.100.2.136", "100.100.2.138"}, Error, 0},
		{"tailscale CLI prints garbage", ecsResolv, &fakeFW{chains: tsChains(t, "DROP")}, fakeTS{"version --json": "oops", "status --json": "<html>", "debug prefs": "[1,2"}, nil, Blocked, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			rep := Run(context.Background(), testEnv(t, c.resolv, c.fw, c.ts, c.dead...), fastOpts())
			if rep.Verdict != c.verdict {
				t.Fatalf("verdict %s, want %s; steps: %s", rep.Verdict, c.verdict, render(rep))
			}
			if c.culprit != 0 && (rep.Culprit == nil || rep.Culprit.Position != c.culprit || rep.Culprit.Chain != "ts-input") {
				t.Errorf("culprit %+v, want ts-input #%d", rep.Culprit, c.culprit)
			}
			if c.culprit == 0 && rep.Culprit != nil {
				t.Errorf("false culprit %+v", rep.Culprit)
			}
			if c.verdict == Blocked && time.Since(start) > time.Second {
				// Counters settle a dropped probe at once; it must not wait
				// for the 2 s probe timeout.
				t.Errorf("blocked verdict took %s: the counter watch did not settle the probes", time.Since(start))
			}
			if strings.Contains(render(rep), "!") && strings.Contains(render(rep), "!dns.") {
				t.Errorf("missing catalog key in %s", render(rep))
			}
		})
	}
}

// TestCounterWatchReadsOnceMore: once a read of the counters has settled
// every probe, the verdict needs no further read of the chain. On
// iptables-legacy each read costs the whole table (about 100 ms with
// 100,000 rules), so the read that saw the drops is the last one.
func TestCounterWatchReadsOnceMore(t *testing.T) {
	fw := &fakeFW{chains: tsChains(t, "DROP")}
	rep := Run(context.Background(), testEnv(t, ecsResolv, fw, runningTS), fastOpts())
	if rep.Verdict != Blocked {
		t.Fatalf("verdict %s, want blocked", rep.Verdict)
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	final := fw.rereads[len(fw.rereads)-1]
	seen := 0
	for _, n := range fw.rereads {
		if n == final {
			seen++
		}
	}
	if final == 0 || seen != 1 {
		t.Errorf("chain rereads saw %v dropped packets: want exactly one read showing the final %d", fw.rereads, final)
	}
}

func render(rep Report) string {
	var b strings.Builder
	for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
		for _, f := range rep.Steps {
			b.WriteString(string(f.Status) + " " + string(f.ID) + ": " + f.Summary.String(l) + "\n")
			for _, e := range f.Evidence {
				b.WriteString("    " + e.String(l) + "\n")
			}
		}
	}
	return b.String()
}

// wantText fails t for each of want missing from out and each of notWant in it.
func wantText(t *testing.T, out string, want, notWant []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
	for _, w := range notWant {
		if strings.Contains(out, w) {
			t.Errorf("unexpected %q in\n%s", w, out)
		}
	}
}

// TestEveryMessageHasAKey renders every scenario's findings and fails on any
// key missing from the catalog (rendered as "!key").
func TestEveryMessageHasAKey(t *testing.T) {
	for _, v := range []string{"DROP", "RETURN"} {
		rep := Run(context.Background(), testEnv(t, ecsResolv+"bogus line\n", &fakeFW{chains: tsChains(t, v)}, runningTS), Options{ECS: true, ProbeTimeout: time.Second})
		for _, f := range rep.Steps {
			for _, m := range append([]i18n.Msg{f.Summary}, f.Evidence...) {
				if !i18n.Has(m.Key) {
					t.Errorf("step %s uses unknown key %q", f.ID, m.Key)
				}
			}
			if !i18n.Has(f.Explain) {
				t.Errorf("step %s: no explanation %q", f.ID, f.Explain)
			}
			if !i18n.Has(f.ID.TitleKey()) {
				t.Errorf("step %s has no title", f.ID)
			}
		}
	}
}

// MagicDNS in the path: its own replies pass (they come back on tailscale0),
// its upstreams are probed from tailscaled's backup and found dropped.
func TestMagicDNSInPath(t *testing.T) {
	rep := Run(context.Background(), testEnv(t, "nameserver 100.100.100.100\n", &fakeFW{chains: tsChains(t, "DROP")}, runningTS), fastOpts())
	if rep.Verdict != Blocked || rep.Culprit == nil {
		t.Fatalf("verdict %s culprit %v\n%s", rep.Verdict, rep.Culprit, render(rep))
	}
	for _, b := range rep.Blocked {
		if b.Address == netip.MustParseAddr("100.100.100.100") {
			t.Errorf("MagicDNS itself reported blocked: %+v", rep.Blocked)
		}
	}
	out := render(rep)
	if !strings.Contains(out, "MagicDNS forwards to the resolvers saved in") || !strings.Contains(out, "100.100.2.136 (DNS/UDP): no answer; the reply was dropped") {
		t.Errorf("MagicDNS step:\n%s", out)
	}
}

func TestOnlyAndOldOrder(t *testing.T) {
	rep := Run(context.Background(), testEnv(t, ecsResolv, &fakeFW{chains: tsChains(t, "DROP")}, runningTS), Options{Only: []StepID{StepRules}})
	if len(rep.Steps) != 1 || rep.Steps[0].ID != "rules" || rep.Steps[0].Status != Fail {
		t.Fatalf("steps = %+v", rep.Steps)
	}
	old := rulesOf(t, "ts-input",
		"-A ts-input -s 100.64.0.1/32 -i lo -j ACCEPT",
		"-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN",
		"-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP",
		"-A ts-input -i tailscale0 -j ACCEPT")
	if !tsrules.OldRuleOrder(&old) || tsrules.OldRuleOrder(&tsChains(t, "DROP")[1]) {
		t.Error("OldRuleOrder is wrong")
	}
}

func TestExitCodes(t *testing.T) {
	for v, want := range map[Verdict]int{Healthy: 0, Blocked: 1, Degraded: 1, Error: 2} {
		if v.ExitCode() != want {
			t.Errorf("%s → %d", v, v.ExitCode())
		}
	}
}
