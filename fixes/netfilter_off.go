package fixes

import (
	"context"
	"fmt"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// NetfilterOff is remedy 5: tell tailscaled to manage no firewall at all.
type NetfilterOff struct{}

func (NetfilterOff) Info() Info {
	return Info{ID: NetfilterOffID, Name: "netfilter-off", Title: i18n.M("fix.5.title"), Changes: i18n.M("fix.5.changes"),
		Tradeoffs: Tradeoffs{Invasive: High, SurvivesRestart: LastsYes, SurvivesReboot: LastsYes,
			Security: i18n.M("fix.5.security"), Loses: i18n.M("fix.5.loses"), Cost: i18n.M("fix.5.cost")}}
}

func (NetfilterOff) Applies(h *Host, rep checks.Report) (bool, i18n.Msg) {
	ts := rep.Tailscale
	switch {
	case !ts.Installed:
		return false, i18n.M("fix.why.notailscale")
	case ts.BackendState != "Running":
		return false, i18n.M("fix.why.notrunning")
	case ts.NetfilterMode == tailscale.NetfilterOff:
		return false, i18n.M("fix.why.nfoff")
	}
	return true, i18n.Msg{}
}

func (r NetfilterOff) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	if ok, why := r.Applies(h, rep); !ok {
		return nil, fmt.Errorf("remedy 5 does not apply: %s", why.String(i18n.EN))
	}
	ts := rep.Tailscale
	prev := string(ts.NetfilterMode)
	if prev == "" {
		prev = string(tailscale.NetfilterOn)
	}
	p := &Plan{Remedy: NetfilterOffID}
	p.addCommand([]string{"tailscale", "set", "--netfilter-mode=off"}, []string{"tailscale", "set", "--netfilter-mode=" + prev})
	switch {
	case ts.ExitNode:
		p.note("fix.5.note.exitnode")
	case len(ts.AdvertiseRoutes) > 0:
		p.note("fix.5.note.routes", strings.Join(ts.AdvertiseRoutes, ", "))
	}
	if inputPolicyDrop(rep) {
		p.note("fix.5.note.policydrop")
	}
	p.note("fix.5.note.lost")
	return p, nil
}

// inputPolicyDrop: a base INPUT chain drops by default, so with tailscaled's
// ACCEPT for tailscale0 gone, nothing lets Tailscale traffic in.
func inputPolicyDrop(rep checks.Report) bool {
	if rep.Firewall == nil {
		return false
	}
	for _, b := range rep.Firewall.Backends {
		for _, c := range b.Chains {
			if c.Hook == "input" && strings.EqualFold(c.Policy, "DROP") {
				return true
			}
		}
	}
	return false
}
