package fixes

import (
	"context"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// DeleteDrop is remedy 1: delete tailscaled's CGNAT DROP rule, on whichever
// backend holds it. It lasts until tailscaled rebuilds its chains.
type DeleteDrop struct{}

func (DeleteDrop) Info() Info {
	return Info{ID: DeleteDropID, Name: "delete-drop", Title: i18n.M("fix.1.title"), Short: i18n.M("fix.1.short"), Changes: i18n.M("fix.1.changes"),
		Promise: Promise{Restart: i18n.M("verify.restart.delete-drop"), Reboot: i18n.M("verify.reboot.delete-drop")},
		Tradeoffs: Tradeoffs{Invasive: Low, SurvivesRestart: LastsNo, SurvivesReboot: LastsNo,
			Security: i18n.M("fix.1.security"), Loses: i18n.M("fix.1.loses"), Cost: i18n.M("fix.1.cost")}}
}

func (DeleteDrop) Applies(h *Host, rep checks.Report) Applicability {
	return whitelistApplies(rep)
}

// Recommend: with tailscaled gone and its rules orphaned, there is nothing
// to rebuild or honour anything: clean up after it (the guard would keep
// whitelisting into chains nobody owns).
func (DeleteDrop) Recommend(rep checks.Report) Recommendation {
	switch {
	case !dropForm(rep):
		return Recommendation{}
	case rep.Orphaned:
		return rank(DeleteDropID, 30, i18n.M("tui.rec.orphaned"))
	}
	return rank(DeleteDropID, 1)
}

// Verify: no CGNAT DROP left, nothing blocked.
func (DeleteDrop) Verify(ctx context.Context, h *Host, p *Plan, v *Verification) {
	v.Passed = len(tsrules.CGNATDrops(v.Report.Firewall)) == 0 && len(v.Report.Blocked) == 0
}

func (DeleteDrop) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	drops := tsrules.CGNATDrops(rep.Firewall)
	if len(drops) == 0 {
		return nil, failure(i18n.M("fix.err.1.nodrop"))
	}
	if rep.Orphaned {
		return orphanedPlan(rep), nil
	}
	p := &Plan{Remedy: DeleteDropID}
	byBackend := map[firewall.Backend][]firewall.Change{}
	var order []firewall.Backend
	for _, d := range drops {
		spec, ok := firewall.SpecOf(d)
		if !ok {
			return nil, failure(i18n.M("fix.err.1.unmodelled", d.Text))
		}
		if _, seen := byBackend[d.Backend]; !seen {
			order = append(order, d.Backend)
		}
		byBackend[d.Backend] = append(byBackend[d.Backend], firewall.Change{Delete: true, Ref: d.ChainRef, Pos: d.Position, Spec: spec, Handle: d.Handle})
	}
	for _, b := range order {
		p.addFirewall(byBackend[b])
	}
	p.note("fix.1.note.rebuild")
	return p, nil
}
