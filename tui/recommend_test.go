package tui

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// TestRecommendOrphaned: with tailscaled dead and its rules orphaned, the
// wizard recommends remedy 1 (tailscaled --cleanup), not the guard, which
// would keep whitelisting into chains nobody owns.
func TestRecommendOrphaned(t *testing.T) {
	m := New(context.Background(), &fakeEngine{root: true}, Options{Lang: i18n.EN})
	rep := fakeReport()
	m.report = &rep
	m.recommend()
	if m.recommended != fixes.GuardID {
		t.Fatalf("running tailscaled: recommended %d, want the guard", m.recommended)
	}
	m.report.Orphaned = true
	m.report.Tailscale.BackendState = "NotRunning"
	m.recommend()
	if m.recommended != fixes.DeleteDropID || m.sel != int(fixes.DeleteDropID)-1 || m.recReason.Key != "tui.rec.orphaned" {
		t.Errorf("orphaned rules: recommended %d (sel %d, %q), want remedy 1", m.recommended, m.sel, m.recReason.Key)
	}
}

// TestRemediesFromAll: the wizard's remedies table lists every remedy of
// fixes.All(), in both languages, and stars the one the remedies'
// own recommendation picks.
func TestRemediesFromAll(t *testing.T) {
	for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
		m := New(context.Background(), &fakeEngine{root: true}, Options{Lang: l})
		rep := fakeReport()
		m.report = &rep
		m.recommend()
		view := ansi.Strip(strings.Join(m.remediesView(140), "\n"))
		for _, r := range fixes.All() {
			// The table cuts long titles to its column: their start.
			in := r.Info()
			head := string([]rune(in.Title.String(l))[:8])
			if !strings.Contains(view, head) {
				t.Errorf("%s: the remedies table lacks %d %q:\n%s", l, in.ID, head, view)
			}
		}
		if want := fixes.Recommend(rep); m.recommended != want.ID || !strings.Contains(view, fmt.Sprintf("%d ★", want.ID)) {
			t.Errorf("%s: starred %d, want %d:\n%s", l, m.recommended, want.ID, view)
		}
	}
}

// TestPlanErrorTranslated: an error from fixes shows in the wizard's
// language (it was English inside the Chinese wizard).
func TestPlanErrorTranslated(t *testing.T) {
	m := New(context.Background(), &fakeEngine{root: true}, Options{Lang: i18n.ZH})
	rep := fakeReport()
	rep.Culprit, rep.Firewall = nil, nil
	m.remedy = fixes.DeleteDrop{}
	_, m.planErr = fixes.DeleteDrop{}.Plan(context.Background(), &fixes.Host{}, rep, fixes.Options{})
	view := ansi.Strip(strings.Join(m.planView(100), "\n"))
	if m.planErr == nil || !strings.Contains(view, "本机没有 CGNAT DROP 规则") || strings.Contains(view, "no CGNAT DROP rule") {
		t.Errorf("plan error %v shown as:\n%s", m.planErr, view)
	}
}

// TestRecommendedOnce: the reason under the remedies table says
// "Recommended:" once, whatever form the problem has (the route form's
// reason said it again: "Recommended: Recommended: …").
func TestRecommendedOnce(t *testing.T) {
	route := fakeReport()
	route.Culprit = nil
	route.Route = &checks.RouteCapture{Prefix: netip.MustParsePrefix("100.100.2.0/24"), Table: 52, Device: "tailscale0", Reason: checks.ReasonSubnetRoute}
	orphaned := fakeReport()
	orphaned.Orphaned = true
	for name, rep := range map[string]checks.Report{"drop": fakeReport(), "route": route, "orphaned": orphaned} {
		for l, word := range map[i18n.Lang]string{i18n.EN: "Recommended:", i18n.ZH: "推荐："} {
			m := New(context.Background(), &fakeEngine{root: true}, Options{Lang: l})
			m.report = &rep
			m.recommend()
			view := ansi.Strip(strings.Join(m.remediesView(200), " "))
			if n := strings.Count(view, word); n != 1 {
				t.Errorf("%s (%s): %q %d times:\n%s", name, l, word, n, view)
			}
		}
	}
}
