package main

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// TestPrintHumanColumns: in both languages every step's summary starts at
// the same terminal column, counted in cells (a Chinese title is twice as
// wide as its runes), and colour comes only when asked for.
func TestPrintHumanColumns(t *testing.T) {
	var rep checks.Report
	for _, id := range checks.StepIDs() {
		rep.Steps = append(rep.Steps, checks.Finding{ID: id, Status: checks.Pass, Summary: i18n.Raw("SUMMARY")})
	}
	rep.Verdict = checks.Healthy
	for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
		for _, color := range []bool{false, true} {
			var b strings.Builder
			printHuman(&b, rep, l, false, color)
			out := b.String()
			if strings.Contains(out, "\x1b[") != color {
				t.Errorf("%s color=%v: escape sequences present = %v", l, color, !color)
			}
			lines := strings.Split(out, "\n")[:len(rep.Steps)]
			for _, line := range lines {
				before, _, ok := strings.Cut(ansi.Strip(line), "SUMMARY")
				if !ok || ansi.StringWidth(before) != 2+13+1 {
					t.Errorf("%s color=%v: summary at cell %d, want 16: %q", l, color, ansi.StringWidth(before), line)
				}
			}
		}
	}
}
