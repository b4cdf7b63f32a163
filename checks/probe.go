package checks

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/netprobe"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// probe is one live probe and, once done, its outcome.
type probe struct {
	Service Service
	Kind    ProbeKind
	Addr    netip.AddrPort
	URL     string

	// Reply is the packet the answer would be, for evaluation and attribution.
	Reply firewall.Packet
	// Predicted is the static verdict on the reply.
	Predicted firewall.Decision

	Result netprobe.Result
	// DroppedBy is the rule whose counter moved while this probe waited.
	DroppedBy *firewall.Rule
	// Delta is how many packets that rule dropped during the probe window.
	Delta uint64

	// Upstreams are the servers a local stub (systemd-resolved's
	// 127.0.0.53) forwards this probe's query to.
	Upstreams []netip.Addr
	// UpstreamsDroppedBy is set when every upstream's reply was shown dropped
	// by this rule's counter: the stub can only wait for them, so the probe
	// was settled then instead of at its timeout.
	UpstreamsDroppedBy *firewall.Rule
	// Captured: the route sends this probe into tailscale0; it is not sent.
	Captured *RouteCapture
}

func (p *probe) label() string {
	switch p.Kind {
	case ProbeUDP, ProbeTCP:
		return fmt.Sprintf("%s (DNS/%s)", p.Addr.Addr(), strings.ToUpper(string(p.Kind)))
	case ProbeHTTP:
		return p.URL
	}
	return p.Addr.String() + " (TCP)"
}

// dropped reports whether the probe's reply was shown dropped, by counters or,
// failing those, by a timeout the static evaluation explains.
func (p *probe) dropped() bool {
	return !p.Result.OK && (p.DroppedBy != nil || (p.Result.Timeout && p.Predicted.Dropped && p.Predicted.Rule != nil))
}

// culprit is the rule that dropped the probe's reply.
func (p *probe) culprit() *firewall.Rule {
	if p.DroppedBy != nil {
		return p.DroppedBy
	}
	if p.dropped() {
		return p.Predicted.Rule
	}
	return nil
}

// probeSet runs every probe at once while watching the packet counters of
// the DROP rules that could eat their replies. A reply the firewall drops is
// known as soon as the rule's counter moves: there is no need to wait for
// the probe to time out, which is what makes a broken host fast to diagnose.
type probeSet struct {
	probes []*probe
	// watched maps a rule's identity to counters before and after.
	watched []watchedRule
}

type watchedRule struct {
	rule          firewall.Rule
	before, after uint64
}

func ruleKey(r *firewall.Rule) string {
	return fmt.Sprintf("%s|%d|%d|%s", r.ChainRef, r.Handle, r.Position, r.Text)
}

func (r *run) runProbes(ctx context.Context) *probeSet {
	ps := &probeSet{}
	routes := r.routes()
	snap := r.firewall().snap
	local := func(a netip.Addr) (string, netip.Addr) {
		iface := ""
		if rt, ok := hostinfo.Lookup(routes.routes, a); ok {
			iface = rt.Iface
		}
		if a == hostinfo.MagicDNS {
			// tailscaled routes MagicDNS through tailscale0 (its own table
			// 52, which /proc/net/route does not show); replies come back there.
			iface = "tailscale0"
		}
		return iface, localAddrFor(a)
	}
	add := func(service Service, kind ProbeKind, ap netip.AddrPort, url string) {
		proto := "udp"
		if kind != ProbeUDP {
			proto = "tcp"
		}
		iface, dst := local(ap.Addr())
		p := &probe{Service: service, Kind: kind, Addr: ap, URL: url, Reply: firewall.Packet{
			Src: ap.Addr(), Dst: dst, InIface: iface, Protocol: proto, SrcPort: ap.Port(), CtState: "ESTABLISHED",
		}}
		if snap != nil {
			p.Predicted = snap.Evaluate(p.Reply)
		}
		if tsrules.CGNAT.Contains(ap.Addr()) {
			p.Captured = r.captureOf(ap.Addr())
		}
		ps.probes = append(ps.probes, p)
	}
	rf := r.resolvers()
	for _, res := range rf.servers {
		if !res.Addr.Is4() && !res.Addr.Is6() {
			continue
		}
		ap := netip.AddrPortFrom(res.Addr, 53)
		add(ServiceDNS, ProbeUDP, ap, "")
		add(ServiceDNS, ProbeTCP, ap, "")
		if res.Addr == hostinfo.StubResolver {
			up := rf.behindStub
			for _, p := range ps.probes[len(ps.probes)-2:] {
				p.Upstreams = up
				p.Captured = r.stubCapture(up)
			}
		}
	}
	for _, t := range r.opts.Internet {
		add(ServiceInternet, ProbeConnect, t, "")
	}
	for _, s := range r.instanceServices() {
		add(Service(s.Kind), ProbeHTTP, netip.AddrPortFrom(s.Address, s.Port), s.URL)
	}

	// Watch every DROP/REJECT rule on the path that matches some reply.
	if snap != nil && r.env.Firewall != nil {
		seen := map[string]bool{}
		for _, rule := range snap.Rules() {
			if rule.Verdict != firewall.Drop && rule.Verdict != firewall.Reject {
				continue
			}
			for _, p := range ps.probes {
				if firewall.Matches(&rule, p.Reply) && !seen[ruleKey(&rule)] {
					seen[ruleKey(&rule)] = true
					ps.watched = append(ps.watched, watchedRule{rule: rule, before: rule.Packets, after: rule.Packets})
				}
			}
		}
	}

	pctx, cancelAll := context.WithTimeout(ctx, r.opts.ProbeTimeout)
	defer cancelAll()
	cancels := make([]context.CancelFunc, len(ps.probes))
	done := make([]chan struct{}, len(ps.probes))
	var mu sync.Mutex // guards DroppedBy/Delta written by the watcher
	for i, p := range ps.probes {
		c, cancel := context.WithCancel(pctx)
		cancels[i], done[i] = cancel, make(chan struct{})
		go func() {
			defer close(done[i])
			defer cancel()
			var res netprobe.Result
			switch {
			case p.Captured != nil:
				// The route already proves the query goes nowhere: do not
				// wait out a timeout for it.
				res = netprobe.Result{Err: "sent into " + p.Captured.Device}
			default:
				res = r.probe(c, p)
			}
			mu.Lock()
			p.Result = res
			mu.Unlock()
		}()
	}
	allDone := make(chan struct{})
	go func() {
		for _, d := range done {
			<-d
		}
		close(allDone)
	}()
	fresh := false
	if len(ps.watched) > 0 {
		fresh = r.watch(ctx, ps, done, cancels, &mu, allDone)
	}
	<-allDone
	if len(ps.watched) > 0 && !fresh {
		// One last read, so the evidence shows the whole window (unless the
		// watch's last read already did: on iptables-legacy every read costs
		// the whole table).
		r.readCounters(context.WithoutCancel(ctx), ps.watched)
	}
	return ps
}

// probe sends one probe.
func (r *run) probe(c context.Context, p *probe) netprobe.Result {
	switch p.Kind {
	case ProbeUDP, ProbeTCP:
		return r.env.Probe.DNS(c, p.Addr, string(p.Kind), r.opts.QueryName)
	case ProbeHTTP:
		return r.env.Probe.HTTP(c, p.URL)
	}
	return r.env.Probe.TCP(c, p.Addr)
}

// watch polls the watched rules' counters until every probe is done. When a
// rule has dropped at least as many packets as there are unanswered probes it
// matches, those probes are settled as dropped by it and cancelled. It
// reports whether its last read came after every probe had ended or been
// settled, so the counters already cover the whole window.
func (r *run) watch(ctx context.Context, ps *probeSet, done []chan struct{}, cancels []context.CancelFunc, mu *sync.Mutex, allDone chan struct{}) (fresh bool) {
	// Replies come within milliseconds or not at all: poll fast at first,
	// then back off, so a silent server does not cost hundreds of iptables
	// runs on a production host.
	interval := 2 * time.Millisecond
	settled := make([]bool, len(ps.probes))
	for {
		select {
		case <-allDone:
			return fresh
		case <-time.After(interval):
		}
		interval = min(interval*3/2, 50*time.Millisecond)
		endedBefore := make([]bool, len(ps.probes))
		for i := range ps.probes {
			endedBefore[i] = isClosed(done[i])
		}
		r.readCounters(ctx, ps.watched)
		for wi := range ps.watched {
			w := &ps.watched[wi]
			delta := w.after - w.before
			if delta == 0 {
				continue
			}
			var pending []int
			for i, p := range ps.probes {
				if settled[i] || isClosed(done[i]) || !firewall.Matches(&w.rule, p.Reply) {
					continue
				}
				pending = append(pending, i)
			}
			if len(pending) == 0 || delta < uint64(len(pending)) {
				continue
			}
			mu.Lock()
			for _, i := range pending {
				rule := w.rule
				rule.Packets = w.after
				ps.probes[i].DroppedBy, ps.probes[i].Delta = &rule, delta
				settled[i] = true
			}
			mu.Unlock()
			for _, i := range pending {
				cancels[i]()
			}
		}
		for _, i := range settleStubs(ps, settled, done, mu) {
			cancels[i]()
		}
		fresh = true
		for i := range ps.probes {
			if !settled[i] && !endedBefore[i] {
				fresh = false
			}
		}
		if fresh {
			<-allDone
			return true
		}
	}
}

// settleStubs settles the probes of a local stub once the replies of every
// upstream behind it are proven dropped (their UDP probes settled by a
// counter): the stub forwards to exactly those servers, from this host, so
// its answer cannot come either, and waiting for its timeout (the whole 1.5 s
// of Ubuntu's default path) would only repeat what the counters showed.
// It returns the indexes it settled.
func settleStubs(ps *probeSet, settled []bool, done []chan struct{}, mu *sync.Mutex) []int {
	var out []int
	mu.Lock()
	defer mu.Unlock()
	for i, p := range ps.probes {
		if len(p.Upstreams) == 0 || settled[i] || isClosed(done[i]) {
			continue
		}
		var rule *firewall.Rule
		for _, up := range p.Upstreams {
			var by *firewall.Rule
			for _, q := range ps.probes {
				if q.Kind == ProbeUDP && q.Addr.Addr() == up && q.DroppedBy != nil {
					by = q.DroppedBy
				}
			}
			if by == nil {
				rule = nil
				break
			}
			if rule == nil {
				rule = by
			}
		}
		if rule != nil {
			p.UpstreamsDroppedBy = rule
			settled[i] = true
			out = append(out, i)
		}
	}
	return out
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// readCounters re-reads each watched rule's chain once and updates "after".
func (r *run) readCounters(ctx context.Context, ws []watchedRule) {
	chains := map[firewall.ChainRef]firewall.Chain{}
	for i := range ws {
		ref := ws[i].rule.ChainRef
		c, ok := chains[ref]
		if !ok {
			var err error
			c, err = r.env.Firewall.Reread(ctx, ref)
			if err != nil {
				continue
			}
			chains[ref] = c
		}
		for _, cur := range c.Rules {
			if sameRule(&cur, &ws[i].rule) {
				ws[i].after = cur.Packets
			}
		}
	}
}

// sameRule reports whether two reads show the same rule: by handle where the
// backend has one (nft text carries the counters), else by position and text.
func sameRule(a, b *firewall.Rule) bool {
	if a.Handle != 0 || b.Handle != 0 {
		return a.Handle == b.Handle
	}
	return a.Position == b.Position && a.Text == b.Text
}

// localAddrFor returns the source address the kernel would use towards a.
// Connecting a UDP socket sends nothing.
func localAddrFor(a netip.Addr) netip.Addr {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 9)))
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}
