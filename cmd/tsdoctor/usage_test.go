package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// noHost makes any command that gets past its validation panic before it
// probes the network or touches the firewall of the machine running tests.
func noHost(t *testing.T) {
	forbidHost = true
	t.Cleanup(func() { forbidHost = false })
}

// whatToDo: a usage error's line says what to do next.
var whatToDo = regexp.MustCompile("(run `|see `|e\\.g\\.|例如|use |give |choose |rerun|请|运行)")

// TestUsageErrors runs every command with bad flags and values. Each must
// exit 2 with exactly one line on stderr, ending in a newline, that says what
// to do, and nothing on stdout: no diagnosis, no flag list printed twice, no
// message glued to another.
func TestUsageErrors(t *testing.T) {
	noHost(t)
	t.Setenv("TSDOCTOR_ROOT", "")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("LC_ALL", "")
	notDir := t.TempDir() + "/nope"
	cases := map[string][][]string{
		"": {
			{"--bogus"}, {"--lang", "fr"}, {"--root", "relative/dir"}, {"--root", notDir}, {"--ecs=maybe"},
		},
		"check": {
			{"check", "--timeout", "-1s"}, {"check", "--timeout", "0"}, {"check", "--probe-timeout", "0"},
			{"check", "--probe-timeout", "-2s"}, {"check", "--probe-timeout", "9s", "--timeout", "2s"},
			{"check", "--timeout", "soon"}, {"check", "--lang", "fr"}, {"check", "--only", "dns,nope"},
			{"check", "--internet", "223.5.5.5"}, {"check", "--name", ""}, {"check", "--name", "a b"},
			{"check", "--bogus"}, {"check", "stray"}, {"check", "--root", notDir}, {"check", "--json=perhaps"},
			{"check", "--lang", "zh", "--timeout", "-1s"},
		},
		"fix": {
			{"fix"}, {"fix", "--yes"}, {"fix", "--remedy", "0"}, {"fix", "--remedy", "9"}, {"fix", "--remedy", "-1"},
			{"fix", "--remedy", "two"}, {"fix", "--remedy", "4", "--dns", "notanip"}, {"fix", "--remedy", "4", "--dns", ""},
			{"fix", "--remedy", "4", "--dns", "100.100.2.136"}, {"fix", "--remedy", "2", "--allow", "8.8.8.8"},
			{"fix", "--remedy", "2", "--allow", "x"}, {"fix", "--remedy", "2", "--shape", "round"},
			{"fix", "--remedy", "3", "--interval", "0"}, {"fix", "--remedy", "3", "--interval", "-1s"},
			{"fix", "--remedy", "6", "--wait", "-1m"}, {"fix", "--remedy", "1", "--lang", "fr"},
			{"fix", "--remedy", "1", "--root", "rel"}, {"fix", "--remedy", "1", "extra"}, {"fix", "--lang", "zh"},
			{"fix", "9"}, {"fix", "3", "--remedy", "2"}, {"fix", "--remedy", "2", "4"}, {"fix", "2", "--shape", "round"},
		},
		"undo": {
			{"undo", "--bogus"}, {"undo", "--lang", "fr"}, {"undo", "--root", notDir}, {"undo", "now"},
		},
		"guard": {
			{"guard"}, {"guard", "--allow", "8.8.8.8"}, {"guard", "--allow", "100.100.2.136", "--interval", "0"},
			{"guard", "--allow", "100.100.2.136", "--shape", "x"}, {"guard", "--bogus"},
		},
		"debug":      {{"debug"}, {"debug", "rules"}, {"debug", "firewall", "extra"}},
		"version":    {{"version", "--json"}, {"version", "extra"}},
		"completion": {{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}},
		"man":        {{"man", "--bogus"}, {"man", "8"}},
		"lab": {{"lab", "--bogus"}, {"lab", "frobnicate"}, {"lab", "--scenario", "bogus"}, {"lab", "up", "extra"},
			{"lab", "up", "--scenario", "bogus"}, {"lab", "down", "--nope"}, {"lab", "shell", "x"}, {"lab", "up", "legacy"}},
		"unknown": {{"frobnicate"}, {"chek"}},
	}
	for _, c := range commands() {
		if _, ok := cases[c.Name]; !ok {
			t.Errorf("command %q has no bad-input cases here: add some", c.Name)
		}
	}
	for name, list := range cases {
		for _, args := range list {
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			e := stderr.String()
			if code != 2 || stdout.Len() != 0 || strings.Count(e, "\n") != 1 || !strings.HasSuffix(e, "\n") ||
				!strings.HasPrefix(e, "tsdoctor") || !whatToDo.MatchString(e) {
				t.Errorf("%s: tsdoctor %q: exit %d, stdout %q, stderr %q; want exit 2, no stdout, one line saying what to do",
					name, args, code, stdout.String(), e)
			}
		}
	}
}

// TestUsageErrorMessages pins the messages the issue named.
func TestUsageErrorMessages(t *testing.T) {
	noHost(t)
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("LC_ALL", "")
	for _, c := range []struct {
		args []string
		want []string
		not  []string
	}{
		// Asks for --remedy N and lists every remedy, from the remedies' table.
		{[]string{"fix"}, []string{"--remedy N", "1 delete the DROP", "4 public DNS", "6 node attribute"}, []string{"no remedy 0"}},
		{[]string{"fix", "--lang", "zh"}, []string{"--remedy N", "1 删除 DROP", "6 节点属性"}, nil},
		// Public resolvers as the example, never the VPC's own.
		{[]string{"fix", "--remedy", "4", "--dns", "notanip"}, []string{"public", "223.5.5.5,223.6.6.6"}, []string{"100.100.2.136"}},
		{[]string{"check", "--timeout", "-1s"}, []string{"--timeout -1s", "e.g. --timeout 8s"}, nil},
		{[]string{"check", "--probe-timeout", "0"}, []string{"--probe-timeout 0s"}, nil},
		// The remedy as an argument is the remedy, checked like --remedy.
		{[]string{"fix", "9"}, []string{"no remedy 9"}, []string{"unexpected argument"}},
		{[]string{"fix", "3", "--remedy", "2"}, []string{"two remedies", "`tsdoctor fix 3`"}, nil},
		// A scenario given as an argument: say how to give it.
		{[]string{"lab", "up", "legacy"}, []string{"--scenario legacy"}, nil},
	} {
		var stdout, stderr bytes.Buffer
		run(c.args, &stdout, &stderr)
		for _, w := range c.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("tsdoctor %q: %q lacks %q", c.args, stderr.String(), w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(stderr.String(), w) {
				t.Errorf("tsdoctor %q: %q has %q", c.args, stderr.String(), w)
			}
		}
	}
}

// TestRemedyArgument: `tsdoctor fix 3` is `tsdoctor fix --remedy 3`, with
// flags before or after it; a number that is --remedy's value stays its value.
func TestRemedyArgument(t *testing.T) {
	for _, c := range []struct {
		in     []string
		out    []string
		remedy string
	}{
		{[]string{"3"}, []string{}, "3"},
		{[]string{"3", "--yes"}, []string{"--yes"}, "3"},
		{[]string{"--dry-run", "2", "--json"}, []string{"--dry-run", "--json"}, "2"},
		{[]string{"--remedy", "2"}, []string{"--remedy", "2"}, ""},
		{[]string{"-remedy", "2", "--yes"}, []string{"-remedy", "2", "--yes"}, ""},
		{[]string{"--", "3"}, []string{"--", "3"}, ""},
	} {
		out, n := remedyArg(c.in)
		if n != c.remedy || strings.Join(out, " ") != strings.Join(c.out, " ") {
			t.Errorf("remedyArg(%q) = %q, %q; want %q, %q", c.in, out, n, c.out, c.remedy)
		}
	}
}

// TestHelpAndYes: -h prints the command's flags once, to stdout, exit 0;
// undo accepts --yes, as scripts pass it to every changing command.
func TestHelpAndYes(t *testing.T) {
	noHost(t)
	for _, c := range commands() {
		args := []string{"-h"}
		if c.Name != "" {
			args = []string{c.Name, "-h"}
		}
		if c.Name == "lab" {
			continue
		}
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 || stderr.Len() != 0 || !strings.Contains(stdout.String(), c.synopsis()+"\n") {
			t.Errorf("tsdoctor %q: exit %d, stdout %q, stderr %q", args, code, stdout.String(), stderr.String())
		}
		for _, f := range flagList(c) {
			// As typed (-v, --timeout), with what its value is.
			line := "  " + f.Spelling()
			if !f.Bool {
				line += " " + f.Value
			}
			if strings.Count(stdout.String(), line+"\n") != 1 {
				t.Errorf("tsdoctor %q: %q listed %d times:\n%s", args, line, strings.Count(stdout.String(), line+"\n"), stdout.String())
			}
		}
		if strings.Contains(stdout.String(), "--v\n") {
			t.Errorf("tsdoctor %q spells -v as --v", args)
		}
	}
	fs, _ := undoFlagSet()
	if err := fs.Parse([]string{"--yes"}); err != nil {
		t.Errorf("undo --yes: %v", err)
	}
	if os.Geteuid() != 0 {
		var stdout, stderr bytes.Buffer
		// Past the flags, without root: the one-line "rerun with sudo".
		if code := run([]string{"undo", "--yes"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "sudo") || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("undo --yes without root: exit %d, %q", code, stderr.String())
		}
	}
}

// TestFailurePrintedOnce: a command's failure is printed by run, once, as
// one line after "tsdoctor CMD: "; an exit code alone prints nothing (the
// command has said everything), and an early end with exit 0 is silent.
func TestFailurePrintedOnce(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		want string
	}{
		{failure("guard", 1, "nft: netlink: permission denied\nrerun as root"), 1, "tsdoctor guard: nft: netlink: permission denied rerun as root\n"},
		{failure("", 2, "no terminal"), 2, "tsdoctor: no terminal\n"},
		{exitCode(1), 1, ""},
		{errDone, 0, ""},
		{nil, 0, ""},
	} {
		var stderr bytes.Buffer
		if code := finish(c.err, i18n.EN, &stderr); code != c.code || stderr.String() != c.want {
			t.Errorf("finish(%v) = %d, %q; want %d, %q", c.err, code, stderr.String(), c.code, c.want)
		}
	}
}
