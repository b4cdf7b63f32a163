package fixes

import (
	"context"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// AcceptRoutesOff is remedy 8: `tailscale set --accept-routes=false`, so
// tailscaled drops every accepted subnet route (the VPC's among them) from
// table 52. It costs every other subnet route too; remedy 7 costs nothing.
type AcceptRoutesOff struct{}

func (AcceptRoutesOff) Info() Info {
	return Info{ID: AcceptRoutesOffID, Name: "accept-routes-off", Title: i18n.M("fix.8.title"), Short: i18n.M("fix.8.short"), Changes: i18n.M("fix.8.changes"),
		Promise: Promise{Restart: i18n.M("verify.restart.accept-routes-off"), Reboot: i18n.M("verify.reboot.accept-routes-off")},
		Tradeoffs: Tradeoffs{Invasive: Medium, SurvivesRestart: LastsYes, SurvivesReboot: LastsYes,
			Security: i18n.M("fix.8.security"), Loses: i18n.M("fix.8.loses"), Cost: i18n.M("fix.8.cost")}}
}

func (AcceptRoutesOff) Applies(h *Host, rep checks.Report) Applicability {
	ts := rep.Tailscale
	switch {
	case !ts.Installed:
		return notApplicable(i18n.M("fix.why.notailscale"))
	case ts.BackendState != "Running":
		return notApplicable(i18n.M("fix.why.notrunning"))
	case !subnetCaptured(rep):
		return nothingToFix(rep, i18n.M("fix.why.notsubnet"))
	}
	return fits()
}

// subnetCaptured: an accepted subnet route captures the VPC services (an
// exit node's routes are not this pref's).
func subnetCaptured(rep checks.Report) bool {
	return rep.Route != nil && rep.Route.Reason == checks.ReasonSubnetRoute
}

func (AcceptRoutesOff) Recommend(rep checks.Report) Recommendation {
	if !subnetCaptured(rep) {
		return Recommendation{}
	}
	return rank(AcceptRoutesOffID, 1)
}

// Verify: no accepted subnet route captures the services any more.
func (AcceptRoutesOff) Verify(ctx context.Context, h *Host, p *Plan, v *Verification) {
	v.Passed = !subnetCaptured(v.Report)
}

func (r AcceptRoutesOff) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	if a := r.Applies(h, rep); !a.OK() {
		return nil, failure(i18n.M("fix.err.notapplies", int(AcceptRoutesOffID), a.Why))
	}
	p := &Plan{Remedy: AcceptRoutesOffID}
	p.addCommand([]string{"tailscale", "set", "--accept-routes=false"}, []string{"tailscale", "set", "--accept-routes=true"})
	var lost []string
	for _, peer := range rep.Tailscale.Routing.Peers {
		for _, pr := range peer.PrimaryRoutes {
			if pr.Bits() > 0 {
				lost = append(lost, pr.String()+" ("+peer.Name()+")")
			}
		}
	}
	if len(lost) > 0 {
		p.note("fix.8.note.peers", strings.Join(lost, ", "))
	}
	return p, nil
}
