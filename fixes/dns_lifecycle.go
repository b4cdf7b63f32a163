package fixes

import (
	"context"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// publicDNS gives remedy 4 its lifecycle while public_dns.go is being cut
// into one file per manager elsewhere; these methods move there after.
type publicDNS struct{ PublicDNS }

func (r publicDNS) Info() Info {
	in := r.PublicDNS.Info()
	in.Short = i18n.M("fix.4.short")
	in.Promise = Promise{Restart: i18n.M("verify.restart.public-dns"), Reboot: i18n.M("verify.reboot.public-dns")}
	return in
}

func (r publicDNS) Applies(h *Host, rep checks.Report) Applicability {
	ok, why := r.PublicDNS.Applies(h, rep)
	switch {
	case ok:
		return fits()
	case why.Key == "fix.why.4.already":
		// DNS already goes to the public resolvers: what remedy 4
		// promises holds, whatever else is blocked.
		return Applicability{Fit: AlreadyDone, Why: why}
	}
	return notApplicable(why)
}

func (publicDNS) Recommend(rep checks.Report) Recommendation {
	if !dropForm(rep) {
		return Recommendation{}
	}
	return rank(PublicDNSID, 1)
}

// Verify: DNS answers (behind systemd-resolved's stub: quickly, as a client
// sees it); other services still blocked are named, not failed: remedy 4
// is about DNS only.
func (publicDNS) Verify(ctx context.Context, h *Host, p *Plan, v *Verification) {
	if ok, judged := stubAnswers(ctx, h, v); judged {
		v.DNS = ok
	}
	v.Passed = v.DNS
	if len(v.Report.Blocked) > 0 {
		v.Details = append(v.Details, i18n.M("verify.4.stillblocked", len(v.Report.Blocked)))
	}
}
