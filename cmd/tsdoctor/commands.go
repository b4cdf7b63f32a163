package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/lab"
)

// Set by the release build (-ldflags -X main.version=...).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// command is one `tsdoctor` subcommand. The usage text, the shell
// completions and the man page are all generated from this table and the
// commands' own flag sets, so they cannot disagree with what is parsed.
type command struct {
	Name    string
	Args    string // synopsis after the flags, e.g. "bash|zsh|fish"
	Summary string
	Flags   func() *flag.FlagSet
	// Words completes the first argument (lab's subcommands, shells).
	Words [][2]string
	// Values completes a flag's value.
	Values map[string][]string
	// WordFlags, when set, gives the flags that follow a word (lab up,
	// lab down...): they differ from the command's own.
	WordFlags func(word string) *flag.FlagSet
}

func flagsOf[T any](f func() (*flag.FlagSet, T)) func() *flag.FlagSet {
	return func() *flag.FlagSet { fs, _ := f(); return fs }
}

var langs = map[string][]string{"lang": {"en", "zh"}}

func commands() []command {
	return []command{
		{Name: "", Summary: "the wizard: walk the steps live, explain each, pick a remedy, apply, verify, undo (without a terminal: the check)",
			Flags: flagsOf(wizardFlagSet), Values: langs},
		{Name: "check", Summary: "diagnose: connectivity, DNS, MagicDNS, trace, rules, services; exit 0 healthy, 1 problem, 2 could not check",
			Flags: flagsOf(checkFlagSet), Values: map[string][]string{"lang": {"en", "zh"}, "only": stepIDs()}},
		{Name: "fix", Summary: "apply a remedy: show the plan, ask, record, apply, verify",
			Flags: flagsOf(fixFlagSet), Values: map[string][]string{"lang": {"en", "zh"}, "remedy": remedyIDs(), "shape": {"narrow", "conntrack", "wide"}}},
		{Name: "undo", Summary: "revert the last change tsdoctor made (--all: every one), then compare with the state recorded before; a chain tailscaled has rebuilt since is left as tailscaled has it",
			Flags: flagsOf(undoFlagSet), Values: langs},
		{Name: "guard", Summary: "keep the whitelist at the top of ts-input whenever tailscaled rebuilds its chains",
			Flags: flagsOf(guardFlagSet), Values: map[string][]string{"shape": {"narrow", "conntrack", "wide"}}},
		{Name: "lab", Summary: "try it safely: network namespaces that reproduce an ECS server running Tailscale, with no uplink",
			Flags: func() *flag.FlagSet { return lab.FlagSet("") }, Words: lab.Subcommands, WordFlags: lab.FlagSet,
			Values: map[string][]string{"scenario": labScenarios(), "host": lab.HostNames()}},
		{Name: "debug", Args: "firewall", Summary: "print what tsdoctor reads from every firewall backend, as JSON",
			Words: [][2]string{{"firewall", "the INPUT path of every backend"}}},
		{Name: "version", Summary: "print version, commit, build date and Go version"},
		{Name: "completion", Args: "bash|zsh|fish", Summary: "print the shell completion script",
			Words: [][2]string{{"bash", "bash completion"}, {"zsh", "zsh completion"}, {"fish", "fish completion"}}},
		{Name: "man", Summary: "print the man page (roff)"},
	}
}

func stepIDs() []string {
	var out []string
	for _, id := range checks.StepIDs() {
		out = append(out, string(id))
	}
	return out
}

func labScenarios() []string {
	var out []string
	for _, s := range lab.Scenarios() {
		out = append(out, s.Name)
	}
	return out
}

// flagInfo is one flag with its help, as usage, completions and the man
// page show it.
type flagInfo struct {
	Name, Usage, Default string
	Bool                 bool   // takes no value
	Value                string // what its value is, e.g. "duration" (empty for a bool)
}

// Spelling is the flag as typed: -v for one letter, --name otherwise.
func (f flagInfo) Spelling() string {
	if len(f.Name) == 1 {
		return "-" + f.Name
	}
	return "--" + f.Name
}

// flagList is a command's flags, sorted.
func flagList(c command) []flagInfo { return flagsIn(c.Flags) }

func flagsIn(mk func() *flag.FlagSet) []flagInfo {
	if mk == nil {
		return nil
	}
	var out []flagInfo
	mk().VisitAll(func(f *flag.Flag) {
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		value, _ := flag.UnquoteUsage(f)
		out = append(out, flagInfo{f.Name, f.Usage, f.DefValue, ok && b.IsBoolFlag(), value})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// wordFlags is the flags that may follow c's word w.
func (c command) wordFlags(w string) []flagInfo {
	if c.WordFlags == nil {
		return nil
	}
	return flagsIn(func() *flag.FlagSet { return c.WordFlags(w) })
}

func (c command) synopsis() string {
	s := "tsdoctor"
	if c.Name != "" {
		s += " " + c.Name
	}
	if c.Flags != nil {
		s += " [flags]"
	}
	if c.Args != "" {
		s += " " + c.Args
	} else if len(c.Words) > 0 {
		var w []string
		for _, x := range c.Words {
			w = append(w, x[0])
		}
		s += " [" + strings.Join(w, "|") + "]"
	}
	return s
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "tsdoctor: find and fix what drops DNS on a Linux host running Tailscale\n\nUsage:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %s\n      %s\n", c.synopsis(), c.Summary)
	}
	fmt.Fprint(w, "\nFlags of the wizard:\n")
	printFlags(w, commands()[0])
	fmt.Fprint(w, "\n`tsdoctor COMMAND -h` lists a command's flags.\nExit codes: 0 healthy, verified, a dry run or nothing to do; 1 problem found, or not verified; 2 could not check, or bad input.\n")
}

// noFlags parses the arguments of a command that takes none (but -h).
func noFlags(cmd string, args []string, stdout io.Writer) error {
	return parseFlags(cmd, flag.NewFlagSet(cmd, flag.ContinueOnError), args, stdout)
}

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	if err := noFlags("version", args, stdout); err != nil {
		return err
	}
	v, c, d := version, commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	fmt.Fprintf(stdout, "tsdoctor %s\ncommit: %s\nbuilt: %s\ngo: %s %s/%s\n", v, orUnknown(c), orUnknown(d), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func subNames() []string {
	var out []string
	for _, c := range commands() {
		if c.Name != "" {
			out = append(out, c.Name)
		}
	}
	return out
}
