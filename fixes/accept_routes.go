package fixes

import (
	"context"
	"fmt"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// AcceptRoutesOff is remedy 8: `tailscale set --accept-routes=false`, so
// tailscaled drops every accepted subnet route (the VPC's among them) from
// table 52. It costs every other subnet route too; remedy 7 costs nothing.
type AcceptRoutesOff struct{}

func (AcceptRoutesOff) Info() Info {
	return Info{ID: AcceptRoutesOffID, Name: "accept-routes-off", Title: i18n.M("fix.8.title"), Changes: i18n.M("fix.8.changes"),
		Tradeoffs: Tradeoffs{Invasive: Medium, SurvivesRestart: LastsYes, SurvivesReboot: LastsYes,
			Security: i18n.M("fix.8.security"), Loses: i18n.M("fix.8.loses"), Cost: i18n.M("fix.8.cost")}}
}

func (AcceptRoutesOff) Applies(h *Host, rep checks.Report) (bool, i18n.Msg) {
	ts := rep.Tailscale
	switch {
	case !ts.Installed:
		return false, i18n.M("fix.why.notailscale")
	case ts.BackendState != "Running":
		return false, i18n.M("fix.why.notrunning")
	case rep.Route == nil || rep.Route.Reason != checks.ReasonSubnetRoute:
		return false, i18n.M("fix.why.notsubnet")
	}
	return true, i18n.Msg{}
}

func (r AcceptRoutesOff) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	if ok, why := r.Applies(h, rep); !ok {
		return nil, fmt.Errorf("remedy 8 does not apply: %s", why.String(i18n.EN))
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
