package fixes

import (
	"fmt"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// orphanedPlan is remedy 1 when tailscaled's rules are orphaned (it was
// killed or crashed and could not remove them): `tailscaled --cleanup`
// removes them all, as tailscaled does when it stops, instead of deleting
// only the DROP from chains nobody owns any more.
//
// Its undo story, told in the plan and by undo: the rules are not put back.
// They belonged to a tailscaled that is gone, and the DROP among them is what
// blocks DNS; tailscaled rebuilds its own, DROP included, when it starts.
func orphanedPlan(rep checks.Report) *Plan {
	p := &Plan{Remedy: DeleteDropID}
	cp := CommandPair{Do: []string{"tailscaled", "--cleanup"}, NotUndone: i18n.T(i18n.EN, "fix.1.orphaned.notundone")}
	p.Actions = append(p.Actions, Action{Command: &cp})
	var chains []string
	for _, c := range tailscaleChains(rep.Firewall) {
		chains = append(chains, fmt.Sprintf("%s %s/%s", c.Backend, c.Table, c.Chain))
	}
	p.Steps = append(p.Steps, Step{Text: i18n.M("fix.1.orphaned.step", strings.Join(chains, ", ")), Command: "tailscaled --cleanup"})
	p.note("fix.1.orphaned.undo")
	p.note("fix.1.orphaned.start")
	return p
}
