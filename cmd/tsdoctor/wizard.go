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

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/tui"
)

// wizardFlags are the flags of `tsdoctor `, defined once for parsing,
// completions and the man page.
type wizardFlags struct {
	lang    *string
	ecs     *bool
	root    *string
	noColor *bool
}

func wizardFlagSet() (*flag.FlagSet, wizardFlags) {
	fs := flag.NewFlagSet("tsdoctor", flag.ContinueOnError)
	var v wizardFlags
	v.lang = fs.String("lang", "", "language: en or zh (default from LC_ALL/LANG)")
	v.ecs = fs.Bool("ecs", os.Getenv("TSDOCTOR_ECS") == "1", "treat this host as Alibaba Cloud ECS (probe the metadata service)")
	v.root = fs.String("root", "", rootFlagUsage)
	v.noColor = fs.Bool("no-color", false, "no colours (as NO_COLOR=1)")
	return fs, v
}

// cmdWizard starts the interactive wizard; without a terminal it prints the
// check instead, as scripts expect.
func cmdWizard(args []string, stdout, stderr io.Writer) error {
	fs, fv := wizardFlagSet()
	if err := parseFlags("", fs, args, stdout); err != nil {
		return err
	}
	l, err := langFlag("", *fv.lang)
	if err != nil {
		return err
	}
	root, err := resolveRoot("", *fv.root)
	if err != nil {
		return err
	}
	var progOpts []tea.ProgramOption
	if *fv.noColor || os.Getenv("NO_COLOR") != "" {
		// Bold and reverse stay, colours go (https://no-color.org).
		progOpts = append(progOpts, tea.WithColorProfile(colorprofile.Ascii),
			tea.WithEnvironment(append(os.Environ(), "NO_COLOR=1")))
	}
	opts := checks.DefaultOptions()
	opts.ECS = *fv.ecs
	if !isTerminal(os.Stdin) || !isTerminal(os.Stderr) {
		return exitCode(runCheck(opts, l, root, false, false, *fv.noColor, "", stdout, stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	env := hostEnv(root)
	eng := &tui.HostEngine{Env: env, Options: opts, Host: fixHost(root, env, opts), Fix: fixes.Options{Interval: time.Second}}
	if err := tui.Run(ctx, eng, tui.Options{Lang: l}, progOpts...); err != nil {
		fmt.Fprintln(stderr, "tsdoctor: "+oneLine(err.Error()))
		return exitCode(2)
	}
	return nil
}
