package fixes

import (
	"context"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
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

// Verify re-runs the check and lets the remedy judge it by what it
// promised. It never reports success for something not yet true: remedy 6
// passes only once the attribute is live and the DROP has become RETURN.
func Verify(ctx context.Context, h *Host, id ID, p *Plan) Verification {
	r, err := ByID(id)
	if err != nil {
		return Verification{Verdict: checks.Error, Blocked: []checks.BlockedService{}, Details: []i18n.Msg{err.(*Error).Msg}}
	}
	rep := h.Diagnose(ctx)
	promise := r.Info().Promise
	v := Verification{Verdict: rep.Verdict, Blocked: rep.Blocked, Report: rep, Restart: promise.Restart, Reboot: promise.Reboot}
	if v.Blocked == nil {
		v.Blocked = []checks.BlockedService{}
	}
	v.DNS = stepStatus(rep, "dns") == checks.Pass
	r.Verify(ctx, h, p, &v)
	if v.DNS {
		v.Details = append(v.Details, i18n.M("verify.dns.ok"))
	} else {
		v.Details = append(v.Details, i18n.M("verify.dns.fail"))
	}
	return v
}

// awaitEvery is how often Await re-runs the check.
var awaitEvery = 2 * time.Second

// Await verifies; for a plan that needs someone else to act (the node
// attribute, granted by a tailnet admin), it keeps verifying until the
// change arrives, wait runs out or ctx ends.
func Await(ctx context.Context, h *Host, id ID, p *Plan, wait time.Duration) Verification {
	v := Verify(ctx, h, id, p)
	if p == nil || !p.Manual || wait <= 0 {
		return v
	}
	deadline := time.Now().Add(wait)
	for !v.Passed && time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(awaitEvery):
		}
		v = Verify(ctx, h, id, p)
	}
	return v
}

func stepStatus(rep checks.Report, id checks.StepID) checks.Status {
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
