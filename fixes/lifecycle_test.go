package fixes

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

var (
	dns136 = netip.MustParseAddr("100.100.2.136")
	dns138 = netip.MustParseAddr("100.100.2.138")
	meta   = netip.MustParseAddr("100.100.100.200")
)

// lifecycleDrop is tailscaled's rule as the check reads it.
var lifecycleDrop = firewall.Rule{
	ChainRef: firewall.ChainRef{Backend: firewall.IptablesNFT, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"},
	Position: 1, Source: netip.MustParsePrefix("100.64.0.0/10"), InIface: "tailscale0", InIfaceNegated: true,
	Verdict: firewall.Drop, Text: "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP",
}

func dnsStep(s checks.Status) []checks.Finding { return []checks.Finding{{ID: "dns", Status: s}} }

// wellReport: nothing dropped, nothing blocked, tailscaled running.
func wellReport() checks.Report {
	chain := firewall.Chain{ChainRef: lifecycleDrop.ChainRef}
	return checks.Report{Verdict: checks.Healthy, Steps: dnsStep(checks.Pass),
		Firewall:  &firewall.Snapshot{Backends: []firewall.BackendState{{Backend: firewall.IptablesNFT, Present: true, Tailscale: true, Chains: []firewall.Chain{chain}}}},
		Tailscale: tailscale.State{Installed: true, Version: "1.102.3", BackendState: "Running", NetfilterMode: tailscale.NetfilterOn}}
}

// dropReport: the DROP blocks the VPC DNS and the metadata service.
func dropReport() checks.Report {
	rep := wellReport()
	rep.Verdict, rep.Steps = checks.Blocked, dnsStep(checks.Fail)
	d := lifecycleDrop
	rep.Culprit = &d
	rep.Firewall.Backends[0].Chains[0].Rules = []firewall.Rule{d}
	rep.Blocked = []checks.BlockedService{{Address: dns136, Port: 53, Service: "dns"}, {Address: dns138, Port: 53, Service: "dns"},
		{Address: meta, Port: 80, Service: "metadata"}}
	return rep
}

// routeReport: a Tailscale route captures the VPC DNS (the second form).
func routeReport(reason checks.CaptureReason) checks.Report {
	rep := wellReport()
	rep.Verdict, rep.Steps = checks.Blocked, dnsStep(checks.Fail)
	rep.Route = &checks.RouteCapture{Prefix: netip.MustParsePrefix("100.100.2.0/24"), Table: 52, Device: "tailscale0", Reason: reason}
	rep.Blocked = []checks.BlockedService{{Address: dns136, Port: 53, Service: "dns", Cause: checks.CauseRoute}}
	return rep
}

func orphanedReport() checks.Report {
	rep := dropReport()
	rep.Orphaned, rep.Tailscale.BackendState = true, "NotRunning"
	return rep
}

// TestRemediesComplete walks fixes.All(): each remedy has everything the
// CLI, the wizard and the verdict need, so adding one cannot forget a
// piece: its info and promise in both languages, an ID and name of its
// own, a recommendation hook that addresses some diagnosis, and its place
// in the generated lists.
func TestRemediesComplete(t *testing.T) {
	scenarios := map[string]checks.Report{"drop": dropReport(), "orphaned": orphanedReport(), "well": wellReport(),
		"subnet": routeReport(checks.ReasonSubnetRoute), "exit": routeReport(checks.ReasonExitNode)}
	ids, names := map[ID]bool{}, map[string]bool{}
	for _, r := range All() {
		in := r.Info()
		if in.ID <= 0 || ids[in.ID] || in.Name == "" || names[in.Name] {
			t.Errorf("remedy %d %q: ID and name must be positive, set and unique", in.ID, in.Name)
		}
		ids[in.ID], names[in.Name] = true, true
		if got, err := ByID(in.ID); err != nil || got.Info().Name != in.Name {
			t.Errorf("ByID(%d) = %v, %v", in.ID, got, err)
		}
		if !slices.Contains([]Level{Low, Medium, High}, in.Invasive) || !slices.Contains([]Lasts{LastsYes, LastsNo, LastsUnit}, in.SurvivesRestart) ||
			!slices.Contains([]Lasts{LastsYes, LastsNo, LastsUnit}, in.SurvivesReboot) {
			t.Errorf("remedy %d: trade-offs %+v", in.ID, in.Tradeoffs)
		}
		msgs := map[string]i18n.Msg{"title": in.Title, "short": in.Short, "changes": in.Changes, "security": in.Security,
			"loses": in.Loses, "cost": in.Cost, "promise.restart": in.Promise.Restart, "promise.reboot": in.Promise.Reboot}
		for what, m := range msgs {
			en, zh := m.String(i18n.EN), m.String(i18n.ZH)
			if m.Key == "" || !i18n.Has(m.Key) || en == "" || zh == "" || en == zh || strings.HasPrefix(en, "!") {
				t.Errorf("remedy %d: %s %q is missing or untranslated (en %q, zh %q)", in.ID, what, m.Key, en, zh)
			}
		}
		addressed := false
		for name, rep := range scenarios {
			rec := r.Recommend(rep)
			if rec.Rank == 0 {
				continue
			}
			addressed = true
			if rec.ID != in.ID {
				t.Errorf("remedy %d recommends itself as %d (%s)", in.ID, rec.ID, name)
			}
			for _, m := range rec.Why {
				if !i18n.Has(m.Key) {
					t.Errorf("remedy %d (%s): reason %q is not in the catalog", in.ID, name, m.Key)
				}
			}
		}
		if !addressed {
			t.Errorf("remedy %d addresses no diagnosis: the verdict would never list it", in.ID)
		}
		for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
			item := strings.TrimSpace(strings.Join([]string{itoa(in.ID), in.Short.String(l)}, " "))
			if !strings.Contains(List(All()).String(l), item) {
				t.Errorf("%s list %q lacks %q", l, List(All()).String(l), item)
			}
		}
	}
}

func itoa(id ID) string { return string(rune('0' + id)) }

// TestRecommend: the remedies' own cases pick what the wizard stars and
// what the verdict's "Fix it" lists.
func TestRecommend(t *testing.T) {
	old := dropReport()
	old.Tailscale.Version = "1.96.5"
	routes := dropReport()
	routes.Tailscale.ExitNode = true
	cases := []struct {
		name       string
		rep        checks.Report
		want       ID
		why        []string
		addressing []ID
	}{
		{"drop", dropReport(), GuardID, []string{"tui.rec.guard", "tui.rec.attr"}, []ID{1, 2, 3, 4, 5, 6}},
		{"old tailscaled", old, GuardID, []string{"tui.rec.guard", "tui.rec.oldattr"}, []ID{1, 2, 3, 4, 5, 6}},
		{"exit node", routes, GuardID, []string{"tui.rec.guard", "tui.rec.attr", "tui.rec.routes"}, []ID{1, 2, 3, 4, 5, 6}},
		{"orphaned", orphanedReport(), DeleteDropID, []string{"tui.rec.orphaned"}, []ID{1, 2, 3, 4, 5, 6}},
		{"subnet route", routeReport(checks.ReasonSubnetRoute), PolicyRouteID, []string{"tui.rec.route"}, []ID{7, 8}},
		{"exit-node route", routeReport(checks.ReasonExitNode), PolicyRouteID, []string{"tui.rec.route"}, []ID{7}},
		{"well", wellReport(), 0, []string{"tui.rec.none"}, nil},
	}
	for _, tc := range cases {
		rec := Recommend(tc.rep)
		var why []string
		for _, m := range rec.Why {
			why = append(why, m.Key)
		}
		var addr []ID
		for _, r := range Addressing(tc.rep) {
			addr = append(addr, r.Info().ID)
		}
		if rec.ID != tc.want || !slices.Equal(why, tc.why) || !slices.Equal(addr, tc.addressing) {
			t.Errorf("%s: recommended %d %v, addressing %v; want %d %v, %v", tc.name, rec.ID, why, addr, tc.want, tc.why, tc.addressing)
		}
		if strings.Contains(rec.Text(i18n.ZH), "!") {
			t.Errorf("%s: reason %q", tc.name, rec.Text(i18n.ZH))
		}
	}
}

// TestVerifyEachRemedy: each remedy judges the re-run check by its own
// promise: it fails on the host as it was and passes once its change
// shows, and Verify hands out the remedy's restart/reboot promise.
func TestVerifyEachRemedy(t *testing.T) {
	allow := &Plan{Allow: []netip.Addr{dns136, dns138}}
	metaOnly := func() checks.Report {
		rep := wellReport()
		rep.Blocked = []checks.BlockedService{{Address: meta, Port: 80, Service: "metadata"}}
		return rep
	}
	nfOff := wellReport()
	nfOff.Tailscale.NetfilterMode = tailscale.NetfilterOff
	nfOff.Firewall.Backends[0].Chains = nil
	attr := wellReport()
	attr.Tailscale.NodeAttr, attr.Tailscale.CGNATDropOff = true, true
	routed := routeReport(checks.ReasonSubnetRoute)
	cases := []struct {
		id           ID
		plan         *Plan
		before, fixd checks.Report
	}{
		{DeleteDropID, nil, dropReport(), wellReport()},
		{WhitelistID, allow, dropReport(), metaOnly()},
		{GuardID, allow, dropReport(), metaOnly()},
		{PublicDNSID, nil, dropReport(), metaOnly()},
		{NetfilterOffID, nil, dropReport(), nfOff},
		{NodeAttrID, &Plan{Manual: true}, dropReport(), attr},
		{PolicyRouteID, &Plan{Allow: []netip.Addr{dns136}}, routed, wellReport()},
		{AcceptRoutesOffID, nil, routed, wellReport()},
	}
	seen := map[ID]bool{}
	for _, tc := range cases {
		seen[tc.id] = true
		r, _ := ByID(tc.id)
		for _, step := range []struct {
			rep  checks.Report
			want bool
		}{{tc.before, false}, {tc.fixd, true}} {
			h := &Host{Root: t.TempDir(), Diagnose: func(context.Context) checks.Report { return step.rep }}
			v := Verify(context.Background(), h, tc.id, tc.plan)
			if v.Passed != step.want {
				t.Errorf("remedy %d: passed %v, want %v (details %v)", tc.id, v.Passed, step.want, v.Details)
			}
			if v.Restart.Key != r.Info().Promise.Restart.Key || v.Reboot.Key != r.Info().Promise.Reboot.Key {
				t.Errorf("remedy %d: promise %v / %v", tc.id, v.Restart, v.Reboot)
			}
		}
	}
	for _, r := range All() {
		if !seen[r.Info().ID] {
			t.Errorf("remedy %d has no verify case here", r.Info().ID)
		}
	}
}

// TestAwait: remedy 6 waits for the tailnet admin's change to arrive (the
// check re-run until it passes), and only a manual plan waits.
func TestAwait(t *testing.T) {
	defer func(d time.Duration) { awaitEvery = d }(awaitEvery)
	awaitEvery = time.Millisecond
	calls := 0
	attr := wellReport()
	attr.Tailscale.NodeAttr, attr.Tailscale.CGNATDropOff = true, true
	h := &Host{Root: t.TempDir(), Diagnose: func(context.Context) checks.Report {
		calls++
		if calls < 3 {
			return dropReport()
		}
		return attr
	}}
	ctx := context.Background()
	if v := Await(ctx, h, NodeAttrID, &Plan{Manual: true}, 0); v.Passed || calls != 1 {
		t.Errorf("no wait: passed %v after %d checks, want one failed check", v.Passed, calls)
	}
	if v := Await(ctx, h, NodeAttrID, &Plan{Manual: true}, time.Minute); !v.Passed || calls != 3 {
		t.Errorf("wait: passed %v after %d checks, want a pass on the third", v.Passed, calls)
	}
	calls = 0
	if v := Await(ctx, h, DeleteDropID, &Plan{}, time.Minute); v.Passed || calls != 1 {
		t.Errorf("a plan that needs no one else: %d checks, want one", calls)
	}
	calls = 0
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if v := Await(cctx, h, NodeAttrID, &Plan{Manual: true}, time.Minute); v.Passed || calls != 1 {
		t.Errorf("cancelled: %d checks, want one", calls)
	}
}

// TestApplicability: "nothing to fix" is success only on a well host; the
// node attribute's plan is shown even where it does not apply.
func TestApplicability(t *testing.T) {
	h := &Host{Root: t.TempDir()}
	routed := routeReport(checks.ReasonExitNode)
	old := dropReport()
	old.Tailscale.Version = "1.96.5"
	nf := dropReport()
	nf.Tailscale.NetfilterMode = tailscale.NetfilterOff
	cases := []struct {
		name string
		r    Remedy
		rep  checks.Report
		fit  Fit
		key  string
		plan bool
	}{
		{"1 on a DROP", DeleteDrop{}, dropReport(), Fits, "", false},
		{"1 on a well host", DeleteDrop{}, wellReport(), AlreadyDone, "fix.why.nodrop", false},
		{"2 on a route", Whitelist{}, routed, NotApplicable, "fix.why.nodrop", false},
		{"5 already off, still blocked", NetfilterOff{}, nf, NotApplicable, "fix.why.nfoff", false},
		{"5 orphaned", NetfilterOff{}, orphanedReport(), NotApplicable, "fix.why.orphaned", false},
		{"6 too old", NodeAttr{}, old, NotApplicable, "fix.why.oldversion", true},
		{"8 on an exit node", AcceptRoutesOff{}, routed, NotApplicable, "fix.why.notsubnet", false},
		{"8 on a well host", AcceptRoutesOff{}, wellReport(), AlreadyDone, "fix.why.notsubnet", false},
	}
	for _, tc := range cases {
		a := tc.r.Applies(h, tc.rep)
		if a.Fit != tc.fit || a.Why.Key != tc.key || a.PlanAnyway != tc.plan || a.OK() != (tc.fit == Fits) {
			t.Errorf("%s: %+v, want fit %d %q plan-anyway %v", tc.name, a, tc.fit, tc.key, tc.plan)
		}
	}
}

// TestErrorsTranslate: errors from fixes carry their message, so the
// Chinese wizard and CLI show Chinese; Error() stays English, and the
// cause stays reachable.
func TestErrorsTranslate(t *testing.T) {
	_, err := DeleteDrop{}.Plan(context.Background(), &Host{}, wellReport(), Options{})
	if err == nil {
		t.Fatal("no error planning remedy 1 without a DROP")
	}
	if en, zh := Message(err, i18n.EN), Message(err, i18n.ZH); en != err.Error() || !strings.Contains(en, "no CGNAT DROP rule") || !strings.Contains(zh, "没有 CGNAT DROP 规则") {
		t.Errorf("en %q zh %q (Error %q)", en, zh, err.Error())
	}
	_, err = AcceptRoutesOff{}.Plan(context.Background(), &Host{}, wellReport(), Options{})
	if zh := Message(err, i18n.ZH); !strings.Contains(zh, "修复方案 8 不适用") || !strings.Contains(zh, "子网路由") {
		t.Errorf("nested message not translated: %q", zh)
	}
	locked := failureOf(ErrLocked, i18n.M("fix.err.locked.pid", "42"))
	if !errors.Is(locked, ErrLocked) || !strings.Contains(Message(locked, i18n.ZH), "pid 42") {
		t.Errorf("locked: %v", locked)
	}
	joined := errors.Join(failure(i18n.M("fix.err.undo.nostate", "/etc/x")), errors.New("plain"))
	if zh := Message(joined, i18n.ZH); zh != "变更记录中没有 /etc/x 之前的状态\nplain" {
		t.Errorf("joined: %q", zh)
	}
	if _, err := ParseShape("round"); err == nil || !strings.Contains(Message(err, i18n.ZH), "未知的白名单形式") {
		t.Errorf("shape: %v", err)
	}
	other := errors.New("exec: boom")
	if Message(other, i18n.ZH) != "exec: boom" {
		t.Errorf("a plain error changed")
	}
}
