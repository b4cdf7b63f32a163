package fixes

import (
	"context"
	"errors"
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
	// The mode undo puts back is read now, from tailscaled itself: a guess
	// ("on" when the check could not read it) would turn a nodivert node
	// into one whose chains hook INPUT.
	raw, err := h.run(ctx, []string{"tailscale", "debug", "prefs"})
	var prefs tailscale.Prefs
	if err == nil {
		prefs, err = tailscale.ParsePrefsJSON(raw)
	}
	if err == nil && prefs.NetfilterMode == "" {
		err = errors.New("no NetfilterMode in `tailscale debug prefs`")
	}
	if err != nil {
		return nil, failureOf(err, i18n.M("fix.5.err.prefs", err))
	}
	prev := string(prefs.NetfilterMode)
	if prefs.NetfilterMode == tailscale.NetfilterOff {
		return nil, failure(i18n.M("fix.err.notapplies", int(NetfilterOffID), i18n.M("fix.why.nfoff")))
	}
	ts := rep.Tailscale
	p := &Plan{Remedy: NetfilterOffID}
	if setKnowsNetfilter(ctx, h) {
		p.addCommandPair(CommandPair{Do: []string{"tailscale", "set", "--netfilter-mode=off"},
			Undo: []string{"tailscale", "set", "--netfilter-mode=" + prev}, Netfilter: tailscale.NetfilterOff})
	} else {
		// Older clients: `tailscale up` resets what it is not told and
		// pins what it is, so it restates exactly the node's non-default
		// prefs, no more (never the OS's hostname as --hostname).
		exitIP := ""
		if peer, ok := ts.Routing.ExitNode(); ok && len(peer.TailscaleIPs) > 0 {
			exitIP = peer.TailscaleIPs[0].String()
		}
		flags, err := tailscale.UpFlags(raw, exitIP)
		if err != nil {
			return nil, failureOf(err, i18n.M("fix.5.err.up", err))
		}
		up := func(mode string) []string {
			return append([]string{"tailscale", "up", "--netfilter-mode=" + mode}, flags...)
		}
		p.addCommandPair(CommandPair{Do: up("off"), Undo: up(prev), Netfilter: tailscale.NetfilterOff})
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

// inputPolicyDrop: a base INPUT chain drops by default (policy DROP, or a
// final catch-all DROP/REJECT under policy ACCEPT), so with tailscaled's
// ACCEPT for tailscale0 gone, nothing lets Tailscale traffic in.
func inputPolicyDrop(rep checks.Report) bool {
	return rep.Firewall != nil && rep.Firewall.InputDeniesByDefault()
}
