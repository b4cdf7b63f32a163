package checks

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/tsdoctor/tsdoctor/cloud"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// services looks for the other things this host depends on in 100.64.0.0/10:
// the services of the cloud it runs on (its profile: the metadata service,
// the names only the private DNS resolves), any route or neighbour into the
// range outside tailscale0, and whether their replies would be dropped. On a
// host no profile matches it says what in the range it uses, without naming
// a cloud.
func services(ctx context.Context, r *run) Finding {
	d := r.cloud()
	inst := r.instanceServices()
	f := Finding{}
	var addrs []netip.Addr
	for _, s := range inst {
		addrs = append(addrs, s.Address)
		if s.URL != "" {
			f.Commands = append(f.Commands, "curl -s "+s.URL)
		}
	}
	f.Commands = append(f.Commands, "ip route | grep -E '^100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.'", "ip neigh")
	switch {
	case d.Instance() && serviceList(d.Profile) == "":
		f.add("svc.cloud.dnsonly", d.Profile.Name, d.DetectedBy)
	case d.Instance():
		f.add("svc.cloud", d.Profile.Name, d.DetectedBy, serviceList(d.Profile))
	case d.Profile.Known():
		f.add("svc.cloud.resolver", d.Profile.Name, d.DetectedBy)
	default:
		if a := r.cgnatResolver(); a.IsValid() {
			f.add("svc.cgnat.resolver", a)
		} else if g := r.cgnatGateway(); g.IsValid() {
			f.add("svc.cgnat.gateway", g)
		}
	}
	if len(d.Profile.InternalNames) > 0 {
		f.add("svc.names", d.Profile.Name, d.Profile.Names())
	}
	blocked := 0
	for _, p := range r.probeSet().probes {
		if slices.ContainsFunc(inst, func(s cloud.Service) bool { return Service(s.Kind) == p.Service && s.Address == p.Addr.Addr() }) {
			f.Evidence = append(f.Evidence, probeLine(p))
			if p.dropped() || p.Captured != nil {
				blocked++
			}
		}
	}
	r.routeEvidence(&f, addrs)
	static := r.staticServices()
	for _, s := range static {
		if s.decision.Dropped && s.decision.Rule != nil {
			f.add("svc.blocked", s.kind, s.addr, s.iface, ruleName(s.decision.Rule))
			blocked++
		} else {
			f.add("svc.ok", s.kind, s.addr, s.iface)
		}
	}
	if len(inst) == 0 && len(static) == 0 {
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

// serviceList names a profile's services in 100.64.0.0/10 for the wording:
// "metadata 100.100.100.200, ntp ntp.cloud.aliyuncs.com, ...".
func serviceList(p cloud.Profile) string {
	var parts []string
	for _, s := range p.Services {
		if s.Kind == cloud.KindDNS {
			continue
		}
		if s.Address.IsValid() {
			parts = append(parts, s.Kind+" "+s.Address.String())
		} else {
			parts = append(parts, s.Kind+" "+s.Name)
		}
	}
	return strings.Join(parts, ", ")
}

// cgnatResolver is the first resolver in 100.64.0.0/10 other than MagicDNS.
func (r *run) cgnatResolver() netip.Addr {
	for _, s := range r.resolvers().servers {
		if tsrules.CGNAT.Contains(s.Addr) && s.Addr != hostinfo.MagicDNS {
			return s.Addr
		}
	}
	return netip.Addr{}
}

// cgnatGateway is a default gateway in 100.64.0.0/10 (an ISP's CGNAT).
func (r *run) cgnatGateway() netip.Addr {
	for _, rt := range r.routes().routes {
		if rt.Dst.Bits() == 0 && rt.Gateway.IsValid() && tsrules.CGNAT.Contains(rt.Gateway) {
			return rt.Gateway
		}
	}
	return netip.Addr{}
}

// sampleResolver is the resolver the manual commands use: the first one in
// 100.64.0.0/10, else the first one, else Alibaba's (the article's).
func (r *run) sampleResolver() string {
	if a := r.cgnatResolver(); a.IsValid() {
		return a.String()
	}
	for _, s := range r.resolvers().servers {
		if s.Addr != hostinfo.StubResolver {
			return s.Addr.String()
		}
	}
	return "100.100.2.136"
}

type staticService struct {
	kind     Service // route or neighbour
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
		out = append(out, eval(staticService{kind: ServiceRoute, addr: rt.Dst.String(), iface: rt.Iface, probe: a}))
	}
	for _, n := range rt.neighbours {
		if n.Iface == "tailscale0" || !tsrules.CGNAT.Contains(n.Addr) {
			continue
		}
		out = append(out, eval(staticService{kind: ServiceNeighbour, addr: n.Addr.String(), iface: n.Iface, probe: n.Addr}))
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
