package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/metrics"
	"github.com/tsdoctor/tsdoctor/wire"
)

// checkArgs are the flags of `tsdoctor check`, defined once for parsing,
// completions and the man page.
type checkArgs struct {
	commonFlags
	timeout      time.Duration
	probeTimeout time.Duration
	trace        bool
	only         string
	list         bool
	verbose      bool
	name         string
	internet     string
	prometheus   string
}

func checkFlagSet() (*flag.FlagSet, *checkArgs) {
	a := &checkArgs{}
	fs := a.flagSet("check", shared{json: wire.SchemaCheckV1, lang: langHelp, ecs: ecsHelpDMI, noColor: noColorPipe, root: true})
	fs.DurationVar(&a.timeout, "timeout", checks.DefaultOptions().Timeout, "deadline for the whole check")
	fs.DurationVar(&a.probeTimeout, "probe-timeout", checks.DefaultOptions().ProbeTimeout, "how long a probe waits for an answer")
	fs.BoolVar(&a.trace, "trace", false, "also trace the replies: their path rule by rule (nftables tracing, a temporary table) and the article's LOG trace (a temporary LOG rule); both always removed")
	fs.StringVar(&a.only, "only", "", "run only these steps (comma-separated IDs, see --list)")
	fs.BoolVar(&a.list, "list", false, "list the checks and exit")
	fs.BoolVar(&a.verbose, "v", false, "show each step's evidence and the manual commands that do the same")
	fs.StringVar(&a.name, "name", checks.DefaultOptions().QueryName, "name to resolve in DNS probes")
	fs.StringVar(&a.internet, "internet", "223.5.5.5:53,223.6.6.6:53", "addresses (ip:port) reached by TCP to prove the internet works")
	fs.StringVar(&a.prometheus, "prometheus", "", "also write the verdict as node_exporter textfile metrics to this file, replaced atomically (e.g. /var/lib/prometheus/node-exporter/tsdoctor.prom; see docs/monitoring.md)")
	return fs, a
}

// checkJob is a validated `tsdoctor check` (or the wizard without a
// terminal): what to run, on which root, and how to print it.
type checkJob struct {
	opts       checks.Options
	lang       i18n.Lang
	root       string
	json       bool
	verbose    bool
	noColor    bool
	prometheus string
}

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	a, err := parseArgs("check", checkFlagSet, args, stdout)
	if err != nil {
		return err
	}
	job, err := a.job()
	if err != nil {
		return err
	}
	if a.list {
		for _, id := range checks.StepIDs() {
			fmt.Fprintf(stdout, "%-13s %s\n", id, i18n.T(job.lang, id.TitleKey()))
		}
		return nil
	}
	if err := promFlag("check", a.prometheus); err != nil {
		return err
	}
	return runCheck(job, stdout, stderr)
}

// job validates every flag of `tsdoctor check` into the engine's options:
// a bad value is a usage error, never a degraded diagnosis.
func (a *checkArgs) job() (checkJob, error) {
	j := checkJob{opts: checks.DefaultOptions(), json: a.json, verbose: a.verbose, noColor: a.noColor, prometheus: a.prometheus}
	var err error
	if j.lang, err = a.language("check"); err != nil {
		return j, err
	}
	if err := positive("check", "timeout", a.timeout, "8s"); err != nil {
		return j, err
	}
	if err := positive("check", "probe-timeout", a.probeTimeout, "1.5s"); err != nil {
		return j, err
	}
	if a.probeTimeout > a.timeout {
		return j, usageError("check", "cli.probe.gt", a.probeTimeout, a.timeout)
	}
	if n := strings.TrimSuffix(a.name, "."); n == "" || strings.ContainsAny(n, " \t/:") || len(n) > 253 {
		return j, usageError("check", "cli.name", a.name)
	}
	o := &j.opts
	o.Timeout, o.ProbeTimeout, o.Trace, o.ECS, o.QueryName = a.timeout, a.probeTimeout, a.trace, a.ecs, a.name
	o.Internet = []netip.AddrPort{}
	for _, s := range strings.Split(a.internet, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return j, usageError("check", "cli.internet", s)
		}
		o.Internet = append(o.Internet, ap)
	}
	if a.only != "" {
		for _, id := range strings.Split(a.only, ",") {
			id := checks.StepID(strings.TrimSpace(id))
			if !slices.Contains(checks.StepIDs(), id) {
				return j, usageError("check", "cli.only", id)
			}
			o.Only = append(o.Only, id)
		}
	}
	j.root, err = a.hostRoot("check")
	return j, err
}

// runCheck runs the diagnosis and prints it; it ends with the verdict's
// exit code (2 when the output or the metrics file could not be written).
func runCheck(j checkJob, stdout, stderr io.Writer) error {
	// Ctrl-C and SIGTERM cancel the run; temporary rules are removed on the
	// way out because every insert is paired with a deferred delete.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := openMachine(j.root, j.opts).env
	if !env.Root && !j.json {
		fmt.Fprintln(stderr, i18n.T(j.lang, "fw.noroot"))
	}
	rep := checks.Run(ctx, env, j.opts)
	var failed []error
	if j.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(wire.CheckOf(rep, j.lang)); err != nil {
			failed = append(failed, err)
		}
	} else {
		printHuman(stdout, rep, j.lang, j.verbose, useColor(stdout, j.noColor))
	}
	if j.prometheus != "" {
		// A monitoring run that cannot write its file must fail loudly, or
		// the alert only fires once the metrics go stale.
		if err := metrics.WriteFile(j.prometheus, metrics.Check(rep, time.Now(), version)); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return failure("check", 2, errors.Join(failed...).Error())
	}
	return exitCode(rep.Verdict.ExitCode())
}

// promFlag checks a --prometheus file before a long run, so a typo fails at
// once: its directory must exist and it must not be a directory.
func promFlag(cmd, path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usageError(cmd, "cli.prometheus.isdir", path, filepath.Join(path, "tsdoctor.prom"))
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return usageError(cmd, "cli.prometheus.nodir", path, filepath.Dir(path))
	}
	return nil
}

var marks = map[checks.Status]string{checks.Pass: "✓", checks.Warn: "!", checks.Fail: "✗", checks.Skip: "-"}

// useColor: colour only for a terminal, and never with NO_COLOR or
// --no-color (https://no-color.org).
func useColor(w io.Writer, noColor bool) bool {
	f, ok := w.(*os.File)
	return ok && !noColor && os.Getenv("NO_COLOR") == "" && isTerminal(f)
}

// The check's colours, as SGR styles from x/ansi.
var (
	markStyles = map[checks.Status]ansi.Style{checks.Pass: ansi.NewStyle().ForegroundColor(ansi.Green),
		checks.Warn: ansi.NewStyle().ForegroundColor(ansi.Yellow), checks.Fail: badStyle, checks.Skip: ansi.NewStyle().Faint()}
	goodStyle = ansi.NewStyle().Bold().ForegroundColor(ansi.Green)
	badStyle  = ansi.NewStyle().Bold().ForegroundColor(ansi.Red)
)

func paint(on bool, st ansi.Style, s string) string {
	if !on {
		return s
	}
	return st.Styled(s)
}

func printHuman(w io.Writer, rep checks.Report, l i18n.Lang, verbose, color bool) {
	for _, f := range rep.Steps {
		// The titles line up by terminal cells (a Chinese character takes two).
		title := i18n.T(l, f.ID.TitleKey())
		fmt.Fprintf(w, "%s %s%s %s\n", paint(color, markStyles[f.Status], marks[f.Status]), title, strings.Repeat(" ", max(0, 13-ansi.StringWidth(title))), f.Summary.String(l))
		if !verbose {
			continue
		}
		for _, e := range f.Evidence {
			fmt.Fprintf(w, "      %s\n", e.String(l))
		}
		for _, c := range f.Commands {
			fmt.Fprintf(w, "      $ %s\n", c)
		}
	}
	fmt.Fprintln(w)
	switch rep.Verdict {
	case checks.Healthy:
		fmt.Fprintln(w, paint(color, goodStyle, i18n.T(l, "verdict.healthy")))
	case checks.Blocked:
		var addrs []string
		for _, b := range rep.Blocked {
			addrs = append(addrs, b.Address.String())
		}
		if c := rep.Route; c != nil {
			fmt.Fprintln(w, paint(color, badStyle, i18n.T(l, "verdict.blocked.route", strings.Join(addrs, ", "), c.Device)))
			if c.Peer != "" {
				fmt.Fprintln(w, i18n.T(l, "verdict.route", c.Prefix, c.TableName(), c.Device, c.Reason, c.Peer))
			} else {
				fmt.Fprintln(w, i18n.T(l, "verdict.route.nopeer", c.Prefix, c.TableName(), c.Device, c.Reason))
			}
			fmt.Fprintln(w, fixIt(rep, l))
			if c.Reason == checks.ReasonExitNode {
				// The option people reach for first does not help.
				fmt.Fprintln(w, i18n.T(l, "verdict.next.exitlan"))
			}
			break
		}
		fmt.Fprintln(w, paint(color, badStyle, i18n.T(l, "verdict.blocked", strings.Join(addrs, ", "))))
		if c := rep.Culprit; c != nil {
			fmt.Fprintln(w, i18n.T(l, "verdict.culprit", c.Backend, c.Table, c.Chain, c.Position, c.Packets, c.Text))
		}
		fmt.Fprintln(w, fixIt(rep, l))
	case checks.Degraded:
		fmt.Fprintln(w, i18n.T(l, "verdict.degraded"))
	default:
		fmt.Fprintln(w, i18n.T(l, "verdict.error", rep.Hint.String(l)))
	}
	if rep.Orphaned {
		fmt.Fprintln(w, i18n.T(l, "verdict.orphaned", rep.Tailscale.Socket))
	}
	fmt.Fprintln(w, i18n.T(l, "verdict.elapsed", rep.Elapsed.Round(time.Millisecond)))
}

// fixIt is the verdict's "Fix it" line: the remedies that address what
// was found (all of them when none says so).
func fixIt(rep checks.Report, l i18n.Lang) string {
	rs := fixes.Addressing(rep)
	if len(rs) == 0 {
		rs = fixes.All()
	}
	if len(rs) == 1 {
		in := rs[0].Info()
		return i18n.T(l, "verdict.next.one", int(in.ID), in.Short.String(l))
	}
	return i18n.T(l, "verdict.next", fixes.List(rs).String(l))
}
