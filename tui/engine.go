// Package tui is tsdoctor's interactive wizard: it walks the incident
// write-up's steps live (connectivity, DNS, MagicDNS, LOG trace, rule
// discovery), explains each, then offers the remedies, applies the one the
// user picks, verifies it and can undo it. It drives the same engine as
// `tsdoctor check` and `tsdoctor fix` through Engine; the domain packages
// know nothing of it.
package tui

import (
	"context"
	"sync"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// Engine is everything the wizard does to the machine.
type Engine interface {
	// Root reports whether changes can be made (else the wizard is
	// read-only).
	Root() bool
	// Diagnose runs the check (counters method, no firewall change),
	// calling progress as each step finishes.
	Diagnose(ctx context.Context, progress func(checks.Finding)) checks.Report
	// TraceCommand is the LOG rule the trace would insert, for the
	// confirmation.
	TraceCommand(rep checks.Report) string
	// Trace runs the packet trace and the article's LOG trace.
	Trace(ctx context.Context) checks.Finding
	// PathTrace runs the packet trace alone (the verify screen, after a
	// remedy): the trace finding with its paths.
	PathTrace(ctx context.Context) checks.Finding
	// Applies, Plan, Apply, Verify and Undo are the remedies' machinery.
	Applies(r fixes.Remedy, rep checks.Report) fixes.Applicability
	Plan(ctx context.Context, r fixes.Remedy, rep checks.Report) (*fixes.Plan, error)
	Apply(ctx context.Context, p *fixes.Plan) (*fixes.Entry, error)
	Verify(ctx context.Context, id fixes.ID, p *fixes.Plan) fixes.Verification
	Undo(ctx context.Context) ([]fixes.UndoResult, error)
}

// HostEngine is the real machine.
type HostEngine struct {
	Env     checks.Env
	Options checks.Options
	Host    *fixes.Host
	Fix     fixes.Options

	traceOnce sync.Once
	traceID   string
}

// id is this wizard's trace id: the rule shown before asking is the rule
// Trace inserts.
func (e *HostEngine) id() string {
	e.traceOnce.Do(func() { e.traceID = tsrules.NewTraceID() })
	return e.traceID
}

func (e *HostEngine) Root() bool { return e.Env.Root }

func (e *HostEngine) Diagnose(ctx context.Context, progress func(checks.Finding)) checks.Report {
	o := e.Options
	o.Trace = false
	o.Progress = progress
	return checks.Run(ctx, e.Env, o)
}

func (e *HostEngine) TraceCommand(rep checks.Report) string {
	return checks.TraceRule(rep, e.id()).Command()
}

func (e *HostEngine) Trace(ctx context.Context) checks.Finding {
	o := e.Options
	o.Trace = true
	o.TraceID = e.id()
	return e.traceStep(ctx, o)
}

func (e *HostEngine) PathTrace(ctx context.Context) checks.Finding {
	o := e.Options
	o.Trace, o.PathTrace = false, true
	return e.traceStep(ctx, o)
}

func (e *HostEngine) traceStep(ctx context.Context, o checks.Options) checks.Finding {
	o.Only = []checks.StepID{checks.StepTrace}
	rep := checks.Run(ctx, e.Env, o)
	for _, f := range rep.Steps {
		if f.ID == checks.StepTrace {
			return f
		}
	}
	return checks.Finding{ID: checks.StepTrace, Status: checks.Skip}
}

func (e *HostEngine) Applies(r fixes.Remedy, rep checks.Report) fixes.Applicability {
	return r.Applies(e.Host, rep)
}

func (e *HostEngine) Plan(ctx context.Context, r fixes.Remedy, rep checks.Report) (*fixes.Plan, error) {
	return r.Plan(ctx, e.Host, rep, e.Fix)
}

func (e *HostEngine) Apply(ctx context.Context, p *fixes.Plan) (*fixes.Entry, error) {
	return fixes.Apply(ctx, e.Host, p)
}

func (e *HostEngine) Verify(ctx context.Context, id fixes.ID, p *fixes.Plan) fixes.Verification {
	return fixes.Verify(ctx, e.Host, id, p)
}

func (e *HostEngine) Undo(ctx context.Context) ([]fixes.UndoResult, error) {
	return fixes.Undo(ctx, e.Host, false)
}
