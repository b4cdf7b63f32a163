package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/netprobe"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// hostEnv is the real machine as the engine sees it.
func hostEnv() checks.Env {
	root := os.Geteuid() == 0
	env := checks.Env{
		Tailscale: tailscale.ExecRunner{},
		Paths:     rootPaths(),
		Probe:     netprobe.Net{},
		KernelLog: func() (*hostinfo.KernelLog, error) { return hostinfo.OpenKernelLog("") },
		NFTrace:   nftrace.Namespace{},
		Root:      root,
		Interface: func(name string) bool { _, err := net.InterfaceByName(name); return err == nil },
		Now:       time.Now,
	}
	if root {
		env.Firewall = firewall.Default()
	}
	return env
}

// rootPaths are the files the check reads; with TSDOCTOR_ROOT (the lab) the
// configuration files come from that root, as the remedies write them.
func rootPaths() hostinfo.Paths {
	p := hostinfo.DefaultPaths
	if r := os.Getenv("TSDOCTOR_ROOT"); r != "" && r != "/" {
		p.ResolvConf = filepath.Join(r, p.ResolvConf)
		p.ResolvedUpstream = filepath.Join(r, p.ResolvedUpstream)
		p.TailscaleBackup = filepath.Join(r, p.TailscaleBackup)
	}
	return p
}

// checkFlags are the flags of `tsdoctor check`, defined once for parsing,
// completions and the man page.
type checkFlags struct {
	asJSON       *bool
	lang         *string
	timeout      *time.Duration
	probeTimeout *time.Duration
	traceLog     *bool
	ecs          *bool
	only         *string
	list         *bool
	verbose      *bool
	name         *string
	internet     *string
	noColor      *bool
}

func checkFlagSet() (*flag.FlagSet, checkFlags) {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var v checkFlags
	v.asJSON = fs.Bool("json", false, "write one tsdoctor.check/v1 JSON object to stdout")
	v.lang = fs.String("lang", "", "language: en or zh (default from LC_ALL/LANG)")
	v.timeout = fs.Duration("timeout", checks.DefaultOptions().Timeout, "deadline for the whole check")
	v.probeTimeout = fs.Duration("probe-timeout", checks.DefaultOptions().ProbeTimeout, "how long a probe waits for an answer")
	v.traceLog = fs.Bool("trace", false, "also trace the replies: their path rule by rule (nftables tracing, a temporary table) and the article's LOG trace (a temporary LOG rule); both always removed")
	v.ecs = fs.Bool("ecs", os.Getenv("TSDOCTOR_ECS") == "1", "treat this host as Alibaba Cloud ECS (probe the metadata service) even if DMI does not say so")
	v.only = fs.String("only", "", "run only these steps (comma-separated IDs, see --list)")
	v.list = fs.Bool("list", false, "list the checks and exit")
	v.verbose = fs.Bool("v", false, "show each step's evidence and the manual commands that do the same")
	v.name = fs.String("name", checks.DefaultOptions().QueryName, "name to resolve in DNS probes")
	v.noColor = fs.Bool("no-color", false, "no colours (as NO_COLOR=1); output to a pipe or file never has any")
	v.internet = fs.String("internet", "223.5.5.5:53,223.6.6.6:53", "addresses (ip:port) reached by TCP to prove the internet works")
	return fs, v
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs, fv := checkFlagSet()
	fs.SetOutput(stderr)
	asJSON, lang, timeout, probeTimeout, traceLog, ecs, only, list, verbose, name, internet := fv.asJSON, fv.lang, fv.timeout, fv.probeTimeout, fv.traceLog, fv.ecs, fv.only, fv.list, fv.verbose, fv.name, fv.internet
	if err := fs.Parse(args); err != nil {
		return 2
	}
	l := i18n.FromEnv()
	if *lang != "" {
		var ok bool
		if l, ok = i18n.ParseLang(*lang); !ok {
			fmt.Fprintf(stderr, "tsdoctor: unknown language %q: use --lang en or --lang zh\n", *lang)
			return 2
		}
	}
	if *list {
		for _, id := range checks.StepIDs() {
			fmt.Fprintf(stdout, "%-13s %s\n", id, i18n.T(l, "step."+id))
		}
		return 0
	}
	opts := checks.DefaultOptions()
	opts.Timeout, opts.ProbeTimeout, opts.Trace, opts.ECS, opts.QueryName = *timeout, *probeTimeout, *traceLog, *ecs, *name
	opts.Internet = nil
	for _, s := range strings.Split(*internet, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			fmt.Fprintf(stderr, "tsdoctor: --internet: %q is not ip:port (e.g. 223.5.5.5:53)\n", s)
			return 2
		}
		opts.Internet = append(opts.Internet, ap)
	}
	if opts.Internet == nil {
		opts.Internet = []netip.AddrPort{}
	}
	if *only != "" {
		for _, id := range strings.Split(*only, ",") {
			id = strings.TrimSpace(id)
			if !contains(checks.StepIDs(), id) {
				fmt.Fprintf(stderr, "tsdoctor: unknown check %q: see tsdoctor check --list\n", id)
				return 2
			}
			opts.Only = append(opts.Only, id)
		}
	}

	// Ctrl-C and SIGTERM cancel the run; temporary rules are removed on the
	// way out because every insert is paired with a deferred delete.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := hostEnv()
	if !env.Root && !*asJSON {
		fmt.Fprintln(stderr, i18n.T(l, "fw.noroot"))
	}
	rep := checks.Run(ctx, env, opts)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep.JSON(l)); err != nil {
			fmt.Fprintln(stderr, "tsdoctor:", err)
			return 2
		}
		return rep.Verdict.ExitCode()
	}
	printHuman(stdout, rep, l, *verbose, useColor(stdout, *fv.noColor))
	return rep.Verdict.ExitCode()
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

var marks = map[checks.Status]string{checks.Pass: "✓", checks.Warn: "!", checks.Fail: "✗", checks.Skip: "-"}

// useColor: colour only for a terminal, and never with NO_COLOR or
// --no-color (https://no-color.org).
func useColor(w io.Writer, noColor bool) bool {
	f, ok := w.(*os.File)
	return ok && !noColor && os.Getenv("NO_COLOR") == "" && isTerminal(f)
}

var markColors = map[checks.Status]string{checks.Pass: "32", checks.Warn: "33", checks.Fail: "1;31", checks.Skip: "2"}

func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func printHuman(w io.Writer, rep checks.Report, l i18n.Lang, verbose, color bool) {
	for _, f := range rep.Steps {
		fmt.Fprintf(w, "%s %s %s\n", paint(color, markColors[f.Status], marks[f.Status]), padRight(i18n.T(l, "step."+f.ID), 13), f.Summary.String(l))
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
		fmt.Fprintln(w, paint(color, "1;32", i18n.T(l, "verdict.healthy")))
	case checks.Blocked:
		var addrs []string
		for _, b := range rep.Blocked {
			addrs = append(addrs, b.Address.String())
		}
		fmt.Fprintln(w, paint(color, "1;31", i18n.T(l, "verdict.blocked", strings.Join(addrs, ", "))))
		if c := rep.Culprit; c != nil {
			fmt.Fprintln(w, i18n.T(l, "verdict.culprit", c.Backend, c.Table, c.Chain, c.Position, c.Packets, c.Text))
		}
		fmt.Fprintln(w, i18n.T(l, "verdict.next"))
	case checks.Degraded:
		fmt.Fprintln(w, i18n.T(l, "verdict.degraded"))
	default:
		fmt.Fprintln(w, i18n.T(l, "verdict.error", rep.Hint.String(l)))
	}
	fmt.Fprintln(w, i18n.T(l, "verdict.elapsed", rep.Elapsed.Round(time.Millisecond)))
}

// padRight pads s to width terminal cells; CJK characters take two.
func padRight(s string, width int) string {
	w := 0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115f || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) || (r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) || (r >= 0xffe0 && r <= 0xffe6)) {
			w += 2
		} else {
			w++
		}
	}
	if w >= width {
		return s
	}
	return s + strings.Repeat(" ", width-w)
}
