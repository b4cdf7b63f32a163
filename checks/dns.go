package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// resolver is one DNS server this host uses, and where we learnt of it.
type resolver struct {
	Addr   netip.Addr
	Source string // the file that names it
}

type resolverFacts struct {
	servers  []resolver
	conf     hostinfo.ResolvConf
	err      string
	stub     bool // resolv.conf points at systemd-resolved
	magicDNS bool // resolv.conf points at 100.100.100.100
	// behindStub are the servers systemd-resolved's stub forwards to, as
	// its own upstream file lists them.
	behindStub []netip.Addr
}

func (r *run) resolvers() resolverFacts {
	return r.res.get(func() resolverFacts {
		var f resolverFacts
		rc, err := hostinfo.ReadResolvConf(r.env.Paths.ResolvConf)
		if err != nil {
			f.err = err.Error()
			return f
		}
		f.conf = rc
		add := func(a netip.Addr, src string) {
			if !slices.ContainsFunc(f.servers, func(x resolver) bool { return x.Addr == a }) {
				f.servers = append(f.servers, resolver{a, src})
			}
		}
		for _, a := range rc.Nameservers {
			add(a, r.env.Paths.ResolvConf)
			f.stub = f.stub || a == hostinfo.StubResolver
			f.magicDNS = f.magicDNS || a == hostinfo.MagicDNS
		}
		// Behind a local stub the real servers are elsewhere; probe them too.
		if f.stub {
			if up, err := hostinfo.ReadResolvConf(r.env.Paths.ResolvedUpstream); err == nil {
				for _, a := range up.Nameservers {
					add(a, r.env.Paths.ResolvedUpstream)
					if a != hostinfo.StubResolver {
						f.behindStub = append(f.behindStub, a)
					}
				}
			}
		}
		if f.magicDNS {
			if up, err := hostinfo.ReadResolvConf(r.env.Paths.TailscaleBackup); err == nil {
				for _, a := range up.Nameservers {
					add(a, r.env.Paths.TailscaleBackup)
				}
			}
		}
		return f
	})
}

// dnsStep probes every resolver separately, over UDP and TCP.
func dnsStep(ctx context.Context, r *run) Finding {
	res := r.resolvers()
	f := Finding{Commands: []string{"cat /etc/resolv.conf", "dig @" + r.sampleResolver() + " " + r.opts.QueryName + " +short", "dig +tcp @" + r.sampleResolver() + " " + r.opts.QueryName + " +short"}}
	if res.err != "" {
		f.Status, f.Summary = Fail, i18n.M("dns.sum.noconf", r.env.Paths.ResolvConf, res.err)
		return f
	}
	if res.stub {
		f.Commands = append(f.Commands, "resolvectl dns", "cat /run/systemd/resolve/resolv.conf")
	}
	for _, p := range res.conf.Problems {
		f.add("dns.confproblem", r.env.Paths.ResolvConf, p)
	}
	if len(res.servers) == 0 {
		f.Status, f.Summary = Fail, i18n.M("dns.sum.none", r.env.Paths.ResolvConf)
		return f
	}
	if res.conf.Timeout > 0 || res.conf.Attempts > 0 {
		f.add("dns.options", res.conf.Timeout, res.conf.Attempts, worstWait(res.conf))
	}
	ps := r.probeSet()
	dead, cgnatDead, alive, captured := 0, 0, 0, 0
	for _, s := range res.servers {
		if s.Addr.Is6() && !s.Addr.Is4In6() {
			f.add("dns.v6", s.Addr)
		}
		if tsrules.CGNAT.Contains(s.Addr) {
			if s.Addr == hostinfo.MagicDNS {
				f.add("dns.magic", s.Addr)
			} else {
				f.add("dns.cgnat", s.Addr)
			}
		}
		answered := false
		for _, p := range ps.probes {
			if p.Service != ServiceDNS || p.Addr.Addr() != s.Addr {
				continue
			}
			f.Evidence = append(f.Evidence, probeLine(p))
			answered = answered || p.Result.OK
		}
		switch {
		case answered:
			alive++
		case tsrules.CGNAT.Contains(s.Addr):
			dead++
			cgnatDead++
			if r.captureOf(s.Addr) != nil {
				captured++
			}
		default:
			dead++
		}
	}
	var addrs []netip.Addr
	for _, s := range res.servers {
		addrs = append(addrs, s.Addr)
	}
	r.routeEvidence(&f, addrs)
	switch {
	case dead == 0:
		f.Status, f.Summary = Pass, i18n.M("dns.sum.ok", alive)
	case captured > 0 && captured == cgnatDead && alive == 0:
		// The second form: the queries never leave (routing.go).
		f.Status, f.Summary = Fail, i18n.M("dns.sum.captured", captured, len(res.servers))
		f.Explain = "explain.routing"
		f.Commands = append(f.Commands, "ip route get "+r.sampleResolver())
	case cgnatDead > 0 && alive == 0:
		f.Status, f.Summary = Fail, i18n.M("dns.sum.cgnat", cgnatDead, len(res.servers))
	case alive == 0:
		f.Status, f.Summary = Fail, i18n.M("dns.sum.dead", dead)
	default:
		f.Status, f.Summary = Warn, i18n.M("dns.sum.some", dead, len(res.servers))
	}
	return f
}

// worstWait is how long a lookup can hang with these options before failing:
// why `apt update` seems to freeze rather than fail.
func worstWait(rc hostinfo.ResolvConf) string {
	t, a := rc.Timeout, rc.Attempts
	if t == 0 {
		t = 5
	}
	if a == 0 {
		a = 2
	}
	n := len(rc.Nameservers)
	if n == 0 {
		n = 1
	}
	return (time.Duration(t*a*n) * time.Second).String()
}

// probeLine renders one probe's outcome.
func probeLine(p *probe) i18n.Msg {
	switch {
	case p.Captured != nil && len(p.Upstreams) > 0:
		return i18n.M("probe.stub.captured", p.label(), joinAddrs(p.Upstreams), p.Captured.Device)
	case p.Captured != nil:
		return i18n.M("probe.captured", p.label(), p.Captured.Device, p.Captured.Prefix, p.Captured.TableName())
	case p.Result.OK:
		return i18n.M("probe.ok", p.label(), ms(p.Result.RTT), p.Result.Detail)
	case p.DroppedBy != nil:
		return i18n.M("probe.dropped", p.label(), ruleName(p.DroppedBy), p.Delta)
	case p.UpstreamsDroppedBy != nil:
		return i18n.M("probe.stub", p.label(), joinAddrs(p.Upstreams), ruleName(p.UpstreamsDroppedBy))
	case p.dropped():
		return i18n.M("probe.predicted", p.label(), ruleName(p.Predicted.Rule))
	default:
		return i18n.M("probe.fail", p.label(), p.Result.Err)
	}
}

func joinAddrs(as []netip.Addr) string {
	var ss []string
	for _, a := range as {
		ss = append(ss, a.String())
	}
	return strings.Join(ss, ", ")
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
