package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// exitError ends a command with an exit code. A usage error (code 2) carries
// one line saying what to do; run prints it, once, so no command prints its
// own and no message can come out twice or without its newline.
type exitError struct {
	code int
	cmd  string   // "check", "fix", ...; "" for tsdoctor itself
	msg  i18n.Msg // empty: the command has said everything already
}

func (e *exitError) Error() string { return e.msg.String(i18n.EN) }

// forbidHost is set by the tests of bad input: if a bad flag ever slipped
// through validation, the command would go on to probe the network and read
// or change the firewall of the machine running the tests. touchHost stops
// that before it starts.
var forbidHost bool

// touchHost is called before anything reaches the machine (probes,
// firewall, files).
func touchHost() {
	if forbidHost {
		panic("tsdoctor: a command reached the host although its input was bad")
	}
}

// usageError is bad input: exit 2 with msg (an i18n key and its arguments).
func usageError(cmd, key string, args ...any) error {
	return &exitError{code: 2, cmd: cmd, msg: i18n.M(key, args...)}
}

// failure ends a command that failed with code; run prints msg (one line,
// after "tsdoctor CMD: "), so a command never prints its own error.
func failure(cmd string, code int, msg string) error {
	return &exitError{code: code, cmd: cmd, msg: i18n.Raw(msg)}
}

// exitCode ends a command that has already printed what it had to say.
func exitCode(code int) error {
	if code == 0 {
		return nil
	}
	return &exitError{code: code}
}

// finish turns a command's error into its exit code, printing a usage error
// as exactly one line on stderr.
func finish(err error, l i18n.Lang, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var e *exitError
	if !errors.As(err, &e) {
		fmt.Fprintln(stderr, "tsdoctor: "+oneLine(err.Error()))
		return 1
	}
	if e.msg.Key != "" {
		prefix := "tsdoctor"
		if e.cmd != "" {
			prefix += " " + e.cmd
		}
		fmt.Fprintln(stderr, prefix+": "+oneLine(e.msg.String(l)))
	}
	return e.code
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// argsLang is the language for messages about args: --lang when it is
// there and valid (even if the rest is not), else the environment's.
func argsLang(args []string) i18n.Lang {
	for i, a := range args {
		a = strings.TrimPrefix(a, "-")
		v, ok := strings.CutPrefix(a, "-lang=")
		if !ok {
			v, ok = strings.CutPrefix(a, "lang=")
		}
		if !ok && (a == "-lang" || a == "lang") && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			if l, valid := i18n.ParseLang(v); valid {
				return l
			}
		}
	}
	return i18n.FromEnv()
}

// parseFlags parses a command's flags. -h prints the command's help to
// stdout (exit 0); a bad flag or a stray argument is a usage error. The flag
// package's own output is discarded: it would print the flag list and glue
// the next message to it.
func parseFlags(cmd string, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(stdout, cmd)
			return errHelped
		}
		return usageError(cmd, "cli.badflag", err.Error(), helpCmd(cmd))
	}
	if fs.NArg() > 0 {
		return usageError(cmd, "cli.stray", fs.Arg(0), helpCmd(cmd))
	}
	return nil
}

// errHelped ends a command after -h printed its help: exit 0.
var errHelped = &exitError{code: 0}

// errDone ends a command early, with exit 0, when it has said everything
// (nothing to do, a dry run that cannot read the firewall).
var errDone = &exitError{code: 0}

func helpCmd(cmd string) string {
	if cmd == "" {
		return "tsdoctor -h"
	}
	return "tsdoctor " + cmd + " -h"
}

// printCommandHelp lists one command's flags, from the same table as the
// usage, the completions and the man page.
func printCommandHelp(w io.Writer, name string) {
	for _, c := range commands() {
		if c.Name != name {
			continue
		}
		if name == "" {
			printUsage(w)
			return
		}
		fmt.Fprintf(w, "%s\n    %s\n", c.synopsis(), c.Summary)
		if len(flagList(c)) > 0 {
			fmt.Fprintln(w, "\nFlags:")
		}
		printFlags(w, c)
		return
	}
}

func printFlags(w io.Writer, c command) {
	for _, f := range flagList(c) {
		writeFlag(w, f)
	}
}

// writeFlag is one flag as -h shows it: as typed, what its value is, its
// help and default.
func writeFlag(w io.Writer, f flagInfo) {
	def := ""
	if f.Default != "" && !f.Bool {
		def = " (default " + f.Default + ")"
	}
	spelt := f.Spelling()
	if f.Value != "" {
		spelt += " " + f.Value
	}
	fmt.Fprintf(w, "  %s\n        %s%s\n", spelt, f.Usage, def)
}

// positive checks a duration flag that must be above zero.
func positive(cmd, name string, d time.Duration, example string) error {
	if d <= 0 {
		return usageError(cmd, "cli.positive", name, d, name, example)
	}
	return nil
}

// langFlag reads --lang ("" is the environment's language).
func langFlag(cmd, s string) (i18n.Lang, error) {
	if s == "" {
		return i18n.FromEnv(), nil
	}
	l, ok := i18n.ParseLang(s)
	if !ok {
		return l, usageError(cmd, "cli.lang", s)
	}
	return l, nil
}

// resolveRoot is the one place the root is decided: --root, else
// TSDOCTOR_ROOT, else "/". Every command that reads or writes the host's
// files takes it from here, once, so the check, the remedies and undo always
// look at the same machine.
func resolveRoot(cmd, flagValue string) (string, error) {
	r := flagValue
	if r == "" {
		r = os.Getenv("TSDOCTOR_ROOT")
	}
	if r == "" {
		return "/", nil
	}
	if !filepath.IsAbs(r) {
		return "", usageError(cmd, "cli.root.rel", r)
	}
	if fi, err := os.Stat(r); err != nil || !fi.IsDir() {
		return "", usageError(cmd, "cli.root.missing", r)
	}
	return filepath.Clean(r), nil
}

// remedyList is "1 delete the DROP, 2 whitelist, ..." from the remedies'
// own table, never written by hand.
func remedyList(l i18n.Lang) string { return fixes.List(fixes.All()).String(l) }

// remedyIDs are the remedies' numbers, for completion.
func remedyIDs() []string {
	var out []string
	for _, r := range fixes.All() {
		out = append(out, fmt.Sprint(int(r.Info().ID)))
	}
	return out
}
