package tui

import (
	"context"
	"testing"

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
