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
	return Info{ID: NetfilterOffID, Name: "netfilter-off", Title: i18n.M("fix.5.title"), Short: i18n.M("fix.5.short"), Changes: i18n.M("fix.5.changes"),
		Promise: Promise{Restart: i18n.M("verify.restart.netfilter-off"), Reboot: i18n.M("verify.reboot.netfilter-off")},
		Tradeoffs: Tradeoffs{Invasive: High, SurvivesRestart: LastsYes, SurvivesReboot: LastsYes,
			Security: i18n.M("fix.5.security"), Loses: i18n.M("fix.5.loses"), Cost: i18n.M("fix.5.cost")}}
}

func (NetfilterOff) Applies(h *Host, rep checks.Report) Applicability {
	ts := rep.Tailscale
	switch {
	case !ts.Installed:
		return notApplicable(i18n.M("fix.why.notailscale"))
	case rep.Orphaned:
		return notApplicable(i18n.M("fix.why.orphaned"))
	case ts.BackendState != "Running":
		return notApplicable(i18n.M("fix.why.notrunning"))
	case ts.NetfilterMode == tailscale.NetfilterOff:
		return nothingToFix(rep, i18n.M("fix.why.nfoff"))
	}
	return fits()
}

func (NetfilterOff) Recommend(rep checks.Report) Recommendation {
	return forTheDrop(NetfilterOffID, rep)
}

// Verify: netfilter is off, tailscaled's chains are gone from every
// backend, and nothing is blocked.
func (NetfilterOff) Verify(ctx context.Context, h *Host, p *Plan, v *Verification) {
	rep := v.Report
	left := tailscaleChains(rep.Firewall)
	v.Passed = rep.Tailscale.NetfilterMode == tailscale.NetfilterOff && len(left) == 0 && len(rep.Blocked) == 0
	for _, c := range left {
		v.Details = append(v.Details, i18n.M("verify.5.chainleft", c.Backend, c.Table, c.Chain))
	}
}

func (r NetfilterOff) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	if a := r.Applies(h, rep); !a.OK() {
		return nil, failure(i18n.M("fix.err.notapplies", int(NetfilterOffID), a.Why))
	}
	ts := rep.Tailscale
	prev := string(ts.NetfilterMode)
	if prev == "" {
		prev = string(tailscale.NetfilterOn)
	}
	p := &Plan{Remedy: NetfilterOffID}
	if setKnowsNetfilter(ctx, h) {
		p.addCommandPair(CommandPair{Do: []string{"tailscale", "set", "--netfilter-mode=off"},
			Undo: []string{"tailscale", "set", "--netfilter-mode=" + prev}, Netfilter: tailscale.NetfilterOff})
	} else {
		// Older clients: `tailscale up` must restate every non-default
		// setting, or it refuses (or resets them).
		p.addCommandPair(CommandPair{Do: upArgs(ts, "off"), Undo: upArgs(ts, prev), Netfilter: tailscale.NetfilterOff})
		p.note("fix.5.note.up")
	}
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

// setKnowsNetfilter asks the CLI whether `tailscale set` takes
// --netfilter-mode (older clients only had `tailscale up --netfilter-mode`).
func setKnowsNetfilter(ctx context.Context, h *Host) bool {
	out, _ := h.run(ctx, []string{"tailscale", "set", "--help"})
	return strings.Contains(string(out), "netfilter-mode")
}

// upArgs is `tailscale up` with the node's current settings and mode.
func upArgs(ts tailscale.State, mode string) []string {
	args := []string{"tailscale", "up", "--netfilter-mode=" + mode}
	if ts.AcceptDNS != nil {
		args = append(args, fmt.Sprintf("--accept-dns=%v", *ts.AcceptDNS))
	}
	if len(ts.AdvertiseRoutes) > 0 {
		args = append(args, "--advertise-routes="+strings.Join(ts.AdvertiseRoutes, ","))
	}
	if ts.ExitNode {
		args = append(args, "--advertise-exit-node")
	}
	if ts.HostName != "" {
		args = append(args, "--hostname="+ts.HostName)
	}
	return args
}

// inputPolicyDrop: a base INPUT chain drops by default (policy DROP, or a
// final catch-all DROP/REJECT under policy ACCEPT), so with tailscaled's
// ACCEPT for tailscale0 gone, nothing lets Tailscale traffic in.
func inputPolicyDrop(rep checks.Report) bool {
	return rep.Firewall != nil && rep.Firewall.InputDeniesByDefault()
}
