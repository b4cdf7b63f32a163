package checks

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/netprobe"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

var (
	dns1   = netip.MustParseAddr("100.100.2.136")
	pfx    = netip.MustParsePrefix
	router = tailscale.Peer{ID: "nRouter", HostName: "router", DNSName: "router.tail1234.ts.net.",
		TailscaleIPs: []netip.Addr{netip.MustParseAddr("100.90.1.2")},
		AllowedIPs:   []netip.Prefix{pfx("100.90.1.2/32"), pfx("100.100.2.0/24")}, PrimaryRoutes: []netip.Prefix{pfx("100.100.2.0/24")}}
	exit = tailscale.Peer{ID: "nExit", HostName: "exit", DNSName: "exit.tail1234.ts.net.",
		TailscaleIPs: []netip.Addr{netip.MustParseAddr("100.90.1.3")}, AllowedIPs: []netip.Prefix{pfx("100.90.1.3/32"), pfx("0.0.0.0/0")}}
	squatter = tailscale.Peer{ID: "nSq", HostName: "squatter", TailscaleIPs: []netip.Addr{dns1}}
)

func hit52(p string) hostinfo.RouteHit {
	return hostinfo.RouteHit{Dst: dns1, Prefix: pfx(p), Table: hostinfo.TableTailscale, Iface: "tailscale0", Type: "unicast"}
}

func TestExplainCapture(t *testing.T) {
	exitInUse := exit
	exitInUse.ExitNode = true
	cgnatRouter := router
	cgnatRouter.PrimaryRoutes = []netip.Prefix{pfx("100.64.0.0/10")}
	cases := []struct {
		name   string
		hit    hostinfo.RouteHit
		rt     tailscale.Routing
		reason CaptureReason
		peer   string
	}{
		{"subnet route from a named peer", hit52("100.100.2.0/24"), tailscale.Routing{Peers: []tailscale.Peer{exit, router}}, ReasonSubnetRoute, "router.tail1234.ts.net"},
		{"the whole CGNAT range", hit52("100.64.0.0/10"), tailscale.Routing{Peers: []tailscale.Peer{cgnatRouter}}, ReasonSubnetRoute, "router.tail1234.ts.net"},
		{"exit node from status", hit52("0.0.0.0/0"), tailscale.Routing{Peers: []tailscale.Peer{router, exitInUse}}, ReasonExitNode, "exit.tail1234.ts.net"},
		{"exit node from prefs only", hit52("0.0.0.0/0"), tailscale.Routing{ExitNodeIP: "100.90.1.3"}, ReasonExitNode, "100.90.1.3"},
		{"a peer holds the address", hit52("100.100.2.136/32"), tailscale.Routing{Peers: []tailscale.Peer{router, squatter}}, ReasonPeerAddress, "squatter"},
		{"nothing in Tailscale's status", hit52("100.100.0.0/16"), tailscale.Routing{Peers: []tailscale.Peer{exit}}, ReasonOther, ""},
		{"default route but no exit node", hit52("0.0.0.0/0"), tailscale.Routing{Peers: []tailscale.Peer{exit}}, ReasonOther, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ExplainCapture(c.hit, c.rt)
			if got.Reason != c.reason || got.Peer != c.peer || got.Prefix != c.hit.Prefix || got.Table != 52 || got.Device != "tailscale0" || got.Service != dns1 {
				t.Errorf("got %+v, want reason %s peer %q", got, c.reason, c.peer)
			}
			for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
				if s := captureWhy(got).String(l); strings.Contains(s, "%!") || strings.HasPrefix(s, "!") {
					t.Errorf("%s: %s", l, s)
				}
			}
		})
	}
}

func TestCaptured(t *testing.T) {
	for _, c := range []struct {
		hit  hostinfo.RouteHit
		want bool
	}{
		{hit52("100.100.2.0/24"), true},
		{hostinfo.RouteHit{Dst: dns1, Prefix: pfx("0.0.0.0/0"), Table: hostinfo.TableMain, Iface: "eth0", Type: "unicast"}, false},
		{hostinfo.RouteHit{Dst: hostinfo.MagicDNS, Prefix: pfx("100.100.100.100/32"), Table: 52, Iface: "tailscale0", Type: "unicast"}, false},
		{hostinfo.RouteHit{Dst: dns1, Prefix: pfx("100.100.2.0/24"), Table: 52, Type: "throw"}, false},
	} {
		if got := Captured(c.hit); got != c.want {
			t.Errorf("Captured(%+v) = %v", c.hit, got)
		}
	}
}

// countingProber records which addresses were really probed.
type countingProber struct {
	fakeProber
	mu   sync.Mutex
	sent map[netip.Addr]int
}

func (p *countingProber) note(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent[a]++
}
func (p *countingProber) DNS(ctx context.Context, s netip.AddrPort, n, q string) netprobe.Result {
	p.note(s.Addr())
	return p.fakeProber.DNS(ctx, s, n, q)
}
func (p *countingProber) HTTP(ctx context.Context, u string) netprobe.Result {
	p.note(netip.MustParseAddr("100.100.100.200"))
	return p.fakeProber.HTTP(ctx, u)
}

// subnetTS is a node that accepts routes, with a peer advertising the VPC's
// 100.100.2.0/24, as `tailscale status --json` and `debug prefs` show it.
var subnetTS = fakeTS{
	"version --json": `{"majorMinorPatch":"1.102.3"}`,
	"status --json": `{"Version":"1.102.3","BackendState":"Running","Self":{"CapMap":{}},"Peer":{"nodekey:1":{"ID":"nRouter","HostName":"router",` +
		`"DNSName":"router.tail1234.ts.net.","TailscaleIPs":["100.90.1.2"],"AllowedIPs":["100.90.1.2/32","100.100.2.0/24"],"PrimaryRoutes":["100.100.2.0/24"],"Online":true}}}`,
	"debug prefs": `{"NetfilterMode":2,"CorpDNS":false,"RouteAll":true}`,
}

// The second form: table 52 sends the VPC DNS into tailscale0. The firewall
// has the node attribute (RETURN), so no rule is to blame; before this, the
// check ended DEGRADED after the probe timeout with no culprit.
func TestRouteCaptureIsBlockedByRoute(t *testing.T) {
	fw := &fakeFW{chains: tsChains(t, "RETURN")}
	env := testEnv(t, ecsResolv, fw, subnetTS, "100.100.2.136", "100.100.2.138")
	prober := &countingProber{fakeProber: env.Probe.(fakeProber), sent: map[netip.Addr]int{}}
	env.Probe = prober
	env.RouteLookup = func(a netip.Addr) (hostinfo.RouteHit, error) {
		if pfx("100.100.2.0/24").Contains(a) {
			h := hit52("100.100.2.0/24")
			h.Dst = a
			return h, nil
		}
		return hostinfo.RouteHit{Dst: a, Prefix: pfx("0.0.0.0/0"), Table: hostinfo.TableMain, Iface: "eth0", Gateway: netip.MustParseAddr("172.16.1.1"), Type: "unicast"}, nil
	}
	env.PolicyRules = func() ([]hostinfo.PolicyRule, error) {
		return []hostinfo.PolicyRule{{Priority: 5270, Table: 52, Action: "lookup"}}, nil
	}
	o := fastOpts()
	o.ECS = true
	rep := Run(context.Background(), env, o)
	if rep.Verdict != Blocked || rep.Route == nil || rep.Culprit != nil {
		t.Fatalf("verdict %s route %+v culprit %+v\n%s", rep.Verdict, rep.Route, rep.Culprit, render(rep))
	}
	want := RouteCapture{Service: dns1, Table: 52, Prefix: pfx("100.100.2.0/24"), Device: "tailscale0", Peer: "router.tail1234.ts.net", Reason: ReasonSubnetRoute}
	if *rep.Route != want {
		t.Errorf("route culprit %+v, want %+v", *rep.Route, want)
	}
	if prober.sent[dns1] != 0 || prober.sent[netip.MustParseAddr("100.100.2.138")] != 0 {
		t.Errorf("captured resolvers were probed (and waited for): %v", prober.sent)
	}
	if prober.sent[netip.MustParseAddr("100.100.100.200")] == 0 {
		t.Errorf("the metadata service, routed via eth0, was not probed: %v", prober.sent)
	}
	var dnsF Finding
	for _, f := range rep.Steps {
		if f.ID == "dns" {
			dnsF = f
		}
	}
	if dnsF.Summary.Key != "dns.sum.captured" || dnsF.Explain != "explain.routing" {
		t.Errorf("dns step: %s / %s", dnsF.Summary.Key, dnsF.Explain)
	}
	out := render(rep)
	for _, s := range []string{"sent into tailscale0", "5270:\tfrom all lookup 52", "peer router.tail1234.ts.net advertises 100.100.2.0/24", "进了 Tailscale"} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "replies never arrive") {
		t.Errorf("report still blames dropped replies:\n%s", out)
	}
	for _, b := range rep.Blocked {
		if b.Cause != CauseRoute {
			t.Errorf("blocked %+v: cause %q", b, b.Cause)
		}
	}
	if len(rep.Blocked) != 2 {
		t.Errorf("blocked = %+v", rep.Blocked)
	}
	// The route is the culprit, not a rule (check/v1 shows one of them:
	// wire.TestCheckCulpritKinds).
	if rep.Culprit != nil || rep.Route.TableName() != "52" {
		t.Errorf("culprit %+v, route table %q", rep.Culprit, rep.Route.TableName())
	}
}

// The first form keeps its culprit, now of kind "rule".
func TestRuleCulpritKind(t *testing.T) {
	rep := Run(context.Background(), testEnv(t, ecsResolv, &fakeFW{chains: tsChains(t, "DROP")}, runningTS), fastOpts())
	if rep.Culprit == nil || rep.Culprit.Chain != "ts-input" || rep.Route != nil {
		t.Fatalf("culprit %+v route %+v", rep.Culprit, rep.Route)
	}
	for _, b := range rep.Blocked {
		if b.Cause != CauseRule {
			t.Errorf("blocked %+v: cause %q", b, b.Cause)
		}
	}
}

// Ubuntu's path under the route form: resolv.conf → 127.0.0.53 → the VPC
// DNS, both routed into tailscale0. The stub cannot answer either, so it is
// not asked (and not waited for).
func TestRouteCaptureBehindStub(t *testing.T) {
	fw := &fakeFW{chains: tsChains(t, "RETURN")}
	env := testEnv(t, "nameserver 127.0.0.53\noptions edns0 trust-ad\n", fw, subnetTS, "100.100.2.136", "100.100.2.138")
	env.Paths.ResolvedUpstream = filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(env.Paths.ResolvedUpstream, []byte(ecsResolv), 0o644); err != nil {
		t.Fatal(err)
	}
	fp := env.Probe.(fakeProber)
	fp.stub = []netip.Addr{dns1, netip.MustParseAddr("100.100.2.138")}
	prober := &countingProber{fakeProber: fp, sent: map[netip.Addr]int{}}
	env.Probe = prober
	env.RouteLookup = func(a netip.Addr) (hostinfo.RouteHit, error) {
		h := hit52("100.100.2.0/24")
		h.Dst = a
		return h, nil
	}
	rep := Run(context.Background(), env, fastOpts())
	out := render(rep)
	if rep.Verdict != Blocked || rep.Route == nil {
		t.Fatalf("verdict %s route %+v\n%s", rep.Verdict, rep.Route, out)
	}
	if prober.sent[hostinfo.StubResolver] != 0 {
		t.Errorf("the stub was asked although every upstream is routed into tailscale0: %v", prober.sent)
	}
	if !strings.Contains(out, "127.0.0.53 (DNS/UDP): not asked: the stub forwards to 100.100.2.136, 100.100.2.138") {
		t.Errorf("stub line:\n%s", out)
	}
}
