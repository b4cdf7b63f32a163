package tui

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// fakeEngine is a host where tailscaled 1.102.3 (iptables-nft) drops the
// VPC's DNS: the report the real engine gives in the lab, fixed, so views
// are deterministic. It records what the wizard asked of it.
type fakeEngine struct {
	root bool
	// diagDelay holds the diagnosis back (first-frame benchmark).
	diagDelay time.Duration
	// report, when set, replaces fakeReport (another host shape).
	report func() checks.Report

	mu                      sync.Mutex
	traces, applies, undoes int
	verifies, retraces      int
	// legacy: the packet trace finds no path (tailscaled on iptables-legacy).
	legacy  bool
	planned []fixes.ID
}

var drop = firewall.Rule{
	ChainRef: firewall.ChainRef{Backend: firewall.IptablesNFT, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"},
	Position: 5, Source: netip.MustParsePrefix("100.64.0.0/10"), InIface: "tailscale0", InIfaceNegated: true,
	Verdict: firewall.Drop, Packets: 12, Text: "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP",
}

func fakeReport() checks.Report {
	yes := true
	raw := i18n.Raw
	blocked := []checks.BlockedService{
		{Address: netip.MustParseAddr("100.100.2.136"), Port: 53, Service: "dns"},
		{Address: netip.MustParseAddr("100.100.2.138"), Port: 53, Service: "dns"},
		{Address: netip.MustParseAddr("100.100.100.200"), Port: 80, Service: "metadata"},
	}
	return checks.Report{
		Verdict: checks.Blocked, Culprit: &drop, Blocked: blocked,
		Tailscale: tailscale.State{Installed: true, Version: "1.102.3", BackendState: "Running", NetfilterMode: tailscale.NetfilterOn,
			AcceptDNS: &yes, TailscaleIPs: []string{"100.101.102.103"}, HostName: "ecs-lab", Tags: []string{"tag:aliyun"}},
		Steps: []checks.Finding{
			{ID: "connectivity", Status: checks.Pass, Summary: i18n.M("conn.sum.ok", 2, 2, "eth0"), Elapsed: 21 * time.Millisecond,
				Evidence: []i18n.Msg{raw("default via 172.16.1.1 dev eth0"), raw("223.5.5.5:53 1.2 ms, 223.6.6.6:53 0.4 ms")},
				Commands: []string{"ip route show default", "ping -c 3 223.5.5.5"}, Explain: "explain.connectivity"},
			{ID: "dns", Status: checks.Fail, Summary: i18n.M("dns.sum.cgnat", 2, 2), Elapsed: 24 * time.Millisecond,
				Evidence: []i18n.Msg{raw("nameserver 100.100.2.136, 100.100.2.138 (options timeout:2 attempts:3 rotate)"),
					raw("100.100.2.136 (DNS/UDP): reply dropped by iptables-nft filter/ts-input #5")},
				Commands: []string{"dig @100.100.2.136 example.com +short"}, Explain: "explain.dns"},
			{ID: "magicdns", Status: checks.Pass, Summary: i18n.M("magic.sum.out"), Elapsed: 3 * time.Millisecond,
				Commands: []string{"tailscale set --accept-dns=false"}, Explain: "explain.magicdns"},
			{ID: "trace", Status: checks.Fail, Summary: i18n.M("trace.sum.culprit", 5, "ts-input", "iptables-nft"), Elapsed: 22 * time.Millisecond,
				Evidence: []i18n.Msg{raw("counter of iptables-nft filter/ts-input #5 went 0 → 5 while the probes waited")},
				Commands: []string{"iptables -L ts-input -v -n -x --line-numbers"}, Explain: "explain.trace"},
			{ID: "rules", Status: checks.Fail, Summary: i18n.M("rules.sum.culprit", 5, "ts-input", "iptables-nft", 12), Elapsed: 9 * time.Millisecond,
				Evidence: []i18n.Msg{raw("   5        12 pkts  -A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP")},
				Commands: []string{"iptables -S ts-input"}, Explain: "explain.rules"},
			{ID: "services", Status: checks.Fail, Summary: i18n.M("svc.sum.blocked", 1), Elapsed: 25 * time.Millisecond,
				Evidence: []i18n.Msg{raw("http://100.100.100.200/latest/meta-data/: reply dropped")}, Explain: "explain.services"},
		},
	}
}

// nonECSReport is fakeReport on a host DMI does not call ECS: the
// metadata service is not probed, so the services step finds nothing and
// has no evidence (what checks.services returns there).
func nonECSReport() checks.Report {
	rep := fakeReport()
	rep.Blocked = rep.Blocked[:2]
	for i, f := range rep.Steps {
		if f.ID == "services" {
			rep.Steps[i] = checks.Finding{ID: "services", Status: checks.Pass, Summary: i18n.M("svc.sum.none"),
				Commands: []string{"curl -s http://100.100.100.200/latest/meta-data/", "ip neigh"}, Explain: "explain.services"}
		}
	}
	return rep
}

func (e *fakeEngine) Root() bool { return e.root }

func (e *fakeEngine) Diagnose(ctx context.Context, progress func(checks.Finding)) checks.Report {
	if e.diagDelay > 0 {
		select {
		case <-time.After(e.diagDelay):
		case <-ctx.Done():
		}
	}
	rep := fakeReport()
	if e.report != nil {
		rep = e.report()
	}
	for _, f := range rep.Steps {
		progress(f)
	}
	return rep
}

func (e *fakeEngine) TraceCommand(checks.Report) string {
	return `iptables -t filter -I INPUT 1 -s 100.64.0.0/10 -m limit --limit 20/sec -m comment --comment "tsdoctor-trace 42" -j LOG --log-prefix "TSDOCTOR-42: "`
}

func (e *fakeEngine) Trace(context.Context) checks.Finding {
	e.mu.Lock()
	e.traces++
	e.mu.Unlock()
	return checks.Finding{ID: "trace", Status: checks.Fail, Summary: i18n.M("trace.sum.culprit", 5, "ts-input", "iptables-nft"),
		Evidence: []i18n.Msg{i18n.Raw("TSDOCTOR-42: IN=eth0 SRC=100.100.2.136 DST=172.16.1.10 PROTO=UDP SPT=53")}, Explain: "explain.trace",
		Paths: fakePaths(false)}
}

func (e *fakeEngine) PathTrace(context.Context) checks.Finding {
	e.mu.Lock()
	e.retraces++
	e.mu.Unlock()
	if e.legacy {
		return checks.Finding{ID: "trace", Status: checks.Pass, Summary: i18n.M("trace.sum.still"), Explain: "explain.trace",
			Evidence: []i18n.Msg{i18n.M("trace.sum.still"), i18n.M("path.legacy")}}
	}
	return checks.Finding{ID: "trace", Status: checks.Pass, Summary: i18n.M("trace.sum.still"), Explain: "explain.trace", Paths: fakePaths(true)}
}

// fakePaths are the lab's four DNS replies as the real packet trace shows
// them on iptables-nft: dropped by ts-input #5, or after the whitelist
// accepted by its rules #1 to #4.
func fakePaths(whitelisted bool) []nftrace.Path {
	var out []nftrace.Path
	i := 0
	for _, src := range []string{"100.100.2.136", "100.100.2.138"} {
		for _, proto := range []string{"udp", "tcp"} {
			i++
			hop := func(chain string, pos int, verdict, target, rule, comment string) nftrace.Hop {
				return nftrace.Hop{Family: firewall.IPv4, Table: "filter", Chain: chain, Position: pos, Handle: uint64(10 + pos), Rule: rule,
					Comment: comment, Backend: firewall.IptablesNFT, Verdict: verdict, Target: target}
			}
			last := hop("ts-input", 5, "drop", "", drop.Text, "")
			if whitelisted {
				last = hop("ts-input", i, "accept", "", fmt.Sprintf("-A ts-input -s %s/32 -p %s -m %s --sport 53 -m comment --comment tsdoctor-whitelist -j ACCEPT", src, proto, proto), "tsdoctor-whitelist")
			}
			out = append(out, nftrace.Path{
				Packet: nftrace.Packet{Src: netip.MustParseAddr(src), SrcPort: 53, Dst: netip.MustParseAddr("172.16.1.10"), DstPort: uint16(40000 + i), Proto: proto},
				Hops: []nftrace.Hop{
					{Family: firewall.IPv4, Table: "mangle", Chain: "PREROUTING", Rule: "policy accept", Verdict: "policy-accept"},
					hop("INPUT", 1, "jump", "ts-input", "-A INPUT -j ts-input", ""),
					last,
				}})
		}
	}
	return out
}

func (e *fakeEngine) Applies(r fixes.Remedy, rep checks.Report) fixes.Applicability {
	if r.Info().ID == fixes.NetfilterOffID {
		return fixes.Applicability{Fit: fixes.NotApplicable, Why: i18n.M("fix.why.nfoff")}
	}
	return fixes.Applicability{Fit: fixes.Fits}
}

func (e *fakeEngine) Plan(ctx context.Context, r fixes.Remedy, rep checks.Report) (*fixes.Plan, error) {
	e.mu.Lock()
	e.planned = append(e.planned, r.Info().ID)
	e.mu.Unlock()
	p := &fixes.Plan{Remedy: r.Info().ID, Allow: []netip.Addr{netip.MustParseAddr("100.100.2.136"), netip.MustParseAddr("100.100.2.138")},
		Steps: []fixes.Step{
			{Text: i18n.M("step.fw.insert", "iptables-nft", "filter", "ts-input"),
				Command: "iptables -t filter -I ts-input 1 -s 100.100.2.136/32 -p udp -m udp --sport 53 -m comment --comment tsdoctor-whitelist -j ACCEPT"},
			{Text: i18n.M("step.file.write", "/etc/systemd/system/tsdoctor-whitelist.service", "644"), File: "/etc/systemd/system/tsdoctor-whitelist.service",
				Content: "[Unit]\nAfter=tailscaled.service\nPartOf=tailscaled.service\n"},
		},
		Notes:   []i18n.Msg{i18n.M("fix.2.note.rebuild")},
		Actions: []fixes.Action{{Command: &fixes.CommandPair{Do: []string{"true"}}}},
	}
	return p, nil
}

func (e *fakeEngine) Apply(ctx context.Context, p *fixes.Plan) (*fixes.Entry, error) {
	e.mu.Lock()
	e.applies++
	e.mu.Unlock()
	return &fixes.Entry{ID: "20261125T030000Z-whitelist", Remedy: p.Remedy}, nil
}

func (e *fakeEngine) Verify(ctx context.Context, id fixes.ID, p *fixes.Plan) fixes.Verification {
	e.mu.Lock()
	e.verifies++
	e.mu.Unlock()
	rep := fakeReport()
	rep.Verdict, rep.Culprit, rep.Blocked = checks.Healthy, nil, nil
	return fixes.Verification{Passed: true, Verdict: checks.Healthy, DNS: true, Blocked: []checks.BlockedService{}, Report: rep,
		Restart: i18n.M("verify.restart.whitelist"), Reboot: i18n.M("verify.reboot.whitelist"),
		Details: []i18n.Msg{i18n.M("verify.dns.ok")}}
}

func (e *fakeEngine) Undo(ctx context.Context) ([]fixes.UndoResult, error) {
	e.mu.Lock()
	e.undoes++
	e.mu.Unlock()
	return []fixes.UndoResult{{Entry: &fixes.Entry{ID: "20261125T030000Z-whitelist"}, Same: true}}, nil
}
