package checks

import (
	"context"
	"fmt"

	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// connectivity is the article's first step: is the IP layer fine? Default
// route, the internet by IP (no DNS involved), and Tailscale's own state.
func connectivity(ctx context.Context, r *run) Finding {
	f := Finding{Commands: []string{"ip route show default", "ping -c 3 223.5.5.5", "ip link show tailscale0", "tailscale status"}}
	rt := r.routes()
	def, hasDef := hostinfo.DefaultRoute(rt.routes)
	if hasDef {
		f.add("conn.route", def.Gateway, def.Iface)
	} else {
		f.add("conn.noroute")
	}
	via := def.Iface
	if c := r.internetCapture(); c != nil {
		// An exit node: the internet is reached through tailscale0, not eth0.
		via = c.Device
		f.Evidence = append(f.Evidence, captureWhy(*c))
	}
	ok, total := 0, 0
	for _, p := range r.probeSet().probes {
		if p.Service != ServiceInternet {
			continue
		}
		total++
		if p.Result.OK {
			ok++
			f.add("conn.reach.ok", p.Addr, ms(p.Result.RTT))
		} else {
			f.add("conn.reach.fail", p.Addr, p.Result.Err)
		}
	}
	ts := r.tailscale()
	up := r.env.Interface != nil && r.env.Interface("tailscale0")
	switch {
	case !ts.Installed:
		f.add("conn.ts.none")
	default:
		f.add("conn.ts", orDash(ts.Version), orDash(ts.BackendState), orDash(string(ts.NetfilterMode)), boolPtr(ts.AcceptDNS), ts.NodeAttr)
		for _, e := range ts.Errors {
			f.raw("tailscale: " + e)
		}
	}
	if up {
		f.add("conn.tun.up")
	} else if ts.Installed {
		f.add("conn.tun.missing")
	}
	switch {
	case !hasDef:
		f.Status, f.Summary = Fail, i18n.M("conn.sum.noroute")
	case total > 0 && ok == 0:
		f.Status, f.Summary = Fail, i18n.M("conn.sum.nointernet", via)
	case ts.Installed && ts.BackendState != "Running":
		f.Status, f.Summary = Warn, i18n.M("conn.sum.tsdown", orDash(ts.BackendState), ok, total)
	default:
		f.Status, f.Summary = Pass, i18n.M("conn.sum.ok", ok, total, via)
	}
	return f
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func boolPtr(b *bool) string {
	if b == nil {
		return "?"
	}
	return fmt.Sprint(*b)
}
