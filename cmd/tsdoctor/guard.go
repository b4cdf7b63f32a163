package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/metrics"
)

// guardArgs are the flags of `tsdoctor guard`, defined once for parsing,
// completions and the man page.
type guardArgs struct {
	allow     string
	shape     string
	interval  time.Duration
	once      bool
	verbose   bool
	printUnit bool
	socket    string
	prom      string
}

func guardFlagSet() (*flag.FlagSet, *guardArgs) {
	fs := flag.NewFlagSet("guard", flag.ContinueOnError)
	a := &guardArgs{}
	fs.StringVar(&a.allow, "allow", "", "addresses to keep whitelisted, comma-separated (e.g. 100.100.2.136,100.100.2.138)")
	fs.StringVar(&a.shape, "shape", "narrow", "whitelist rules: narrow, conntrack or wide")
	fs.DurationVar(&a.interval, "interval", time.Second, "poll period when no change events can be watched (otherwise nftables changes and tailscaled's own events trigger checks, with a safety poll every minute)")
	fs.StringVar(&a.socket, "socket", fixes.DefaultTailscaledSocket, "tailscaled's socket, whose IPN bus says when tailscaled starts or changes its firewall mode")
	fs.BoolVar(&a.once, "once", false, "apply once and exit (for scripts)")
	fs.BoolVar(&a.verbose, "v", false, "also log passes that change nothing")
	fs.StringVar(&a.prom, "prometheus", "", "also write the guard's counters (rebuilds seen, re-applies, the last outage) as node_exporter textfile metrics to this file, replaced atomically after each pass that changes them (e.g. /var/lib/prometheus/node-exporter/tsdoctor-guard.prom)")
	fs.BoolVar(&a.printUnit, "print-unit", false, "print the systemd unit the packages install (addresses from /etc/default/tsdoctor) and exit")
	return fs, a
}

func cmdGuard(args []string, stdout, stderr io.Writer) error {
	a, err := parseArgs("guard", guardFlagSet, args, stdout)
	if err != nil {
		return err
	}
	if a.printUnit {
		fmt.Fprint(stdout, fixes.PackagedGuardUnit("/usr/bin/tsdoctor"))
		return nil
	}
	addrs, err := fixes.ParseAllow(a.allow)
	if err != nil {
		return usageError("guard", "raw", "--allow: "+err.Error())
	}
	if len(addrs) == 0 {
		return usageError("guard", "cli.guard.allow")
	}
	sh, err := fixes.ParseShape(a.shape)
	if err != nil {
		return usageError("guard", "raw", err.Error())
	}
	if err := positive("guard", "interval", a.interval, "1s"); err != nil {
		return err
	}
	if err := promFlag("guard", a.prom); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return usageError("guard", "cli.guard.noroot")
	}
	fw := hostFirewall()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := fixes.GuardOptions{Allow: addrs, Shape: sh, Once: a.once, Interval: a.interval, Verbose: a.verbose,
		Logf: func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) }}
	if a.prom != "" {
		w := &metrics.GuardWriter{Path: a.prom, Version: version}
		o.OnPass = func(s fixes.GuardStats) {
			// A file that cannot be written is logged; the guard's job, the
			// whitelist, goes on.
			if err := w.Pass(s); err != nil {
				o.Logf("tsdoctor guard: %v", err)
			}
		}
	}
	if !a.once {
		if nb, ok := fw.Backend(firewall.NFTables).(*firewall.NFTablesBackend); ok {
			if w, err := nb.Watch(ctx); err == nil {
				o.Watch = w
			} else {
				fmt.Fprintf(stderr, "tsdoctor guard: no nftables events (%v)\n", err)
			}
		}
		// tailscaled's own events: what shows a rebuild on iptables-legacy,
		// where the firewall has no change events and every read costs the
		// whole table.
		o.Events = fixes.TailscaledEvents(ctx, fixes.EventOptions{Socket: a.socket, Logf: o.Logf})
	}
	// systemd (Type=notify) counts the guard started once its first pass
	// is done and its watches are up.
	o.OnReady = func() {
		if err := sdNotify("READY=1"); err != nil {
			o.Logf("tsdoctor guard: tell systemd it is ready: %v", err)
		}
	}
	if err := fixes.RunGuard(ctx, fw, o); err != nil {
		return failure("guard", 1, err.Error())
	}
	return nil
}
