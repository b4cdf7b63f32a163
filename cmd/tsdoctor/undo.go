package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/wire"
)

// undoArgs are the flags of `tsdoctor undo`, defined once for parsing,
// completions and the man page.
type undoArgs struct {
	commonFlags
	all bool
	yes bool
}

func undoFlagSet() (*flag.FlagSet, *undoArgs) {
	a := &undoArgs{}
	fs := a.flagSet("undo", shared{json: wire.SchemaFixV1, lang: langHelp, root: true})
	fs.BoolVar(&a.all, "all", false, "undo every change tsdoctor made, newest first")
	// Scripts pass --yes to every command that changes the host; undo never
	// asks (it only puts back what was recorded), so it is accepted as is.
	fs.BoolVar(&a.yes, "yes", false, "accepted for scripts: undo does not ask")
	return fs, a
}

func cmdUndo(args []string, stdout, stderr io.Writer) error {
	a, err := parseArgs("undo", undoFlagSet, args, stdout)
	if err != nil {
		return err
	}
	l, root, err := a.langRoot("undo")
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return usageError("undo", "cli.undo.noroot")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h := openMachine(root, checks.DefaultOptions()).fix
	res, err := fixes.Undo(ctx, h, a.all)
	out := wire.Undo{Schema: wire.SchemaFixV1, Undone: []wire.Undone{}}
	same := true
	for _, r := range res {
		uj := wire.Undone{Journal: r.Entry.ID, Remedy: r.Entry.Remedy, Name: r.Entry.Name, Same: r.Same, Differences: r.Differences}
		for _, m := range r.LeftAlone {
			uj.LeftAlone = append(uj.LeftAlone, m.String(l))
		}
		out.Undone = append(out.Undone, uj)
		if !a.json {
			fmt.Fprintln(stdout, i18n.T(l, "fixcli.undone", r.Entry.ID))
			for _, m := range uj.LeftAlone {
				fmt.Fprintln(stdout, "  "+m)
			}
			switch {
			case r.Same && len(uj.LeftAlone) > 0:
				fmt.Fprintln(stdout, "  "+i18n.T(l, "fixcli.same.rest"))
			case r.Same:
				fmt.Fprintln(stdout, "  "+i18n.T(l, "fixcli.same"))
			}
			for _, d := range r.Differences {
				fmt.Fprintln(stdout, "  ! "+d)
			}
		}
		same = same && r.Same
	}
	if err != nil {
		out.Error = fixes.Message(err, l)
	} else if len(res) == 0 && !a.json {
		fmt.Fprintln(stdout, i18n.T(l, "fixcli.nothingtoundo"))
	}
	if a.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	}
	switch {
	case err != nil:
		return failure("undo", 1, out.Error)
	case !same:
		return exitCode(1)
	}
	return nil
}
