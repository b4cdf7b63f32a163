package fixes

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// TestUndoNetfilterOnlyWhileStillOff: remedy 5's undo sets the old mode
// back only while tailscaled still has the "off" the fix set; a mode chosen
// since is left alone and said so; a mode it cannot read does not stop it.
func TestUndoNetfilterOnlyWhileStillOff(t *testing.T) {
	for _, c := range []struct {
		name      string
		prefs     string // `tailscale debug prefs`; "" fails
		wantSet   bool
		wantNotes int
	}{
		{"still off", `{"NetfilterMode": 0}`, true, 0},
		{"nodivert since", `{"NetfilterMode": 1}`, false, 1},
		{"on since", `{"NetfilterMode": 2}`, false, 1},
		{"unreadable", "", true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ran [][]string
			prefs := `{"NetfilterMode": 2}` // when the plan is made
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
			if err != nil || len(res) != 1 || !res[0].Same {
				t.Fatalf("undo: %v %+v", err, res)
			}
			set := slices.ContainsFunc(ran, func(cmd []string) bool {
				return slices.Equal(cmd, []string{"tailscale", "set", "--netfilter-mode=on"})
			})
			if set != c.wantSet || len(res[0].LeftAlone) != c.wantNotes {
				t.Errorf("ran %q, left alone %v; want set %v, %d note(s)", ran, res[0].LeftAlone, c.wantSet, c.wantNotes)
			}
		})
	}
}
