package checks

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/netprobe"
)

// preparingProber is fakeProber whose DNS probes can name their local port.
type preparingProber struct {
	fakeProber
	next uint16
}

func (p *preparingProber) PrepareDNS(_ context.Context, s netip.AddrPort, nw string) (*netprobe.PreparedDNS, error) {
	p.next++
	return &netprobe.PreparedDNS{Server: s, Network: nw, LocalPort: 40000 + p.next}, nil
}

// fakeTracer plays the kernel for the packet trace: every reply it is asked
// to trace jumps from INPUT to ts-input and dies at the handle of rule 5.
type fakeTracer struct {
	replies []nftrace.Reply
	swept   []string
}

func (f *fakeTracer) Run(_ context.Context, id string, probes []nftrace.Probe, _ time.Duration) (nftrace.Result, error) {
	var res nftrace.Result
	for _, p := range probes {
		f.replies = append(f.replies, p.Reply)
		res.Paths = append(res.Paths, nftrace.Path{
			Packet: nftrace.Packet{Src: p.Reply.Src, SrcPort: p.Reply.SrcPort, Dst: netip.MustParseAddr("172.16.0.10"), DstPort: p.Reply.DstPort, Proto: p.Reply.Proto},
			Hops: []nftrace.Hop{
				{Family: firewall.IPv4, Table: "filter", Chain: "INPUT", Handle: 10, Verdict: "jump", Target: "ts-input"},
				{Family: firewall.IPv4, Table: "filter", Chain: "ts-input", Handle: 25, Verdict: "drop"},
			}})
	}
	return res, nil
}

func (f *fakeTracer) Handles(context.Context) nftrace.HandleLister {
	return func(_ firewall.Family, _, chain string) ([]uint64, error) {
		if chain == "INPUT" {
			return []uint64{10}, nil
		}
		return []uint64{21, 22, 23, 24, 25}, nil
	}
}

func (f *fakeTracer) Sweep(context.Context, func(string) bool) ([]string, error) {
	return f.swept, nil
}

func TestPathTrace(t *testing.T) {
	fw := &fakeFW{chains: tsChains(t, "DROP")}
	env := testEnv(t, ecsResolv, fw, runningTS)
	env.Probe = &preparingProber{fakeProber: env.Probe.(fakeProber)}
	tr := &fakeTracer{swept: []string{"tsdoctor-trace-999999999-1"}}
	env.NFTrace = tr
	o := fastOpts()
	o.Trace, o.Only = true, []StepID{StepTrace, StepRules}
	rep := Run(context.Background(), env, o)

	// Both resolvers, over UDP and TCP, each on its own local port.
	if len(tr.replies) != 4 {
		t.Fatalf("traced %+v, want 4 replies", tr.replies)
	}
	ports := map[uint16]bool{}
	for _, r := range tr.replies {
		ports[r.DstPort] = true
		if r.SrcPort != 53 || !strings.HasPrefix(r.Src.String(), "100.100.2.13") {
			t.Errorf("reply %+v", r)
		}
	}
	if len(ports) != 4 {
		t.Errorf("local ports %v, want 4 distinct", ports)
	}
	paths := reportPaths(rep)
	if len(paths) != 4 {
		t.Fatalf("paths %+v", paths)
	}
	h := paths[0].Hops[1]
	if h.Position != 5 || h.Rule != "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP" || h.Verdict != "drop" || h.Backend != firewall.IptablesNFT {
		t.Errorf("drop hop %+v", h)
	}
	var trace, rules string
	for _, s := range rep.Steps {
		switch s.ID {
		case "trace":
			trace = evidenceText(s) + strings.Join(s.Commands, "\n")
		case "rules":
			rules = evidenceText(s)
		}
	}
	for _, want := range []string{"INPUT #1 jump ts-input → ts-input #5 DROP. Dropped by: -A ts-input -s 100.64.0.0/10", "temporary table was removed", "nft add table ip tsdoctor-trace-", "nft delete table ip tsdoctor-trace-"} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace step lacks %q:\n%s", want, trace)
		}
	}
	if !strings.Contains(rules, "tsdoctor-trace-999999999-1") {
		t.Errorf("the swept table is not reported:\n%s", rules)
	}

	// iptables-legacy has no nftrace: the step says so and traces nothing.
	legacy := &fakeTracer{}
	env.NFTrace = legacy
	env.Firewall = firewall.NewHost(&legacyFW{fakeFW: &fakeFW{chains: tsChains(t, "DROP")}})
	rep = Run(context.Background(), env, o)
	if len(legacy.replies) != 0 || len(reportPaths(rep)) != 0 {
		t.Errorf("traced on iptables-legacy: %+v", legacy.replies)
	}
	if s := evidenceText(rep.Steps[0]); !strings.Contains(s, "no nftables tracing") {
		t.Errorf("trace step does not say legacy has no nftrace:\n%s", s)
	}
}

// reportPaths are the paths of every step, in order.
func reportPaths(rep Report) []nftrace.Path {
	var out []nftrace.Path
	for _, f := range rep.Steps {
		out = append(out, f.Paths...)
	}
	return out
}

// evidenceText is a step's evidence in English, one line each.
func evidenceText(f Finding) string {
	var lines []string
	for _, e := range f.Evidence {
		lines = append(lines, e.String(i18n.EN))
	}
	return strings.Join(lines, "\n")
}

// legacyFW is fakeFW as the iptables-legacy backend.
type legacyFW struct{ *fakeFW }

func (l *legacyFW) Backend() firewall.Backend { return firewall.IptablesLegacy }
func (l *legacyFW) InputPath(ctx context.Context) firewall.BackendState {
	st := l.fakeFW.InputPath(ctx)
	st.Backend = firewall.IptablesLegacy
	for i := range st.Chains {
		st.Chains[i].Backend = firewall.IptablesLegacy
		for j := range st.Chains[i].Rules {
			st.Chains[i].Rules[j].Backend = firewall.IptablesLegacy
		}
	}
	return st
}
