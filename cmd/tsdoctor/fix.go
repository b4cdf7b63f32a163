package main

import (
	"flag"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

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
	dnsSet     bool // --dns was given (unset: the host's cloud's own resolvers)
}

func fixFlagSet() (*flag.FlagSet, *fixArgs) {
	a := &fixArgs{}
	fs := a.flagSet("fix", shared{json: wire.SchemaFixV1, lang: langHelp, ecs: ecsHelp, root: true})
	fs.IntVar(&a.remedy, "remedy", 0, "remedy to apply: "+remedyList(i18n.EN))
	fs.BoolVar(&a.yes, "yes", false, "apply without asking")
	fs.BoolVar(&a.dryRun, "dry-run", false, "show the plan and change nothing")
	fs.StringVar(&a.allow, "allow", "", "addresses to whitelist (remedies 2, 3), comma-separated; default: those the check finds blocked")
	fs.StringVar(&a.shape, "shape", "narrow", "whitelist rules: narrow (service protocol and port), conntrack (replies only) or wide (everything from the address)")
	fs.StringVar(&a.dnsServers, "dns", "", "public resolvers for remedy 4 (default: those of the host's cloud, e.g. 223.5.5.5,223.6.6.6 on Alibaba Cloud; none offered elsewhere)")
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
	fs.Visit(func(f *flag.Flag) { a.dnsSet = a.dnsSet || f.Name == "dns" })
	job, err := a.job()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 && !job.dryRun {
		return usageError("fix", "cli.fix.noroot")
	}
	return applyRemedy(job, stdin, stdout, stderr)
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
	if a.dnsSet { // not given: the host's cloud's own, if it has any
		if o.Resolvers, err = fixes.ParseResolvers(a.dnsServers); err != nil {
			err = usageError("fix", "cli.fix.dns", fixes.Message(err, j.lang), fixes.AddrList(fixes.DefaultResolvers))
			return
		}
		j.remedy = fixes.WithResolvers(j.remedy, o.Resolvers)
	}
	j.root, err = a.hostRoot("fix")
	return
}
