package tui

import (
	"context"
	"testing"

	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// leftAloneEngine undoes into a chain tailscaled has rebuilt since.
type leftAloneEngine struct{ *fakeEngine }

func (e leftAloneEngine) Undo(ctx context.Context) ([]fixes.UndoResult, error) {
	res, err := e.fakeEngine.Undo(ctx)
	res[0].LeftAlone = []i18n.Msg{i18n.M("undo.rebuilt", "filter/ts-input (iptables-nft)")}
	return res, err
}

// TestUndoSaysWhatItLeftAlone: after u, the wizard says which chain
// tailscaled rebuilt since the fix, as `tsdoctor undo` does, in both
// languages.
func TestUndoSaysWhatItLeftAlone(t *testing.T) {
	for _, c := range []struct {
		lang i18n.Lang
		want string
	}{{i18n.EN, "tailscaled has rebuilt this chain"}, {i18n.ZH, "已重建这条链并放回了它自己的规则"}} {
		eng := leftAloneEngine{&fakeEngine{root: true}}
		d := newDriver(t, eng, c.lang, 120, 40)
		d.press("enter", "enter", "enter") // DNS, MagicDNS, the trace prompt
		d.press("y", "enter", "enter")     // trace, rules, remedies
		d.press("up", "enter", "y")        // the whitelist, applied
		d.press("u")
		d.want(c.want)
		if c.lang == i18n.EN {
			d.want("Undone: everything else it touched is as before.")
		}
	}
}
