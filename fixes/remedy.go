package fixes

import (
	"context"
	"strconv"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// Remedy is one way out. It owns its whole lifecycle, so adding one is one
// file plus its catalog entries: what it is and promises (Info), whether it
// fits this host (Applies), when to recommend it (Recommend), what exactly
// it does (Plan, applied through the journal by Apply and taken back by
// Undo) and how to tell it worked (Verify).
type Remedy interface {
	Info() Info
	// Applies says whether the remedy makes sense on this host, and if not,
	// why, from the diagnosis.
	Applies(h *Host, rep checks.Report) Applicability
	// Recommend makes the remedy's case from the diagnosis alone (no
	// machine access): Rank 0 means it does not address what was found.
	Recommend(rep checks.Report) Recommendation
	// Plan works out exactly what Apply will do. It changes nothing.
	Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error)
	// Verify judges the check re-run after Apply (v.Report) by what the
	// remedy promised: it sets v.Passed and adds v.Details.
	Verify(ctx context.Context, h *Host, p *Plan, v *Verification)
}

// Promise says plainly what happens to a remedy next time tailscaled
// restarts and the host reboots.
type Promise struct {
	Restart i18n.Msg
	Reboot  i18n.Msg
}

// Fit is the kind of answer Applies gives.
type Fit int

const (
	// Fits: the remedy can be applied here.
	Fits Fit = iota
	// AlreadyDone: nothing to fix for this remedy (what it works around is
	// not there, or it is in place) and nothing is blocked: success.
	AlreadyDone
	// NotApplicable: the remedy cannot help here.
	NotApplicable
)

// Applicability is a remedy's answer to "does it apply here?".
type Applicability struct {
	Fit Fit
	// Why explains AlreadyDone and NotApplicable.
	Why i18n.Msg
	// PlanAnyway: the plan is still worth showing though the remedy does
	// not apply (remedy 6: the policy an admin can grant before tailscaled
	// is upgraded).
	PlanAnyway bool
}

// OK reports whether the remedy applies.
func (a Applicability) OK() bool { return a.Fit == Fits }

func fits() Applicability { return Applicability{Fit: Fits} }

func notApplicable(why i18n.Msg) Applicability { return Applicability{Fit: NotApplicable, Why: why} }

// nothingToFix: what the remedy works around is not there. That is success
// when nothing is blocked; otherwise the remedy is no help with what is.
func nothingToFix(rep checks.Report, why i18n.Msg) Applicability {
	if len(rep.Blocked) == 0 {
		return Applicability{Fit: AlreadyDone, Why: why}
	}
	return notApplicable(why)
}

// Recommendation is a remedy's case for itself on this host.
type Recommendation struct {
	ID ID
	// Rank orders the remedies that address what was found: 0 does not,
	// the highest is recommended.
	Rank int
	// Why is the reason, in parts shown one after another.
	Why []i18n.Msg
}

// Text renders the reason in l.
func (r Recommendation) Text(l i18n.Lang) string {
	var b strings.Builder
	for _, m := range r.Why {
		b.WriteString(m.String(l))
	}
	return b.String()
}

// dropForm: the diagnosis blames tailscaled's DROP, which remedies 1 to 6
// address. A route that captures the services comes first: their packets
// never reach the firewall.
func dropForm(rep checks.Report) bool { return rep.Route == nil && rep.Culprit != nil }

// forTheDrop is the case of a remedy for the DROP that is not recommended
// over the others: the verdict lists it, the wizard does not star it.
func forTheDrop(id ID, rep checks.Report) Recommendation {
	if !dropForm(rep) {
		return Recommendation{}
	}
	return rank(id, 1)
}

func rank(id ID, n int, why ...i18n.Msg) Recommendation {
	return Recommendation{ID: id, Rank: n, Why: why}
}

// Recommend picks the remedy for this host from the diagnosis; ID 0 (with
// the reason) when nothing needs fixing.
func Recommend(rep checks.Report) Recommendation {
	best := Recommendation{Why: []i18n.Msg{i18n.M("tui.rec.none")}}
	for _, r := range All() {
		if c := r.Recommend(rep); c.Rank > best.Rank {
			best = c
		}
	}
	return best
}

// Addressing lists the remedies that address what the diagnosis found, in
// the article's order: the "Fix it" line of the verdict.
func Addressing(rep checks.Report) []Remedy {
	var out []Remedy
	for _, r := range All() {
		if r.Recommend(rep).Rank > 0 {
			out = append(out, r)
		}
	}
	return out
}

// List is remedies as people read them: "1 delete the DROP, 2 whitelist,
// …", generated, never written by hand.
type List []Remedy

// String renders the list in l.
func (rs List) String(l i18n.Lang) string {
	var parts []string
	for _, r := range rs {
		in := r.Info()
		parts = append(parts, strconv.Itoa(int(in.ID))+" "+in.Short.String(l))
	}
	sep := ", "
	if l == i18n.ZH {
		sep = "，"
	}
	return strings.Join(parts, sep)
}

// Error is a failure a person reads: its message is translated.
// Error() is the English text, for logs and wrapping.
type Error struct {
	Msg i18n.Msg
	// Err is the cause, for errors.Is and errors.As.
	Err error
}

func (e *Error) Error() string { return e.String(i18n.EN) }

func (e *Error) Unwrap() error { return e.Err }

// String renders the message in l (arguments that are messages, lists or
// errors from fixes in l too).
func (e *Error) String(l i18n.Lang) string { return e.Msg.String(l) }

// Message is err in l: translated where it comes from fixes, else as is.
func Message(err error, l i18n.Lang) string {
	switch e := err.(type) {
	case *Error:
		return e.String(l)
	case interface{ Unwrap() []error }:
		// errors.Join: one per line (fmt.Errorf with several %w has its
		// own text, kept as is).
		join := func(l i18n.Lang) string {
			var lines []string
			for _, x := range e.Unwrap() {
				lines = append(lines, Message(x, l))
			}
			return strings.Join(lines, "\n")
		}
		if join(i18n.EN) == err.Error() {
			return join(l)
		}
	}
	return err.Error()
}

// failure is an error whose message is m.
func failure(m i18n.Msg) error { return &Error{Msg: m} }

// failureOf is an error whose message is m, caused by err (which m's
// arguments usually include).
func failureOf(err error, m i18n.Msg) error { return &Error{Msg: m, Err: err} }
