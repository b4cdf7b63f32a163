package main

import (
	"context"
	"flag"
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

// wizardArgs are the flags of `tsdoctor`, defined once for parsing,
// completions and the man page.
type wizardArgs struct{ commonFlags }

func wizardFlagSet() (*flag.FlagSet, *wizardArgs) {
	a := &wizardArgs{}
	return a.flagSet("tsdoctor", shared{lang: langHelp, ecs: ecsHelp, noColor: noColorHelp, root: true}), a
}

// cmdWizard starts the interactive wizard; without a terminal it prints the
// check instead, as scripts expect.
func cmdWizard(args []string, stdout, stderr io.Writer) error {
	a, err := parseArgs("", wizardFlagSet, args, stdout)
	if err != nil {
		return err
	}
	l, root, err := a.langRoot("")
	if err != nil {
		return err
	}
	var progOpts []tea.ProgramOption
	if a.noColor || os.Getenv("NO_COLOR") != "" {
		// Bold and reverse stay, colours go (https://no-color.org).
		progOpts = append(progOpts, tea.WithColorProfile(colorprofile.Ascii),
			tea.WithEnvironment(append(os.Environ(), "NO_COLOR=1")))
	}
	opts := checks.DefaultOptions()
	opts.ECS = a.ecs
	if !isTerminal(os.Stdin) || !isTerminal(os.Stderr) {
		return runCheck(checkJob{opts: opts, lang: l, root: root, noColor: a.noColor}, stdout, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	m := openMachine(root, opts)
	eng := &tui.HostEngine{Env: m.env, Options: opts, Host: m.fix, Fix: fixes.Options{Interval: time.Second}}
	if err := tui.Run(ctx, eng, tui.Options{Lang: l}, progOpts...); err != nil {
		return failure("", 2, err.Error())
	}
	return nil
}
