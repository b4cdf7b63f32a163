package checks

import (
	"context"
	"net/netip"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// services looks for the other things this host depends on in 100.64.0.0/10:
// Alibaba Cloud's metadata service on ECS, and any route or neighbour into
// the range outside tailscale0, and whether their replies would be dropped.
func services(ctx context.Context, r *run) Finding {
	f := Finding{Commands: []string{"curl -s http://100.100.100.200/latest/meta-data/", "ip route | grep -E '^100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.'", "ip neigh"}}
	blocked := 0
	if r.ecs() {
		f.add("svc.ecs")
	}
	for _, p := range r.probeSet().probes {
		if p.Service == "metadata" {
			f.Evidence = append(f.Evidence, probeLine(p))
			if p.dropped() || p.Captured != nil {
				blocked++
			}
		}
	}
	r.routeEvidence(&f, []netip.Addr{metadataAddr})
	static := r.staticServices()
	for _, s := range static {
		if s.decision.Dropped && s.decision.Rule != nil {
			f.add("svc.blocked", s.kind, s.addr, s.iface, ruleName(s.decision.Rule))
			blocked++
		} else {
			f.add("svc.ok", s.kind, s.addr, s.iface)
		}
	}
	if !r.ecs() && len(static) == 0 {
		f.Status, f.Summary = Pass, i18n.M("svc.sum.none")
		return f
	}
	if blocked > 0 {
		f.Status, f.Summary = Fail, i18n.M("svc.sum.blocked", blocked)
	} else {
		f.Status, f.Summary = Pass, i18n.M("svc.sum.ok")
	}
	return f
}

type staticService struct {
	kind     string // route, neighbour
	addr     string
	iface    string
	probe    netip.Addr
	decision firewall.Decision
}

// staticServices evaluates, without sending anything, a reply from each
// route and neighbour into 100.64.0.0/10 that is not Tailscale's own.
func (r *run) staticServices() []staticService {
	return r.static.get(r.evalStaticServices)
}

func (r *run) evalStaticServices() []staticService {
	var out []staticService
	rt := r.routes()
	snap := r.firewall().snap
	eval := func(s staticService) staticService {
		if snap != nil {
			s.decision = snap.Evaluate(firewall.Packet{Src: s.probe, InIface: s.iface, Protocol: "udp", CtState: "ESTABLISHED"})
		}
		return s
	}
	for _, rt := range rt.routes {
		if rt.Iface == "tailscale0" || rt.Dst.Bits() == 0 || !rt.Dst.Overlaps(tsrules.CGNAT) {
			continue
		}
		a := rt.Dst.Addr()
		if !tsrules.CGNAT.Contains(a) {
			a = tsrules.CGNAT.Addr()
		}
		out = append(out, eval(staticService{kind: "route", addr: rt.Dst.String(), iface: rt.Iface, probe: a}))
	}
	for _, n := range rt.neighbours {
		if n.Iface == "tailscale0" || !tsrules.CGNAT.Contains(n.Addr) {
			continue
		}
		out = append(out, eval(staticService{kind: "neighbour", addr: n.Addr.String(), iface: n.Iface, probe: n.Addr}))
	}
	return out
}

// servicesBlockedStatically lists the static services whose replies a rule drops.
func (r *run) servicesBlockedStatically() []BlockedService {
	var out []BlockedService
	for _, s := range r.staticServices() {
		if s.decision.Dropped && s.decision.Rule != nil {
			out = append(out, BlockedService{Address: s.probe, Service: s.kind})
		}
	}
	return out
}
