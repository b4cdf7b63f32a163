package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/wire"
)

// A `tsdoctor fix` runs in four steps, each a method of fixRun that says
// in its signature what it takes and gives:
//
//	plan    diagnose, decide whether the remedy applies, plan it
//	confirm ask before the plan changes anything (unless --yes)
//	apply   apply the plan through the journal
//	verify  check again and judge the remedy by what it promised
//
// Each step prints what it did (or fills in the tsdoctor.fix/v1 document)
// and may end the run with an error carrying the exit code: errDone when
// there is nothing more to do, exit 1 when the remedy does not fit, was
// cancelled, failed or is not verified.
type fixRun struct {
	fixJob
	host   *fixes.Host
	out    wire.Fix
	stdout io.Writer
	stderr io.Writer
}

// applyRemedy runs the four steps on this machine and writes the
// tsdoctor.fix/v1 document with --json, whatever the outcome.
func applyRemedy(j fixJob, stdin *os.File, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	copts := checks.DefaultOptions()
	copts.ECS = j.ecs
	f := &fixRun{fixJob: j, host: openMachine(j.root, copts).fix, stdout: stdout, stderr: stderr,
		out: wire.Fix{Schema: wire.SchemaFixV1, DryRun: j.dryRun, Remedy: wire.RemedyOf(j.remedy.Info(), j.lang)}}
	err := f.run(ctx, stdin)
	if j.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(f.out)
	}
	return err
}

func (f *fixRun) run(ctx context.Context, stdin *os.File) error {
	plan, err := f.plan(ctx)
	if err != nil {
		return err
	}
	if f.dryRun {
		f.say(i18n.T(f.lang, "fixcli.dryrun"))
		return nil
	}
	if err := f.confirm(plan, stdin); err != nil {
		return err
	}
	if err := f.apply(ctx, plan); err != nil {
		return err
	}
	return f.verify(ctx, plan)
}

// plan diagnoses the machine and plans the remedy, or ends the run when
// there is no plan to show.
func (f *fixRun) plan(ctx context.Context) (*fixes.Plan, error) {
	l, info := f.lang, f.remedy.Info()
	rep := f.host.Diagnose(ctx)
	applies := f.remedy.Applies(f.host, rep)
	f.out.Applies = applies.OK()
	f.say(fmt.Sprintf("%s %d: %s", i18n.T(l, "fixcli.remedy"), info.ID, info.Title.String(l)))
	// A dry run without root (cmdFix allows no other): the firewall could
	// not be read, so say so, and show what the plan needs rather than
	// "does not apply".
	blind := os.Geteuid() != 0
	if blind {
		f.sayBlind(rep)
	}
	if !f.out.Applies && blind {
		return nil, f.needsFirewall()
	}
	if !f.out.Applies {
		if err := f.notApplies(applies); err != nil {
			return nil, err
		}
	}
	plan, err := f.remedy.Plan(ctx, f.host, rep, f.opts)
	if err != nil && blind {
		return nil, f.needsFirewall()
	}
	if err != nil {
		return nil, f.fail(fixes.Message(err, l))
	}
	f.out.Plan = wire.PlanOf(plan, l)
	if !f.json {
		printPlan(f.stdout, f.out.Plan, l)
	}
	return plan, nil
}

// sayBlind tells a dry run without root what it could not see.
func (f *fixRun) sayBlind(rep checks.Report) {
	l := f.lang
	fmt.Fprintln(f.stderr, i18n.T(l, "fixcli.dryrun.noroot"))
	if rep.Hint.Key != "" {
		fmt.Fprintln(f.stderr, "  "+rep.Hint.String(l))
	}
	for _, s := range rep.Steps {
		if s.ID == checks.StepDNS {
			fmt.Fprintln(f.stderr, "  "+s.Summary.String(l))
		}
	}
}

// needsFirewall ends a dry run without root whose plan needs the firewall.
func (f *fixRun) needsFirewall() error {
	f.out.Reason = i18n.T(f.lang, "fixcli.dryrun.needsfw", f.remedy.Info().ID)
	f.say(f.out.Reason)
	return errDone
}

// notApplies says why the remedy does not apply and what that means:
// already done is success (exit 0); a remedy that does not fit is not
// (exit 1), unless it plans anyway (the node attribute: its plan says what
// the admin does); nil goes on to plan.
func (f *fixRun) notApplies(applies fixes.Applicability) error {
	l := f.lang
	f.out.Reason = applies.Why.String(l)
	f.say(i18n.T(l, "fixcli.notapplies", f.out.Reason))
	if applies.Fit == fixes.AlreadyDone {
		f.say(i18n.T(l, "fixcli.nothing"))
		return errDone
	}
	if !applies.PlanAnyway {
		return exitCode(1)
	}
	return nil
}

// confirm asks on the terminal before a plan that changes something,
// unless --yes. Without a terminal to ask on, the run fails; anything but
// yes cancels it (exit 1).
func (f *fixRun) confirm(plan *fixes.Plan, stdin *os.File) error {
	l := f.lang
	if plan.Nothing() || f.yes {
		return nil
	}
	if !isTerminal(stdin) {
		return f.fail(i18n.T(l, "fixcli.noconfirm"))
	}
	fmt.Fprint(f.stderr, i18n.T(l, "fixcli.confirm"))
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	if !strings.HasSuffix(line, "\n") {
		// End of input without an answer: end the prompt's line.
		fmt.Fprintln(f.stderr)
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" && a != "是" {
		f.say(i18n.T(l, "fixcli.cancelled"))
		return exitCode(1)
	}
	return nil
}

// apply applies the plan through the journal (a plan that changes
// nothing records nothing).
func (f *fixRun) apply(ctx context.Context, plan *fixes.Plan) error {
	if plan.Nothing() && !plan.Manual {
		f.say(i18n.T(f.lang, "fixcli.nothing"))
	}
	entry, err := fixes.Apply(ctx, f.host, plan)
	if err != nil {
		return f.fail(fixes.Message(err, f.lang))
	}
	if entry != nil {
		f.out.Changed, f.out.Journal, f.out.Undo = true, entry.ID, "tsdoctor undo"
		f.say(i18n.T(f.lang, "fixcli.applied", entry.ID))
	}
	return nil
}

// verify checks again and judges the remedy by what it promised; not
// verified is exit 1.
func (f *fixRun) verify(ctx context.Context, plan *fixes.Plan) error {
	// The node attribute: wait (--wait) for the admin's change to arrive.
	v := fixes.Await(ctx, f.host, f.remedy.Info().ID, plan, f.opts.Wait)
	f.out.Verification = wire.VerificationOf(v, f.lang)
	if !f.json {
		printVerification(f.stdout, f.out.Verification, f.lang)
	}
	if !v.Passed {
		return exitCode(1)
	}
	return nil
}

// say prints one line for a person; with --json the document says it.
func (f *fixRun) say(line string) {
	if !f.json {
		fmt.Fprintln(f.stdout, line)
	}
}

// fail ends the run with exit 1: msg goes into the document and, once, to
// stderr (run prints it).
func (f *fixRun) fail(msg string) error {
	f.out.Error = msg
	return failure("fix", 1, msg)
}

func printPlan(w io.Writer, p *wire.Plan, l i18n.Lang) {
	if len(p.Steps) == 0 {
		fmt.Fprintln(w, i18n.T(l, "fixcli.plan.empty"))
	} else {
		fmt.Fprintln(w, i18n.T(l, "fixcli.plan"))
	}
	for i, s := range p.Steps {
		fmt.Fprintf(w, "  %d. %s\n", i+1, s.Text)
		if s.Command != "" {
			fmt.Fprintf(w, "     $ %s\n", s.Command)
		}
		if s.Content != "" {
			for _, line := range strings.Split(strings.TrimRight(s.Content, "\n"), "\n") {
				fmt.Fprintf(w, "     | %s\n", line)
			}
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  ! %s\n", n)
	}
}

func printVerification(w io.Writer, v *wire.Verification, l i18n.Lang) {
	mark, key := "✓", "fixcli.verified"
	if !v.Passed {
		mark, key = "✗", "fixcli.notverified"
	}
	fmt.Fprintf(w, "%s %s\n", mark, i18n.T(l, key))
	for _, d := range v.Details {
		fmt.Fprintf(w, "  - %s\n", d)
	}
	for _, b := range v.Blocked {
		fmt.Fprintf(w, "  - %s\n", i18n.T(l, "fixcli.blocked", b.Address.String(), strconv.Itoa(int(b.Port)), b.Service))
	}
	fmt.Fprintf(w, "  %s %s\n  %s %s\n", i18n.T(l, "fixcli.onrestart"), v.OnRestart, i18n.T(l, "fixcli.onreboot"), v.OnReboot)
}
