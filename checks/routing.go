package checks

import (
	"errors"
	"net/netip"
	"slices"

	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// The second form of the conflict: no rule drops the replies, because the
// queries never leave. A route in tailscaled's table 52 (an accepted subnet
// route, an exit node, a peer holding the service's address) covers a VPC
// service, so its packets are sent into tailscale0.

// CaptureReason says why Tailscale routes a service into tailscale0.
type CaptureReason string

const (
	ReasonExitNode    CaptureReason = "exit-node"    // this host uses an exit node
	ReasonSubnetRoute CaptureReason = "subnet-route" // a peer's subnet route, accepted
	ReasonPeerAddress CaptureReason = "peer-address" // a peer's Tailscale address is the service's
	ReasonOther       CaptureReason = "other"        // a route into tailscale0 Tailscale's status does not explain
)

// RouteCapture is a service whose packets the routing table sends into
// tailscale0.
type RouteCapture struct {
	Service netip.Addr
	Table   uint32
	Prefix  netip.Prefix
	Device  string
	Peer    string // the peer the route leads to
	Reason  CaptureReason
}

// TableName is the capture's table as `ip` names it.
func (c RouteCapture) TableName() string { return hostinfo.TableName(c.Table) }

// TailscaleDevice is the interface tailscaled routes into.
const TailscaleDevice = "tailscale0"

// Captured reports whether the kernel's route for a service leads into
// tailscale0. MagicDNS (100.100.100.100) is meant to go there.
func Captured(hit hostinfo.RouteHit) bool {
	return hit.Iface == TailscaleDevice && hit.Dst != hostinfo.MagicDNS && hit.Type == "unicast"
}

// ExplainCapture finds, from Tailscale's own account of its peers and
// prefs, why the route hit sends hit.Dst into tailscale0.
func ExplainCapture(hit hostinfo.RouteHit, rt tailscale.Routing) RouteCapture {
	c := RouteCapture{Service: hit.Dst, Table: hit.Table, Prefix: hit.Prefix, Device: hit.Iface, Reason: ReasonOther}
	// A peer that owns the address: tailscaled routes each peer's /32.
	for _, p := range rt.Peers {
		if slices.Contains(p.TailscaleIPs, hit.Dst) {
			c.Reason, c.Peer = ReasonPeerAddress, p.Name()
			return c
		}
	}
	if hit.Prefix.Bits() == 0 {
		if p, ok := rt.ExitNode(); ok {
			c.Reason, c.Peer = ReasonExitNode, p.Name()
			return c
		}
		if rt.UsesExitNode() {
			c.Reason, c.Peer = ReasonExitNode, firstNonEmpty(rt.ExitNodeIP, rt.ExitNodeID)
			return c
		}
	}
	// The peer serving exactly this prefix, else the narrowest one covering
	// the service (a route tailscaled merged or split).
	best := -1
	for _, p := range rt.Peers {
		routes := p.PrimaryRoutes
		if len(routes) == 0 {
			routes = p.AllowedIPs
		}
		for _, pr := range routes {
			if pr.Bits() == 0 || !pr.Contains(hit.Dst) {
				continue
			}
			if pr == hit.Prefix {
				c.Reason, c.Peer = ReasonSubnetRoute, p.Name()
				return c
			}
			if pr.Bits() > best {
				best, c.Reason, c.Peer = pr.Bits(), ReasonSubnetRoute, p.Name()
			}
		}
	}
	return c
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

type captureFacts struct {
	hits     []hostinfo.RouteHit // every service looked up
	captures []RouteCapture
	rules    []hostinfo.PolicyRule
	err      string
}

// serviceAddrs are the 100.64/10 services this host uses and the check
// probes: its resolvers and, on a known cloud's instance, that cloud's
// metadata service.
func (r *run) serviceAddrs() []netip.Addr {
	var out []netip.Addr
	add := func(a netip.Addr) {
		if tsrules.CGNAT.Contains(a) && a != hostinfo.MagicDNS && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, s := range r.resolvers().servers {
		add(s.Addr)
	}
	for _, s := range r.instanceServices() {
		add(s.Address)
	}
	return out
}

// captures asks the kernel for each service's route, before any probe is
// sent: a service routed into tailscale0 needs no probe to be known dead.
func (r *run) captures() captureFacts {
	return r.capt.get(func() captureFacts {
		var f captureFacts
		if r.env.RouteLookup == nil {
			f.err = "route lookup unavailable"
			return f
		}
		var ts *tailscale.Routing
		for _, a := range r.serviceAddrs() {
			hit, err := r.env.RouteLookup(a)
			if err != nil {
				if !errors.Is(err, hostinfo.ErrNoRoute) {
					f.err = err.Error()
				}
				continue
			}
			f.hits = append(f.hits, hit)
			if !Captured(hit) {
				continue
			}
			if ts == nil {
				st := r.tailscale()
				ts = &st.Routing
			}
			f.captures = append(f.captures, ExplainCapture(hit, *ts))
		}
		if r.env.PolicyRules != nil {
			f.rules, _ = r.env.PolicyRules()
		}
		return f
	})
}

// captureOf returns the capture of a service, if it is routed into tailscale0.
func (r *run) captureOf(a netip.Addr) *RouteCapture {
	cf := r.captures()
	for i := range cf.captures {
		if cf.captures[i].Service == a {
			return &cf.captures[i]
		}
	}
	return nil
}

// routeEvidence adds, for the services in addrs, the route the kernel
// picked for each (through the policy rules, tailscaled's fwmark rules and
// `lookup 52`, and the table they select) and, for those sent into
// tailscale0, why. It is evidence of the step whose services these are, so
// the steps and the JSON's step IDs stay as they were.
func (r *run) routeEvidence(f *Finding, addrs []netip.Addr) {
	cf := r.captures()
	if len(r.captures().captures) == 0 {
		return
	}
	for _, pr := range cf.rules {
		if pr.Priority >= 5200 && pr.Priority <= 5270 {
			f.raw("  " + pr.String())
		}
	}
	for _, h := range cf.hits {
		if !slices.Contains(addrs, h.Dst) {
			continue
		}
		if c := r.captureOf(h.Dst); c != nil {
			f.add("route.captured", h.Dst, c.Prefix, c.TableName(), c.Device)
			f.Evidence = append(f.Evidence, captureWhy(*c))
			continue
		}
		via := h.Iface
		if h.Gateway.IsValid() {
			via = h.Gateway.String() + " " + h.Iface
		}
		f.add("route.ok", h.Dst, h.Prefix, hostinfo.TableName(h.Table), via)
	}
}

// captureWhy says, in words, why a service is routed into tailscale0.
func captureWhy(c RouteCapture) i18n.Msg {
	switch c.Reason {
	case ReasonExitNode:
		return i18n.M("route.why.exit", c.Peer)
	case ReasonSubnetRoute:
		return i18n.M("route.why.subnet", c.Prefix, c.Peer)
	case ReasonPeerAddress:
		return i18n.M("route.why.peer", c.Peer, c.Service)
	}
	return i18n.M("route.why.other", c.Prefix, c.TableName(), c.Device)
}

// stubCapture: every upstream behind a local stub is routed into
// tailscale0, so the stub cannot answer either; no need to wait for it.
func (r *run) stubCapture(upstreams []netip.Addr) *RouteCapture {
	var first *RouteCapture
	for _, a := range upstreams {
		c := r.captureOf(a)
		if c == nil {
			return nil
		}
		if first == nil {
			first = c
		}
	}
	return first
}

// internetCapture is the route to the first internet target when it leads
// into tailscale0 (an exit node), else nil.
func (r *run) internetCapture() *RouteCapture {
	if r.env.RouteLookup == nil || len(r.opts.Internet) == 0 {
		return nil
	}
	hit, err := r.env.RouteLookup(r.opts.Internet[0].Addr())
	if err != nil || !Captured(hit) {
		return nil
	}
	c := ExplainCapture(hit, r.tailscale().Routing)
	return &c
}
