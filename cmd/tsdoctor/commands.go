package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

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
			Flags: flagsOf(fixFlagSet), Values: map[string][]string{"lang": {"en", "zh"}, "remedy": {"1", "2", "3", "4", "5", "6"}, "shape": {"narrow", "conntrack", "wide"}}},
		{Name: "undo", Summary: "revert the last change tsdoctor made (--all: every one), then compare with the state recorded before",
			Flags: flagsOf(undoFlagSet), Values: langs},
		{Name: "guard", Summary: "keep the whitelist at the top of ts-input whenever tailscaled rebuilds its chains",
			Flags: flagsOf(guardFlagSet), Values: map[string][]string{"shape": {"narrow", "conntrack", "wide"}}},
		{Name: "lab", Summary: "try it safely: network namespaces that reproduce an ECS server running Tailscale, with no uplink",
			Flags: func() *flag.FlagSet { return lab.FlagSet("") }, Words: lab.Subcommands,
			Values: map[string][]string{"scenario": labScenarios()}},
		{Name: "debug", Args: "firewall", Summary: "print what tsdoctor reads from every firewall backend, as JSON",
			Words: [][2]string{{"firewall", "the INPUT path of every backend"}}},
		{Name: "version", Summary: "print version, commit, build date and Go version"},
		{Name: "completion", Args: "bash|zsh|fish", Summary: "print the shell completion script",
			Words: [][2]string{{"bash", "bash completion"}, {"zsh", "zsh completion"}, {"fish", "fish completion"}}},
		{Name: "man", Summary: "print the man page (roff)"},
	}
}

func stepIDs() []string {
	return []string{"connectivity", "dns", "magicdns", "trace", "rules", "services"}
}

func labScenarios() []string {
	var out []string
	for _, s := range lab.Scenarios() {
		out = append(out, s.Name)
	}
	return out
}

// flagList is a command's flags, sorted, with their help.
type flagInfo struct{ Name, Usage, Default string }

func flagList(c command) []flagInfo {
	if c.Flags == nil {
		return nil
	}
	var out []flagInfo
	c.Flags().VisitAll(func(f *flag.Flag) { out = append(out, flagInfo{f.Name, f.Usage, f.DefValue}) })
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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
	fmt.Fprint(w, "\n`tsdoctor COMMAND -h` lists a command's flags.\nExit codes: 0 healthy (or verified), 1 problem found (or not verified), 2 could not check.\n")
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
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
	return 0
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func cmdCompletion(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: tsdoctor completion bash|zsh|fish")
		return 2
	}
	switch args[0] {
	case "bash":
		fmt.Fprint(stdout, bashCompletion())
	case "zsh":
		fmt.Fprint(stdout, zshCompletion())
	case "fish":
		fmt.Fprint(stdout, fishCompletion())
	default:
		fmt.Fprintf(stderr, "tsdoctor completion: unknown shell %q: use bash, zsh or fish\n", args[0])
		return 2
	}
	return 0
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

func bashCompletion() string {
	var b strings.Builder
	b.WriteString("# bash completion for tsdoctor (generated by `tsdoctor completion bash`)\n_tsdoctor() {\n")
	b.WriteString("\tlocal cur prev sub i\n\tcur=\"${COMP_WORDS[COMP_CWORD]}\"\n\tprev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n\tsub=\"\"\n")
	b.WriteString("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n\t\tcase \"${COMP_WORDS[i]}\" in -*) ;; *) sub=\"${COMP_WORDS[i]}\"; break ;; esac\n\tdone\n")
	b.WriteString("\tcase \"$sub\" in\n")
	for _, c := range commands() {
		var flags []string
		for _, f := range flagList(c) {
			flags = append(flags, "--"+f.Name)
		}
		pattern := c.Name
		if pattern == "" {
			pattern = `""`
		}
		fmt.Fprintf(&b, "\t%s)\n\t\tcase \"$prev\" in\n", pattern)
		for _, name := range sortedKeys(c.Values) {
			fmt.Fprintf(&b, "\t\t--%s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", name, strings.Join(c.Values[name], " "))
		}
		b.WriteString("\t\tesac\n")
		words := flags
		if c.Name == "" {
			words = append(words, subNames()...)
		}
		for _, w := range c.Words {
			words = append(words, w[0])
		}
		fmt.Fprintf(&b, "\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", strings.Join(words, " "))
	}
	b.WriteString("\tesac\n}\ncomplete -F _tsdoctor tsdoctor\n")
	return b.String()
}

func sortedKeys(m map[string][]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func zshQuote(s string) string {
	r := strings.NewReplacer("'", "'\\''", "[", "\\[", "]", "\\]", ":", "\\:")
	return r.Replace(s)
}

func zshCompletion() string {
	var b strings.Builder
	b.WriteString("#compdef tsdoctor\n# zsh completion for tsdoctor (generated by `tsdoctor completion zsh`)\n\n_tsdoctor() {\n\tlocal -a subs\n\tsubs=(\n")
	for _, c := range commands() {
		if c.Name != "" {
			fmt.Fprintf(&b, "\t\t'%s:%s'\n", c.Name, zshQuote(c.Summary))
		}
	}
	b.WriteString("\t)\n\tif (( CURRENT == 2 )) && [[ $words[2] != -* ]]; then\n\t\t_describe 'command' subs\n\t\treturn\n\tfi\n\tcase $words[2] in\n")
	for _, c := range commands() {
		if c.Name == "" {
			continue
		}
		fmt.Fprintf(&b, "\t%s)\n\t\t_arguments \\\n", c.Name)
		for _, f := range flagList(c) {
			vals := ""
			if v, ok := c.Values[f.Name]; ok {
				vals = ":" + f.Name + ":(" + strings.Join(v, " ") + ")"
			} else if f.Default != "false" && f.Default != "true" {
				vals = ":" + f.Name + ":"
			}
			fmt.Fprintf(&b, "\t\t\t'--%s[%s]%s' \\\n", f.Name, zshQuote(f.Usage), vals)
		}
		if len(c.Words) > 0 {
			var w []string
			for _, x := range c.Words {
				w = append(w, x[0])
			}
			fmt.Fprintf(&b, "\t\t\t'2:arg:(%s)' \\\n", strings.Join(w, " "))
		}
		b.WriteString("\t\t\t'*::arg:' ;;\n")
	}
	b.WriteString("\t*)\n\t\t_arguments \\\n")
	for _, f := range flagList(commands()[0]) {
		fmt.Fprintf(&b, "\t\t\t'--%s[%s]' \\\n", f.Name, zshQuote(f.Usage))
	}
	b.WriteString("\t\t\t'*::arg:' ;;\n\tesac\n}\n\n_tsdoctor \"$@\"\n")
	return b.String()
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func fishCompletion() string {
	var b strings.Builder
	b.WriteString("# fish completion for tsdoctor (generated by `tsdoctor completion fish`)\ncomplete -c tsdoctor -f\n")
	subs := strings.Join(subNames(), " ")
	for _, c := range commands() {
		cond := "__fish_seen_subcommand_from " + c.Name
		if c.Name == "" {
			cond = "not __fish_seen_subcommand_from " + subs
		} else {
			fmt.Fprintf(&b, "complete -c tsdoctor -n %s -a %s -d %s\n", fishQuote("not __fish_seen_subcommand_from "+subs), c.Name, fishQuote(c.Summary))
		}
		for _, f := range flagList(c) {
			extra := ""
			if v, ok := c.Values[f.Name]; ok {
				extra = " -r -a " + fishQuote(strings.Join(v, " "))
			}
			fmt.Fprintf(&b, "complete -c tsdoctor -n %s -l %s -d %s%s\n", fishQuote(cond), f.Name, fishQuote(f.Usage), extra)
		}
		for _, w := range c.Words {
			fmt.Fprintf(&b, "complete -c tsdoctor -n %s -a %s -d %s\n", fishQuote(cond), w[0], fishQuote(w[1]))
		}
	}
	return b.String()
}

func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// cmdMan prints tsdoctor(8), built from the same table as the usage and
// the completions.
func cmdMan(args []string, stdout, stderr io.Writer) int {
	d := date
	if d == "" {
		d = time.Now().UTC().Format("2006-01-02")
	}
	if len(d) > 10 {
		d = d[:10]
	}
	w := stdout
	fmt.Fprintf(w, ".TH TSDOCTOR 8 %q %q \"System Administration\"\n", d, "tsdoctor "+version)
	fmt.Fprint(w, ".SH NAME\ntsdoctor \\- find and fix what drops DNS on a Linux host running Tailscale\n.SH SYNOPSIS\n")
	for _, c := range commands() {
		fmt.Fprintf(w, ".B %s\n.br\n", roff(c.synopsis()))
	}
	fmt.Fprint(w, `.SH DESCRIPTION
On Alibaba Cloud ECS, and anywhere else infrastructure lives in 100.64.0.0/10, tailscaled's rule
.B "\-A ts\-input \-s 100.64.0.0/10 ! \-i tailscale0 \-j DROP"
drops the replies of the VPC's own DNS (100.100.2.136, 100.100.2.138), the metadata service and
the mirrors. tsdoctor finds the rule on whichever firewall backend holds it (iptables\-nft,
iptables\-legacy, native nftables) by its packet counters, explains it, and offers six remedies
that it applies reversibly.
.SH COMMANDS
`)
	for _, c := range commands() {
		name := c.Name
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(w, ".SS %s\n%s\n", roff(name), roff(c.Summary))
		for _, f := range flagList(c) {
			fmt.Fprintf(w, ".TP\n.B \\-\\-%s\n%s", roff(f.Name), roff(f.Usage))
			if f.Default != "" && f.Default != "false" {
				fmt.Fprintf(w, " (default %s)", roff(f.Default))
			}
			fmt.Fprintln(w)
		}
		for _, x := range c.Words {
			fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(x[0]), roff(x[1]))
		}
	}
	fmt.Fprint(w, `.SH EXIT STATUS
0: healthy, or the remedy was verified. 1: the problem was found, or the remedy is not (yet)
verified. 2: tsdoctor could not check (not root, a backend it cannot read, bad flags).
.SH ENVIRONMENT
.TP
.B LANG, LC_ALL, LC_MESSAGES
choose English or Simplified Chinese (zh_*); \-\-lang overrides.
.TP
.B NO_COLOR
no colours in the wizard (as \-\-no\-color).
.TP
.B TSDOCTOR_ROOT
put every file the remedies write, and the journal, under this directory (the lab uses it).
.SH FILES
.TP
.I /var/lib/tsdoctor/journal/
one JSON entry per applied remedy, with the state of everything it touched before (mode 0700).
.TP
.I /etc/systemd/system/tsdoctor\-whitelist.service, /etc/systemd/system/tsdoctor\-guard.service
the units remedies 2 and 3 install.
.TP
.I /usr/local/lib/tsdoctor/
their shell scripts.
.SH SEE ALSO
.BR tailscale (1),
.BR tailscaled (8),
.BR iptables (8),
.BR nft (8)
`)
	return 0
}
