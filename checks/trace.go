package checks

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// trace proves where the reply dies. (a) Counters: the DROP rules' packet
// counters are read before and while the probes wait; the rule whose count
// moved is the culprit, and nothing was inserted. (b) On request, the
// article's LOG trace: a temporary, rate-limited LOG rule, the kernel log
// lines it produces, then the rule is removed.
func trace(ctx context.Context, r *run) Finding {
	f := Finding{Commands: []string{
		"iptables -L ts-input -v -n -x --line-numbers   # before",
		"dig @" + r.sampleResolver() + " " + r.opts.QueryName + " +time=1 +tries=1",
		"iptables -L ts-input -v -n -x --line-numbers   # after: which counter moved?",
	}}
	fw := r.firewall()
	if fw.snap == nil {
		f.Status, f.Summary = Skip, fw.err
		return f
	}
	ps := r.probeSet()
	var culprit *firewall.Rule
	for _, w := range ps.watched {
		if w.after != w.before {
			f.add("trace.moved", ruleName(&w.rule), w.before, w.after)
		} else {
			f.add("trace.still", ruleName(&w.rule), w.before)
		}
	}
	for _, p := range ps.probes {
		if p.DroppedBy != nil {
			f.add("trace.dropped", p.label(), ruleName(p.DroppedBy))
			if culprit == nil {
				culprit = p.DroppedBy
			}
		}
	}
	if r.opts.Trace || r.opts.PathTrace {
		// The packet trace first: the LOG rule would show in its paths.
		pt := r.pathTrace(ctx, ps)
		f.Evidence, f.Commands, f.Paths = append(f.Evidence, pt.evidence...), append(f.Commands, pt.commands...), pt.paths
	}
	if r.opts.Trace {
		t := r.logTrace(ctx, ps, culprit)
		f.Evidence = append(f.Evidence, t.evidence...)
		f.Commands = append(f.Commands,
			`iptables -I INPUT 1 -s 100.64.0.0/10 -j LOG --log-prefix "TS-DROP: "`,
			"dmesg | grep TS-DROP     # or journalctl -k, /var/log/kern.log",
			"iptables -L INPUT 1 -v -n -x   # the LOG rule's own counter: 0 means nothing reached INPUT; more with no log line means logging is silenced here",
			`iptables -D INPUT -s 100.64.0.0/10 -j LOG --log-prefix "TS-DROP: "`)
	}
	switch {
	case culprit != nil:
		f.Status, f.Summary = Fail, i18n.M("trace.sum.culprit", culprit.Position, culprit.Chain, culprit.Backend)
	case len(ps.watched) == 0:
		f.Status, f.Summary = Pass, i18n.M("trace.sum.nodrop")
	default:
		f.Status, f.Summary = Pass, i18n.M("trace.sum.still")
	}
	return f
}

type traceFacts struct {
	evidence []i18n.Msg
	lines    []string
}

// TraceRule is the LOG rule the trace would insert for rep, named by trace
// id: what the wizard shows before it asks. The placement is tsrules'
// decision, the same the trace makes when it inserts the rule.
func TraceRule(rep Report, id string) firewall.Change {
	return tsrules.TraceRule(id, rep.Culprit, rep.Firewall)
}

func (r *run) logTrace(ctx context.Context, ps *probeSet, culprit *firewall.Rule) traceFacts {
	return r.trc.get(func() (t traceFacts) {
		if !r.env.Root || r.env.Firewall == nil {
			t.evidence = append(t.evidence, i18n.M("trace.log.noroot"))
			return t
		}
		var targets []netip.AddrPort
		for _, p := range ps.probes {
			if p.Kind == ProbeUDP && !p.Result.OK && tsrules.CGNAT.Contains(p.Addr.Addr()) {
				targets = append(targets, p.Addr)
			}
		}
		if len(targets) == 0 {
			t.evidence = append(t.evidence, i18n.M("trace.log.nothing"))
			return t
		}
		id := r.opts.TraceID
		if id == "" {
			id = tsrules.NewTraceID()
		}
		ins := tsrules.TraceRule(id, culprit, r.firewall().snap)
		spec, ref := ins.Spec, ins.Ref
		w := r.env.Firewall.Backend(ref.Backend)
		if w == nil || r.env.KernelLog == nil {
			t.evidence = append(t.evidence, i18n.M("trace.log.nobackend", ref.Backend))
			return t
		}
		klog, err := r.env.KernelLog()
		if err != nil {
			t.evidence = append(t.evidence, i18n.M("trace.log.nokmsg", err.Error()))
			return t
		}
		defer klog.Close()
		t.evidence = append(t.evidence, i18n.M("trace.log.insert", ref, firewall.ShellJoin(spec.IptablesArgs())))
		if err := w.Insert(ctx, ref, ins.Pos, spec); err != nil {
			t.evidence = append(t.evidence, i18n.M("trace.log.inserterr", err.Error()))
			return t
		}
		// Removed whatever happens next: success, error, or a cancelled
		// context (Ctrl-C, SIGTERM). A SIGKILL is covered by the sweep.
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := w.Delete(dctx, ref, spec); err != nil {
				t.evidence = append(t.evidence, i18n.M("trace.log.deleteerr", err.Error()))
			} else {
				t.evidence = append(t.evidence, i18n.M("trace.log.removed"))
			}
		}()
		// Listen first, then send every probe at once: the kernel log lines
		// arrive within a millisecond of the replies.
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		type collected struct {
			lines []string
			err   error
		}
		got := make(chan collected, 1)
		go func() {
			l, err := klog.Collect(cctx, spec.LogPrefix, len(targets))
			got <- collected{l, err}
		}()
		var wg sync.WaitGroup
		for _, a := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pctx, cancel := context.WithTimeout(cctx, 300*time.Millisecond)
				defer cancel()
				r.env.Probe.DNS(pctx, a, string(ProbeUDP), r.opts.QueryName)
			}()
		}
		c := <-got
		cancel()
		wg.Wait()
		lines, err := c.lines, c.err
		if err != nil {
			t.evidence = append(t.evidence, i18n.M("trace.log.nokmsg", err.Error()))
		}
		for _, l := range lines {
			t.lines = append(t.lines, l)
			t.evidence = append(t.evidence, i18n.M("trace.log.line", hostinfo.LogField(l, "SRC"), hostinfo.LogField(l, "SPT"), hostinfo.LogField(l, "IN"), l))
		}
		if len(lines) == 0 {
			t.evidence = append(t.evidence, r.judgeSilence(ctx, ref, spec)...)
		}
		return t
	})
}

// judgeSilence explains a LOG trace that printed nothing, from the LOG rule's
// own packet counter: only a rule that matched nothing means the replies did
// not reach INPUT. A rule that matched yet printed nothing means the kernel
// log is silenced here, whatever the replies did (the DROP counters say that).
// The rule's rate limit cannot be why: both backends count only the packets
// the limit let through to LOG.
func (r *run) judgeSilence(ctx context.Context, ref firewall.ChainRef, spec firewall.Spec) []i18n.Msg {
	c, err := r.env.Firewall.Reread(ctx, ref)
	if err != nil {
		return []i18n.Msg{i18n.M("trace.log.nocount", err.Error())}
	}
	idx := slices.IndexFunc(c.Rules, func(x firewall.Rule) bool { return x.Comment == spec.Comment })
	if idx < 0 {
		return []i18n.Msg{i18n.M("trace.log.nocount", "the LOG rule is not in "+ref.String())}
	}
	n := c.Rules[idx].Packets
	if n == 0 {
		return []i18n.Msg{i18n.M("trace.log.none")}
	}
	out := []i18n.Msg{i18n.M("trace.log.silent", n)}
	nl := r.env.Paths.ReadNetfilterLog()
	if nl.Netns == hostinfo.NetnsChild {
		out = append(out, i18n.M("trace.log.why.netns"))
	}
	if nl.IPv4 != "" && !nl.IPv4KernelLogger {
		out = append(out, i18n.M("trace.log.why.nobackend", nl.IPv4))
	}
	if len(out) == 1 {
		out = append(out, i18n.M("trace.log.why.unknown"))
	}
	return out
}
