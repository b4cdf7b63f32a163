package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// completionCase is a command line typed into a real shell and what the
// shells must answer.
type completionCase struct {
	typed string // typed, then Tab; a list case presses Tab twice
	list  bool
	// screen: what bash and zsh show afterwards. Without list, "@" is typed
	// after the Tab, so a trailing space or slash is visible.
	screen []string
	// cands: what fish's `complete -C` offers (exactly these words, in any order, among others).
	cands   []string
	notWant []string // offered by no shell
}

var completionCases = []completionCase{
	{typed: "tsdoctor ch", screen: []string{"tsdoctor check @"}, cands: []string{"check"}},
	{typed: "tsdoctor check --j", screen: []string{"tsdoctor check --json @"}, cands: []string{"--json"}},
	{typed: "tsdoctor fix --remedy ", list: true, screen: []string{"1", "2", "3", "4", "5", "6"}, cands: []string{"1", "6"}, notWant: []string{"--yes"}},
	{typed: "tsdoctor completion ", list: true, screen: []string{"bash", "fish", "zsh"}, cands: []string{"bash", "zsh", "fish"}},
	{typed: "tsdoctor check --lang=", list: true, screen: []string{"en", "zh"}, cands: []string{"--lang=en", "--lang=zh"}},
	{typed: "tsdoctor check --only dns,ma", screen: []string{"--only dns,magicdns"}, cands: []string{"dns,magicdns"}},
	{typed: "tsdoctor fix --root /tm", screen: []string{"--root /tmp/@"}, cands: []string{"/tmp/"}},
	{typed: "tsdoctor lab up --", list: true, screen: []string{"--scenario", "--prefix"}, cands: []string{"--scenario", "--prefix"}, notWant: []string{"--keep"}},
	{typed: "tsdoctor fix --allow ", list: true, notWant: []string{"--yes", "--dry-run"}},
}

// TestCompletionRealShells types into real bash and zsh in tmux and asks
// real fish with `complete -C`: what a user meets at the prompt.
func TestCompletionRealShells(t *testing.T) {
	dir := t.TempDir()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		var b, e bytes.Buffer
		if err := cmdCompletion([]string{sh}, &b, &e); err != nil {
			t.Fatalf("completion %s: %v %s", sh, err, e.String())
		}
		name := map[string]string{"bash": "tsdoctor.bash", "zsh": "_tsdoctor", "fish": "tsdoctor.fish"}[sh]
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("bash", func(t *testing.T) {
		tmuxShell(t, "bash", []string{"bash", "--norc", "--noprofile"},
			"PS1='$ '; source "+filepath.Join(dir, "tsdoctor.bash"))
	})
	t.Run("zsh", func(t *testing.T) {
		tmuxShell(t, "zsh", []string{"zsh", "-f"},
			"PS1='$ '; fpath=("+dir+" $fpath); autoload -U compinit; compinit -u -D")
	})
	t.Run("fish", func(t *testing.T) {
		fish, err := exec.LookPath("fish")
		if err != nil {
			t.Skip("fish is not installed (apt install fish): its completion is not checked")
		}
		for _, c := range completionCases {
			line := c.typed
			out, err := exec.Command(fish, "--no-config", "-c",
				fmt.Sprintf("source %s; complete -C %s", filepath.Join(dir, "tsdoctor.fish"), fishQuote(line))).CombinedOutput()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, out)
			}
			// complete -C prints candidates, one a line (value, tab, description).
			var cands []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				cands = append(cands, strings.SplitN(l, "\t", 2)[0])
			}
			got := strings.Join(cands, " ")
			for _, w := range c.cands {
				if !containsWord(cands, w) {
					t.Errorf("fish %q: candidates %q lack %q", line, got, w)
				}
			}
			for _, w := range c.notWant {
				if containsWord(cands, w) {
					t.Errorf("fish %q: candidates %q offer %q", line, got, w)
				}
			}
		}
	})
}

func containsWord(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}

// tmuxShell starts the shell in a private tmux server, runs setup, then
// types each case and reads the screen.
func tmuxShell(t *testing.T, name string, argv []string, setup string) {
	if _, err := exec.LookPath(argv[0]); err != nil {
		t.Skipf("%s is not installed (apt install %s): its completion is not checked", name, name)
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt install tmux): the shells cannot be driven")
	}
	sock := fmt.Sprintf("tsdcomp-%s-%d", name, os.Getpid())
	tm := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tm(append([]string{"-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50", "env", "TERM=xterm", "HOME=" + t.TempDir()}, argv...)...)
	t.Cleanup(func() { exec.Command("tmux", "-L", sock, "kill-server").Run() })
	screen := func() string { return tm("capture-pane", "-p") }
	waitFor := func(what string, ok func(string) bool) string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			s := screen()
			if ok(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: waited for %s; screen:\n%s", name, what, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	tm("send-keys", "-l", setup+"; echo READY\n")
	waitFor("the setup", func(s string) bool { return strings.Contains(s, "\nREADY") })
	for i, c := range completionCases {
		tm("send-keys", "-l", fmt.Sprintf("clear; echo CASE%d\n", i))
		waitFor("a clear screen", func(s string) bool {
			return strings.Contains(s, fmt.Sprintf("CASE%d", i)) && !strings.Contains(s, "READY")
		})
		tm("send-keys", "-l", c.typed)
		tm("send-keys", "Tab")
		if c.list {
			time.Sleep(150 * time.Millisecond)
			tm("send-keys", "Tab")
		} else {
			time.Sleep(150 * time.Millisecond)
			tm("send-keys", "-l", "@")
		}
		var s string
		if len(c.screen) > 0 {
			s = waitFor(fmt.Sprintf("%q to complete to %q", c.typed, c.screen), func(s string) bool {
				for _, w := range c.screen {
					if !strings.Contains(s, w) {
						return false
					}
				}
				return true
			})
		} else {
			time.Sleep(500 * time.Millisecond)
			s = screen()
		}
		for _, w := range c.notWant {
			if strings.Contains(s, w) {
				t.Errorf("%s %q offers %q:\n%s", name, c.typed, w, s)
			}
		}
		tm("send-keys", "C-c")
	}
}
