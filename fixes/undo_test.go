package fixes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// TestUndoNetfilterOnlyWhileStillOff: remedy 5's undo sets the mode the
// node had (nodivert stays nodivert) back only while tailscaled still has
// the "off" the fix set; a mode chosen since is left alone and said so. It
// then reads the mode again: one that is not the mode before (the command
// did not take, or tailscaled cannot say) is a difference, not "as before".
func TestUndoNetfilterOnlyWhileStillOff(t *testing.T) {
	for _, c := range []struct {
		name      string
		start     int    // the mode before the fix: 1 nodivert, 2 on
		prefs     string // `tailscale debug prefs` at undo; "" fails
		ignored   bool   // tailscaled does not take the undo's set
		wantSet   string // the mode undo sets, "" none
		wantNotes int
		wantSame  bool
	}{
		{"still off", 2, `{"NetfilterMode": 0}`, false, "on", 0, true},
		{"still off, nodivert before", 1, `{"NetfilterMode": 0}`, false, "nodivert", 0, true},
		{"nodivert since", 2, `{"NetfilterMode": 1}`, false, "", 1, true},
		{"on since", 1, `{"NetfilterMode": 2}`, false, "", 1, true},
		{"unreadable", 2, "", false, "on", 0, false},
		{"set not taken", 2, `{"NetfilterMode": 0}`, true, "on", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ran [][]string
			prefs := fmt.Sprintf(`{"NetfilterMode": %d}`, c.start) // when the plan is made
			h := tempHost(t, func(ctx context.Context, name string, args ...string) ([]byte, error) {
				cmd := append([]string{name}, args...)
				switch {
				case slices.Equal(cmd, []string{"tailscale", "set", "--help"}):
					return []byte("--netfilter-mode string"), nil
				case slices.Equal(cmd, []string{"tailscale", "debug", "prefs"}):
					if prefs == "" {
						return nil, errors.New("failed to connect to local tailscaled")
					}
					return []byte(prefs), nil
				}
				ran = append(ran, cmd)
				if m, ok := strings.CutPrefix(strings.Join(cmd, " "), "tailscale set --netfilter-mode="); ok && prefs != "" && !c.ignored {
					prefs = fmt.Sprintf(`{"NetfilterMode": %d}`, slices.Index([]string{"off", "nodivert", "on"}, m))
				}
				return nil, nil
			})
			rep := checks.Report{Tailscale: tailscale.State{Installed: true, BackendState: "Running", NetfilterMode: tailscale.NetfilterOn}}
			p, err := NetfilterOff{}.Plan(context.Background(), h, rep, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Apply(context.Background(), h, p); err != nil {
				t.Fatal(err)
			}
			ran, prefs = nil, c.prefs
			res, err := Undo(context.Background(), h, false)
			if err != nil || len(res) != 1 || res[0].Same != c.wantSame {
				t.Fatalf("undo: %v %+v, want same %v", err, res, c.wantSame)
			}
			var set []string
			if c.wantSet != "" {
				set = []string{"tailscale", "set", "--netfilter-mode=" + c.wantSet}
			}
			if !slices.EqualFunc(ran, [][]string{set}, slices.Equal) && !(set == nil && len(ran) == 0) || len(res[0].LeftAlone) != c.wantNotes {
				t.Errorf("ran %q, left alone %v; want %q, %d note(s)", ran, res[0].LeftAlone, set, c.wantNotes)
			}
		})
	}
}
