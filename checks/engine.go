package checks

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tsdoctor/tsdoctor/cloud"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// Steps are the checks in the article's order.
var Steps = []Step{
	{ID: StepConnectivity, Run: connectivity},
	{ID: StepDNS, Run: dnsStep},
	{ID: StepMagicDNS, Run: magicDNS},
	{ID: StepTrace, Run: trace},
	{ID: StepRules, Run: rules},
	{ID: StepServices, Run: services},
}

// StepIDs lists the step IDs in order.
func StepIDs() []StepID {
	ids := make([]StepID, len(Steps))
	for i, s := range Steps {
		ids[i] = s.ID
	}
	return ids
}

// lazy computes a value once, for whichever step asks first; the others wait.
type lazy[T any] struct {
	once sync.Once
	v    T
}

func (l *lazy[T]) get(f func() T) T {
	l.once.Do(func() { l.v = f() })
	return l.v
}

// run is one execution of the engine: shared facts are computed once.
type run struct {
	ctx  context.Context
	env  Env
	opts Options

	swept  Swept // the first step's work, before any other
	fw     lazy[fwFacts]
	ts     lazy[tailscale.State]
	res    lazy[resolverFacts]
	rt     lazy[routeFacts]
	probes lazy[*probeSet]
	trc    lazy[traceFacts]
	ptr    lazy[pathFacts]
	det    lazy[cloud.Detection]
	static lazy[[]staticService]
	capt   lazy[captureFacts]
}

type fwFacts struct {
	snap *firewall.Snapshot // nil when not readable
	err  i18n.Msg
}

type routeFacts struct {
	routes     []hostinfo.Route
	neighbours []hostinfo.Neighbour
	err        string
}

func (r *run) firewall() fwFacts {
	return r.fw.get(func() fwFacts {
		if r.env.Firewall == nil {
			return fwFacts{err: i18n.M("fw.noroot")}
		}
		if r.swept.snap != nil {
			return fwFacts{snap: r.swept.snap} // read by the sweep, after it
		}
		return fwFacts{snap: r.env.Firewall.Snapshot(r.ctx)}
	})
}

func (r *run) tailscale() tailscale.State {
	return r.ts.get(func() tailscale.State { return tailscale.Read(r.ctx, r.env.Tailscale) })
}

func (r *run) routes() routeFacts {
	return r.rt.get(func() routeFacts {
		var f routeFacts
		var err error
		if f.routes, err = r.env.Paths.ReadRoutes(); err != nil {
			f.err = err.Error()
		}
		f.neighbours, _ = r.env.Paths.ReadNeighbours()
		return f
	})
}

func (r *run) probeSet() *probeSet {
	return r.probes.get(func() *probeSet { return r.runProbes(r.ctx) })
}

// cloud is which cloud this host is on and what said so: --ecs, DMI, or
// its resolvers (cloud.Detect).
func (r *run) cloud() cloud.Detection {
	return r.det.get(func() cloud.Detection {
		h := cloud.Host{DMI: cloud.ReadDMI(r.env.Paths.DMIDir)}
		if r.opts.ECS {
			h.Flags = append(h.Flags, "--ecs")
		}
		for _, s := range r.resolvers().servers {
			h.Resolvers = append(h.Resolvers, s.Addr)
		}
		return cloud.Detect(h)
	})
}

// instanceServices are the cloud's services besides DNS that the check
// probes (the metadata service): only on a host DMI or a flag calls an
// instance of that cloud, since resolvers alone do not make it one.
func (r *run) instanceServices() []cloud.Service {
	if d := r.cloud(); d.Instance() {
		return d.Profile.Addresses(cloud.KindMetadata)
	}
	return nil
}

// Run sweeps what a killed run left (Sweep), then runs the selected steps
// concurrently (each waits only for the facts it needs) under one deadline
// and returns the report.
func Run(ctx context.Context, env Env, opts Options) Report {
	start := time.Now()
	if env.Now != nil {
		start = env.Now()
	}
	def := DefaultOptions()
	if opts.Timeout <= 0 {
		opts.Timeout = def.Timeout
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = def.ProbeTimeout
	}
	if opts.QueryName == "" {
		opts.QueryName = def.QueryName
	}
	if opts.Internet == nil {
		opts.Internet = def.Internet
	}
	if (opts.Trace || opts.PathTrace) && opts.TraceID == "" {
		// One id for the run: the trace table and the LOG rule share it.
		opts.TraceID = tsrules.NewTraceID()
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	r := &run{ctx: ctx, env: env, opts: opts}
	// The sweep first, on its own: no step may read a killed run's trace
	// rule as the host's.
	r.swept = Sweep(ctx, env)

	var steps []Step
	for _, s := range Steps {
		if len(opts.Only) == 0 || slices.Contains(opts.Only, s.ID) {
			steps = append(steps, s)
		}
	}
	findings := make([]Finding, len(steps))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, s := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			f := s.Run(ctx, r)
			f.ID, f.Elapsed = s.ID, time.Since(t0)
			if f.Explain == "" {
				f.Explain = s.ID.ExplainKey()
			}
			findings[i] = f
			if opts.Progress != nil {
				mu.Lock()
				opts.Progress(f)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	rep := Report{Steps: findings, Tailscale: r.tailscale(), Blocked: []BlockedService{}, Cloud: r.cloud()}
	rep.Firewall = r.firewall().snap
	r.verdict(&rep)
	rep.Elapsed = time.Since(start)
	return rep
}

// verdict decides the overall answer from the shared facts and findings.
func (r *run) verdict(rep *Report) {
	ps := r.probeSet()
	seen := map[string]bool{}
	for _, p := range ps.probes {
		c := p.culprit()
		if (c == nil && p.Captured == nil) || !tsrules.CGNAT.Contains(p.Addr.Addr()) {
			continue
		}
		// One culprit: whichever the first blocked probe (the resolvers
		// come first) shows, a rule dropping its replies or a route
		// sending its queries into tailscale0.
		cause := CauseRule
		if p.Captured != nil {
			cause = CauseRoute
		}
		if rep.Culprit == nil && rep.Route == nil {
			if c != nil {
				cc := *c
				rep.Culprit = &cc
			} else {
				cc := *p.Captured
				rep.Route = &cc
			}
		}
		key := p.Addr.String() + string(p.Service)
		if !seen[key] {
			seen[key] = true
			rep.Blocked = append(rep.Blocked, BlockedService{Address: p.Addr.Addr(), Port: p.Addr.Port(), Service: p.Service, Cause: cause})
		}
	}
	for _, b := range r.servicesBlockedStatically() {
		b.Cause = CauseRule
		key := b.Address.String() + string(b.Service)
		if !seen[key] {
			seen[key] = true
			rep.Blocked = append(rep.Blocked, b)
		}
	}
	failed := false
	for _, f := range rep.Steps {
		if f.Status == Fail {
			failed = true
		}
	}
	// Probes run whatever steps were selected, so a silent resolver counts
	// even under --only.
	for _, p := range ps.probes {
		if p.Service == ServiceDNS && !p.Result.OK {
			failed = true
		}
	}
	snap := r.firewall().snap
	rep.Orphaned = Orphaned(rep.Tailscale, snap)
	switch {
	case rep.Culprit != nil, rep.Route != nil:
		rep.Verdict = Blocked
	case snap == nil && r.cgnatUnanswered():
		// Something in 100.64/10 does not answer and we cannot see why.
		rep.Verdict = Error
		rep.Hint = i18n.M("hint.root")
	case r.cgnatUnanswered() && unreadable(snap) != "":
		// A backend we could not read may hold the rule.
		rep.Verdict = Error
		rep.Hint = i18n.M("hint.backend", unreadable(snap))
	case failed:
		rep.Verdict = Degraded
	default:
		rep.Verdict = Healthy
	}
}

// Orphaned reports whether tailscaled's rules outlived it: the daemon is
// known not to run and ts-* chains are still on some backend. tailscaled
// removes them when it stops cleanly, so they were left by a kill or a crash,
// and nothing will update or remove them until tailscaled starts again.
func Orphaned(ts tailscale.State, snap *firewall.Snapshot) bool {
	return ts.DaemonDown() && snap != nil && len(snap.TailscaleBackends()) > 0
}

// unreadable describes the backends that exist here but could not be read.
func unreadable(s *firewall.Snapshot) string {
	var errs []string
	for _, b := range s.Backends {
		if b.Err != "" && b.Present {
			errs = append(errs, string(b.Backend)+": "+b.Err)
		}
	}
	return strings.Join(errs, "; ")
}

func (r *run) cgnatUnanswered() bool {
	for _, p := range r.probeSet().probes {
		if !p.Result.OK && tsrules.CGNAT.Contains(p.Addr.Addr()) {
			return true
		}
	}
	return false
}

// ExitCode maps a verdict to the process exit code: 0 healthy, 1 a problem
// was found, 2 the check could not be made.
func (v Verdict) ExitCode() int {
	switch v {
	case Healthy:
		return 0
	case Blocked, Degraded:
		return 1
	}
	return 2
}
