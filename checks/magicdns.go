package checks

import (
	"context"
	"strings"

	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// magicDNS rules MagicDNS in or out, as the article did when it turned it
// off and nothing changed: it is only a suspect if resolv.conf points at
// 100.100.100.100.
func magicDNS(ctx context.Context, r *run) Finding {
	f := Finding{Commands: []string{"grep nameserver /etc/resolv.conf", "tailscale debug prefs | grep CorpDNS", "tailscale set --accept-dns=false"}}
	res, ts := r.resolvers(), r.tailscale()
	if !ts.Installed {
		f.Status, f.Summary = Skip, i18n.M("magic.sum.nots")
		return f
	}
	f.add("magic.acceptdns", boolPtr(ts.AcceptDNS))
	if !res.magicDNS {
		f.Status, f.Summary = Pass, i18n.M("magic.sum.out")
		return f
	}
	answered := false
	for _, p := range r.probeSet().probes {
		if p.Service == ServiceDNS && p.Addr.Addr() == hostinfo.MagicDNS {
			f.Evidence = append(f.Evidence, probeLine(p))
			answered = answered || p.Result.OK
		}
	}
	var ups []string
	for _, s := range res.servers {
		if s.Source == r.env.Paths.TailscaleBackup {
			ups = append(ups, s.Addr.String())
		}
	}
	if len(ups) > 0 {
		f.add("magic.upstreams", r.env.Paths.TailscaleBackup, strings.Join(ups, ", "))
	}
	if answered {
		f.Status, f.Summary = Pass, i18n.M("magic.sum.ok")
	} else {
		f.Status, f.Summary = Warn, i18n.M("magic.sum.fail")
	}
	return f
}
