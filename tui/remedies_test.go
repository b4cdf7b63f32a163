package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// TestRemediesColumnsAligned: in the remedies table every row's "invasive"
// word starts in the header's column, also when a long Chinese title is cut
// with "…" where a double-width character did not fit (the hand-made pad
// left such a name one cell short and shifted the rest of its row left).
func TestRemediesColumnsAligned(t *testing.T) {
	for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
		for _, w := range []int{80, 100, 120} {
			for sel := range len(fixes.All()) {
				t.Run(fmt.Sprintf("%s-%d-sel%d", l, w, sel), func(t *testing.T) {
					d := newDriver(t, &fakeEngine{root: true}, l, w, 40)
					d.press("enter", "enter", "enter", "n", "enter", "enter")
					for range sel {
						d.press("up")
					}
					lines := strings.Split(d.screen(), "\n")
					head := i18n.T(l, "tui.col.invasive")
					col := -1
					for i, line := range lines {
						if before, _, ok := strings.Cut(line, " "+head); ok && col < 0 {
							col = ansi.StringWidth(before) + 1
							lines = lines[i+1 : i+1+len(fixes.All())]
							break
						}
					}
					if col < 0 {
						t.Fatalf("no table header:\n%s", d.screen())
					}
					for _, line := range lines {
						if ansi.Cut(line, col-1, col) != " " || ansi.Cut(line, col, col+1) == " " {
							t.Errorf("invasive column not at cell %d:\n%s\n%s", col, line, strings.Repeat(" ", col)+"^")
						}
					}
				})
			}
		}
	}
}
