package fixes

import (
	"context"
	"slices"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// Verification is what a re-run of the check says after a remedy.
type Verification struct {
	Passed  bool                    `json:"passed"`
	Verdict checks.Verdict          `json:"verdict"`
	DNS     bool                    `json:"dns_answers"` // the resolvers in resolv.conf answer
	Blocked []checks.BlockedService `json:"blocked"`
	// Restart and Reboot say plainly what happens next time.
	Restart i18n.Msg      `json:"on_restart"`
	Reboot  i18n.Msg      `json:"on_reboot"`
	Details []i18n.Msg    `json:"details,omitempty"`
	Report  checks.Report `json:"-"`
}

// Verify re-runs the check and judges the remedy by what it promised. It
// never reports success for something not yet true: remedy 6 passes only
// once the attribute is live and the DROP has become RETURN.
func Verify(ctx context.Context, h *Host, id ID, p *Plan) Verification {
	rep := h.Diagnose(ctx)
	v := Verification{Verdict: rep.Verdict, Blocked: rep.Blocked, Report: rep,
		Restart: i18n.M("verify.restart." + nameOf(id)), Reboot: i18n.M("verify.reboot." + nameOf(id))}
	if v.Blocked == nil {
		v.Blocked = []checks.BlockedService{}
	}
	v.DNS = stepStatus(rep, "dns") == checks.Pass
	drops := cgnatDrops(rep.Firewall)
	switch id {
	case DeleteDropID:
		v.Passed = len(drops) == 0 && len(rep.Blocked) == 0
	case WhitelistID, GuardID:
		var still []string
		for _, b := range rep.Blocked {
			if p != nil && slices.Contains(p.Allow, b.Address) {
				still = append(still, b.Address.String())
			}
		}
		v.Passed = len(still) == 0 && p != nil && len(p.Allow) > 0
		for _, b := range rep.Blocked {
			if p != nil && !slices.Contains(p.Allow, b.Address) {
				v.Details = append(v.Details, i18n.M("verify.notallowed", b.Address.String(), b.Service))
			}
		}
		if (id == WhitelistID || id == GuardID) && !h.Systemd {
			v.Details = append(v.Details, i18n.M("verify.nosystemd"))
		}
	case PublicDNSID:
		if ok, judged := stubAnswers(ctx, h, &v); judged {
			v.DNS = ok
		}
		v.Passed = v.DNS
		if len(rep.Blocked) > 0 {
			v.Details = append(v.Details, i18n.M("verify.4.stillblocked", len(rep.Blocked)))
		}
	case NetfilterOffID:
		v.Passed = rep.Tailscale.NetfilterMode == tailscale.NetfilterOff && len(tailscaleChains(rep.Firewall)) == 0 && len(rep.Blocked) == 0
		for _, c := range tailscaleChains(rep.Firewall) {
			v.Details = append(v.Details, i18n.M("verify.5.chainleft", c.Backend, c.Table, c.Chain))
		}
	case PolicyRouteID:
		// The services the rules cover are no longer blocked, by route or
		// rule (a DROP the route hid would show up now).
		v.Passed = p != nil && len(p.Allow) > 0
		for _, b := range rep.Blocked {
			if p != nil && slices.Contains(p.Allow, b.Address) {
				v.Passed = false
				v.Details = append(v.Details, i18n.M("verify.7.still", b.Address.String(), string(b.Cause)))
			}
		}
	case AcceptRoutesOffID:
		v.Passed = rep.Route == nil || rep.Route.Reason != checks.ReasonSubnetRoute
	case NodeAttrID:
		v.Passed = rep.Tailscale.CGNATDropOff && len(drops) == 0 && len(rep.Blocked) == 0
		if !rep.Tailscale.NodeAttr {
			v.Details = append(v.Details, i18n.M("verify.6.pending"))
		}
	}
	if v.DNS {
		v.Details = append(v.Details, i18n.M("verify.dns.ok"))
	} else {
		v.Details = append(v.Details, i18n.M("verify.dns.fail"))
	}
	return v
}

func nameOf(id ID) string {
	r, err := ByID(id)
	if err != nil {
		return "unknown"
	}
	return r.Info().Name
}

func stepStatus(rep checks.Report, id string) checks.Status {
	for _, f := range rep.Steps {
		if f.ID == id {
			return f.Status
		}
	}
	return ""
}

// tailscaleChains are the ts-* chains left on any backend.
func tailscaleChains(snap *firewall.Snapshot) []firewall.ChainRef {
	if snap == nil {
		return nil
	}
	var out []firewall.ChainRef
	for _, b := range snap.Backends {
		for _, c := range b.Chains {
			if firewall.IsTailscaleChain(c.Chain) {
				out = append(out, c.ChainRef)
			}
		}
	}
	return out
}

// stubMaxWait is how long a client may wait for the stub's answer for DNS
// to count as working: below one resolver timeout (resolv.conf's default
// 5 s, the VPC's 2 s) means no query went to a server that never answers.
const stubMaxWait = 1500 * time.Millisecond

// stubAnswers: on a host whose resolv.conf points at systemd-resolved's
// stub, DNS works when the stub answers quickly: what `getent hosts` gets.
// judged is false where that cannot be told (no stub, or no way to ask).
func stubAnswers(ctx context.Context, h *Host, v *Verification) (ok, judged bool) {
	if h.StubLookup == nil {
		return false, false
	}
	m, err := DetectResolverManager(h)
	if err != nil || (m.Kind != ManagerResolved && m.Kind != ManagerResolvedNetplan) {
		return false, false
	}
	answered, took, detail := h.StubLookup(ctx)
	ok = answered && took <= stubMaxWait
	v.Details = append(v.Details, i18n.M("verify.4.stub", took.Round(time.Millisecond).String(), detail))
	return ok, true
}
