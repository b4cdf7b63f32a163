package main

import (
	"context"
	"encoding/json"
	"errors"
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
	all   bool
	force bool
	yes   bool
}

func undoFlagSet() (*flag.FlagSet, *undoArgs) {
	a := &undoArgs{}
	fs := a.flagSet("undo", shared{json: wire.SchemaFixV1, lang: langHelp, root: true})
	fs.BoolVar(&a.all, "all", false, "undo every change tsdoctor made, newest first")
	fs.BoolVar(&a.force, "force", false, "restore the files tsdoctor wrote even where they changed since (without it undo shows the difference and stops)")
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
	res, err := fixes.UndoWith(ctx, h, fixes.UndoOptions{All: a.all, Force: a.force})
	out := wire.Undo{Schema: wire.SchemaFixV1, Undone: []wire.Undone{}}
	var edited *fixes.EditedError
	if errors.As(err, &edited) {
		for _, f := range edited.Files {
			out.Edited = append(out.Edited, wire.Edited{Path: f.Path, Diff: f.Diff})
		}
	}
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
	case edited != nil && !a.json:
		// The one line, then the differences it speaks of.
		fmt.Fprintln(stderr, "tsdoctor undo: "+oneLine(out.Error))
		for _, f := range out.Edited {
			fmt.Fprint(stderr, f.Diff)
		}
		return exitCode(1)
	case err != nil:
		return failure("undo", 1, out.Error)
	case !same:
		return exitCode(1)
	}
	return nil
}
