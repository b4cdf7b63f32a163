package checks

import (
	"context"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// Swept is what Sweep removed: the leftovers of a tsdoctor killed (SIGKILL,
// a crash) before it could remove its temporary trace rules.
type Swept struct {
	// Rules are trace LOG rules (tsrules.TraceSpec), as they were read.
	Rules []firewall.Rule
	// Tables are packet-trace tables (nftrace), by name.
	Tables []string

	// snap is the firewall as the sweep left it, so the diagnosis that
	// follows starts from it without reading the firewall again.
	snap *firewall.Snapshot
}

// Sweep is the first step of every run with root (Run calls it before any
// other step, for `tsdoctor check`, `fix` and the wizard alike): it removes
// the trace rules and trace tables a killed tsdoctor left behind, so none is
// mistaken for the host's own rules or left to log forever. The rules step
// reports what it removed. Without root or a readable firewall it does
// nothing.
func Sweep(ctx context.Context, env Env) Swept {
	var s Swept
	if !env.Root || env.Firewall == nil {
		return s
	}
	s.snap = env.Firewall.Snapshot(ctx)
	// Cleaning up finishes even when the run's deadline or Ctrl-C comes.
	s.Rules = sweepTraceRules(context.WithoutCancel(ctx), env.Firewall, s.snap)
	if len(s.Rules) > 0 {
		s.snap = env.Firewall.Snapshot(ctx)
	}
	if env.NFTrace != nil {
		s.Tables, _ = env.NFTrace.Sweep(context.WithoutCancel(ctx), tsrules.TraceStale)
	}
	return s
}

// sweepTraceRules removes trace LOG rules left by a tsdoctor that was killed
// before it could clean up; another tsdoctor's trace in progress stays.
func sweepTraceRules(ctx context.Context, h *firewall.Host, snap *firewall.Snapshot) []firewall.Rule {
	var swept []firewall.Rule
	for _, rule := range snap.Rules() {
		id, ok := tsrules.TraceIDOf(rule.Comment)
		if !ok || !tsrules.TraceStale(id) {
			continue
		}
		w := h.Backend(rule.Backend)
		if w == nil {
			continue
		}
		if err := w.Delete(ctx, rule.ChainRef, tsrules.TraceSpec(id)); err == nil {
			swept = append(swept, rule)
		}
	}
	return swept
}
