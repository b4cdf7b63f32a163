package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/wire"
)

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// fixArgs are the flags of `tsdoctor fix`, defined once for parsing,
// completions and the man page.
type fixArgs struct {
	commonFlags
	remedy     int
	yes        bool
	dryRun     bool
	allow      string
	shape      string
	dnsServers string
	script     bool
	interval   time.Duration
	wait       time.Duration
	binary     string
}

func fixFlagSet() (*flag.FlagSet, *fixArgs) {
	fs := flag.NewFlagSet("fix", flag.ContinueOnError)
	a := &fixArgs{}
	a.bindJSON(fs, wire.SchemaFixV1)
	a.bindRoot(fs)
	a.bindLang(fs, langHelp)
	a.bindECS(fs, ecsHelp)
	fs.IntVar(&a.remedy, "remedy", 0, "remedy to apply: "+remedyList(i18n.EN))
	fs.BoolVar(&a.yes, "yes", false, "apply without asking")
	fs.BoolVar(&a.dryRun, "dry-run", false, "show the plan and change nothing")
	fs.StringVar(&a.allow, "allow", "", "addresses to whitelist (remedies 2, 3), comma-separated; default: those the check finds blocked")
	fs.StringVar(&a.shape, "shape", "narrow", "whitelist rules: narrow (service protocol and port), conntrack (replies only) or wide (everything from the address)")
	fs.StringVar(&a.dnsServers, "dns", "223.5.5.5,223.6.6.6", "public resolvers for remedy 4")
	fs.BoolVar(&a.script, "script", false, "remedy 3: install the article's polling shell script instead of the guard daemon")
	fs.DurationVar(&a.interval, "interval", time.Second, "remedy 3 script: how often it polls")
	fs.DurationVar(&a.wait, "wait", 0, "remedy 6: how long to wait for the attribute to go live")
	fs.StringVar(&a.binary, "binary", "", "remedy 3: the tsdoctor the guard unit runs (default: this binary)")
	return fs, a
}

func cmdFix(args []string, stdin *os.File, stdout, stderr io.Writer) error {
	fs, a := fixFlagSet()
	// `tsdoctor fix 3` names the remedy as `--remedy 3` does, before or
	// after the flags (no other flag takes a bare number).
	args, n := remedyArg(args)
	if n != "" {
		args = append(args, "--remedy="+n)
		fs.SetOutput(io.Discard)
		if fs.Parse(args[:len(args)-1]) == nil && a.remedy != 0 && strconv.Itoa(a.remedy) != n {
			return usageError("fix", "cli.fix.tworemedies", a.remedy, n)
		}
		fs, a = fixFlagSet()
	}
	if err := parseFlags("fix", fs, args, stdout); err != nil {
		return err
	}
	job, err := a.job()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 && !job.dryRun {
		return usageError("fix", "cli.fix.noroot")
	}
	return exitCode(applyRemedy(job, stdin, stdout, stderr))
}

// remedyArg takes the remedy given as an argument (`fix 3`) out of args.
func remedyArg(args []string) ([]string, string) {
	for i, a := range args {
		if a == "--" {
			break
		}
		if _, err := strconv.Atoi(a); err != nil || strings.HasPrefix(a, "-") {
			continue
		}
		if i > 0 && strings.TrimLeft(args[i-1], "-") == "remedy" {
			continue // the value of --remedy
		}
		return append(append([]string{}, args[:i]...), args[i+1:]...), a
	}
	return args, ""
}

// fixJob is a validated `tsdoctor fix`: the remedy, its options, and how
// to ask and report.
type fixJob struct {
	remedy fixes.Remedy
	opts   fixes.Options
	lang   i18n.Lang
	root   string
	ecs    bool
	json   bool
	yes    bool
	dryRun bool
}

// job validates every flag of `tsdoctor fix`.
func (a *fixArgs) job() (j fixJob, err error) {
	j = fixJob{ecs: a.ecs, json: a.json, yes: a.yes, dryRun: a.dryRun}
	if j.lang, err = a.language("fix"); err != nil {
		return
	}
	if a.remedy == 0 {
		err = usageError("fix", "cli.fix.noremedy", remedyList(j.lang))
		return
	}
	if j.remedy, err = fixes.ByID(fixes.ID(a.remedy)); err != nil {
		err = usageError("fix", "cli.fix.badremedy", a.remedy, remedyList(j.lang))
		return
	}
	if err = positive("fix", "interval", a.interval, "1s"); err != nil {
		return
	}
	if a.wait < 0 {
		err = usageError("fix", "cli.nonneg", "wait", a.wait, "wait", "2m")
		return
	}
	o := &j.opts
	*o = fixes.Options{Interval: a.interval, Wait: a.wait, Binary: a.binary, GuardScript: a.script}
	if o.Shape, err = fixes.ParseShape(a.shape); err != nil {
		err = usageError("fix", "raw", fixes.Message(err, j.lang))
		return
	}
	if a.allow != "" {
		if o.Allow, err = fixes.ParseAllow(a.allow); err != nil {
			err = usageError("fix", "raw", "--allow: "+fixes.Message(err, j.lang))
			return
		}
	}
	if o.Resolvers, err = fixes.ParseResolvers(a.dnsServers); err != nil {
		err = usageError("fix", "cli.fix.dns", fixes.Message(err, j.lang), fixes.AddrList(fixes.DefaultResolvers))
		return
	}
	j.root, err = a.hostRoot("fix")
	return
}

// applyRemedy diagnoses, plans, asks, applies and verifies; it returns the exit
// code and prints what happened (or one tsdoctor.fix/v1 object).
func applyRemedy(j fixJob, stdin *os.File, stdout, stderr io.Writer) int {
	r, o, l, root := j.remedy, j.opts, j.lang, j.root
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	copts := checks.DefaultOptions()
	copts.ECS = j.ecs
	h := openMachine(root, copts).fix
	info := r.Info()
	out := wire.Fix{Schema: wire.SchemaFixV1, DryRun: j.dryRun, Remedy: wire.RemedyOf(info, l)}
	finish := func(code int) int {
		if j.json {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(out)
		}
		return code
	}
	fail := func(err error) int {
		out.Error = fixes.Message(err, l)
		fmt.Fprintln(stderr, "tsdoctor fix: "+oneLine(out.Error))
		return finish(1)
	}
	say := func(format string, a ...any) {
		if !j.json {
			fmt.Fprintf(stdout, format, a...)
		}
	}

	rep := h.Diagnose(ctx)
	applies := r.Applies(h, rep)
	out.Applies = applies.OK()
	say("%s %d: %s\n", i18n.T(l, "fixcli.remedy"), info.ID, info.Title.String(l))
	// A dry run without root (cmdFix allows no other): the firewall could
	// not be read, so say so, and show what the plan needs rather than
	// "does not apply".
	blind := os.Geteuid() != 0
	if blind {
		fmt.Fprintln(stderr, i18n.T(l, "fixcli.dryrun.noroot"))
		if rep.Hint.Key != "" {
			fmt.Fprintln(stderr, "  "+rep.Hint.String(l))
		}
		for _, f := range rep.Steps {
			if f.ID == "dns" {
				fmt.Fprintln(stderr, "  "+f.Summary.String(l))
			}
		}
	}
	if !out.Applies && blind {
		out.Reason = i18n.T(l, "fixcli.dryrun.needsfw", info.ID)
		say("%s\n", out.Reason)
		return finish(0)
	}
	if !out.Applies {
		out.Reason = applies.Why.String(l)
		say("%s\n", i18n.T(l, "fixcli.notapplies", out.Reason))
		if applies.Fit == fixes.AlreadyDone {
			say("%s\n", i18n.T(l, "fixcli.nothing"))
			return finish(0)
		}
		if !applies.PlanAnyway {
			return finish(1)
		}
	}
	plan, err := r.Plan(ctx, h, rep, o)
	if err != nil && blind {
		out.Reason = i18n.T(l, "fixcli.dryrun.needsfw", info.ID)
		say("%s\n", out.Reason)
		return finish(0)
	}
	if err != nil {
		return fail(err)
	}
	out.Plan = wire.PlanOf(plan, l)
	if !j.json {
		printPlan(stdout, out.Plan, l)
	}
	if j.dryRun {
		say("%s\n", i18n.T(l, "fixcli.dryrun"))
		return finish(0)
	}
	if !plan.Nothing() && !j.yes {
		if !isTerminal(stdin) {
			return fail(errors.New(i18n.T(l, "fixcli.noconfirm")))
		}
		fmt.Fprint(stderr, i18n.T(l, "fixcli.confirm"))
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if !strings.HasSuffix(line, "\n") {
			// End of input without an answer: end the prompt's line.
			fmt.Fprintln(stderr)
		}
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" && a != "是" {
			say("%s\n", i18n.T(l, "fixcli.cancelled"))
			return finish(1)
		}
	}
	if plan.Nothing() && !plan.Manual {
		say("%s\n", i18n.T(l, "fixcli.nothing"))
	}
	entry, err := fixes.Apply(ctx, h, plan)
	if err != nil {
		return fail(err)
	}
	if entry != nil {
		out.Changed, out.Journal, out.Undo = true, entry.ID, "tsdoctor undo"
		say("%s\n", i18n.T(l, "fixcli.applied", entry.ID))
	}
	// The node attribute: wait for the admin's change to arrive.
	v := fixes.Await(ctx, h, info.ID, plan, o.Wait)
	out.Verification = wire.VerificationOf(v, l)
	if !j.json {
		printVerification(stdout, out.Verification, l)
	}
	if !v.Passed {
		return finish(1)
	}
	return finish(0)
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
