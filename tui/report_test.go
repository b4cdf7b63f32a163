package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// TestReportNamesTheHost: the incident report says which host it is about
// and when, in both languages (it showed only a time after "Host:").
func TestReportNamesTheHost(t *testing.T) {
	fixed := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
		m := New(context.Background(), &fakeEngine{root: true}, Options{Lang: l, Hostname: "ecs-prod-7\x1b]0;x\x07", Now: func() time.Time { return fixed }})
		md := m.Markdown()
		for _, want := range []string{i18n.T(l, "tui.report.host") + ": ecs-prod-7", i18n.T(l, "tui.report.time") + ": 2026-11-25 03:00:00 UTC"} {
			if !strings.Contains(md, want) {
				t.Errorf("%s report lacks %q:\n%s", l, want, md)
			}
		}
		if strings.ContainsRune(md, 0x1b) {
			t.Errorf("%s report passes the host name's escape sequence through", l)
		}
	}
	if m := New(context.Background(), &fakeEngine{}, Options{}); m.opts.Hostname == "" {
		t.Error("no host name by default")
	}
}
