package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tui"
)

// inLabEnv marks the copy of this test binary that runs inside the lab's
// ECS namespace: the wizard's probes and firewall changes happen there,
// never on the host.
const inLabEnv = "TSDOCTOR_TEST_IN_LAB"

// wizardHosts are the host shapes every whole-program wizard test runs
// on: ECS as a real instance shows it (DMI, no flag), and a host that is
// not ECS (the services step finds nothing there; the rules step used to
// panic on it).
var wizardHosts = []struct {
	host lab.Host
	// services is what the rules step says of the other services.
	services string
}{
	{lab.HostECSDMI, "other service(s) in 100.64.0.0/10 are cut off"},
	{lab.HostPlain, "No other service in"},
}

// TestWizardTeatestLab runs the whole wizard program (teatest) with the
// real engine against the lab, on each host shape: diagnose, walk every
// step, pick the whitelist, confirm, verified; then checks the machine.
func TestWizardTeatestLab(t *testing.T) {
	if os.Getenv(inLabEnv) == "1" {
		wizardTeatest(t)
		return
	}
	for _, h := range wizardHosts {
		t.Run(string(h.host), func(t *testing.T) {
			l := startLabHost(t, "new-order", h.host)
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := l.Command(context.Background(), "env", inLabEnv+"=1", self, "-test.run", "^TestWizardTeatestLab$", "-test.v")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the wizard inside the lab: %v\n%s", err, out)
			}
			assertWhitelisted(t, l)
		})
	}
}

func wizardTeatest(t *testing.T) {
	root, err := resolveRoot("", "")
	if err != nil {
		t.Fatal(err)
	}
	opts := checks.DefaultOptions()
	// As the wizard's own --ecs does: the lab's host shape decides (DMI,
	// or TSDOCTOR_ECS=1).
	opts.ECS = os.Getenv("TSDOCTOR_ECS") == "1"
	host := openMachine(root, opts)
	eng := &tui.HostEngine{Env: host.env, Options: opts, Host: host.fix, Fix: fixes.Options{}}
	m := tui.New(context.Background(), eng, tui.Options{Lang: i18n.EN, ReportDir: t.TempDir()})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	wait := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	key := func(k tea.KeyPressMsg) { tm.Send(k) }
	enter := tea.KeyPressMsg{Code: tea.KeyEnter}
	wait("Blocked by tailscaled")
	for range 5 {
		key(enter)
	}
	wait("Pick a remedy")
	key(tea.KeyPressMsg{Code: tea.KeyUp})
	key(enter)
	wait("Apply it?")
	key(tea.KeyPressMsg{Code: 'y', Text: "y"})
	wait("Verified: Whitelist")
	key(tea.KeyPressMsg{Code: 'q', Text: "q"})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// assertWhitelisted: the machine agrees with the screen: the whitelist is at
// the top of ts-input and the VPC DNS answers.
func assertWhitelisted(t *testing.T, l *lab.Lab) {
	t.Helper()
	rules := tsInput(t, l)
	if len(rules) == 0 || !strings.Contains(rules[0], fixes.WhitelistComment) {
		t.Errorf("ts-input has no whitelist at the top: %q", rules)
	}
	rep, _, raw := check(t, l)
	if slices.ContainsFunc(rep.Blocked, func(b checks.BlockedService) bool { return b.Address.String() == lab.InternalDNS1 }) {
		t.Errorf("the screen said verified, but the VPC DNS is still blocked:\n%s", raw)
	}
	if out, err := l.Command(context.Background(), "dig", "+short", "+time=1", "+tries=1", "@"+lab.InternalDNS1, "example.com").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Errorf("dig @%s: %v %q", lab.InternalDNS1, err, out)
	}
}

// wizardCommand is the shell command that starts the wizard in the lab.
func wizardCommand(l *lab.Lab, extra ...string) string {
	cmd := l.Command(context.Background(), binary, extra...)
	return "TERM=xterm-256color " + lab.ShellJoin(cmd.Args) + "; sleep 30"
}

// TestWizardTmuxLab: the real binary in a real terminal (tmux) inside the
// lab, on two backends × each host shape: walk every step with keys, run
// the LOG trace, see the services under the rules, pick the whitelist,
// confirm; the screen says verified and the machine agrees; undo.
func TestWizardTmuxLab(t *testing.T) {
	for _, scenario := range []string{"new-order", "nftables"} {
		for _, h := range wizardHosts {
			t.Run(scenario+"/"+string(h.host), func(t *testing.T) {
				wizardTmux(t, scenario, h.host, h.services)
			})
		}
	}
}

func wizardTmux(t *testing.T, scenario string, host lab.Host, services string) {
	l := startLabHost(t, scenario, host)
	s := lab.StartTmux(t, 100, 30, wizardCommand(l))
	s.WaitFor("Blocked by tailscaled", 10*time.Second)
	s.Keys("Enter")
	s.WaitFor("No resolver answers", 2*time.Second)
	s.Keys("w")
	s.WaitFor("Why", 2*time.Second)
	s.Keys("w", "Enter", "Enter")
	asked := s.WaitFor("Run the LOG trace?", 2*time.Second)
	id := regexp.MustCompile(`TSDOCTOR-([0-9]+-[0-9]+):`).FindStringSubmatch(asked)
	if id == nil {
		t.Fatalf("the question shows no trace rule:\n%s", asked)
	}
	s.Keys("y")
	// The rule inserted is the rule that was shown: scroll the
	// trace's evidence until its insert line is in sight.
	s.WaitFor("LOG trace\n", 10*time.Second)
	for i := 0; !strings.Contains(s.Capture(), "inserted at the top of"); i++ {
		if i > 60 {
			t.Fatalf("the trace never says what it inserted:\n%s", s.Capture())
		}
		s.Keys("j")
	}
	seen := s.Capture()
	for range 4 { // the insert line wraps: bring all of it in
		s.Keys("j")
		seen += s.Capture()
	}
	if !strings.Contains(seen, "TSDOCTOR-"+id[1]) {
		t.Errorf("shown TSDOCTOR-%s, inserted something else:\n%s", id[1], s.Capture())
	}
	s.Keys("Left", "Right") // back to the top of the step
	s.Keys("Enter")
	s.WaitFor("Rule discovery", 2*time.Second)
	s.WaitFor(services, 2*time.Second)
	s.Keys("Enter")
	s.WaitFor("Pick a remedy", 2*time.Second)
	s.Keys("k", "Enter")
	s.WaitFor("Apply it?", 5*time.Second)
	s.Keys("y")
	screen := s.WaitFor("Verified: Whitelist", 15*time.Second)
	if !strings.Contains(screen, "Healthy") {
		t.Errorf("verified, but the header does not say healthy:\n%s", screen)
	}
	assertWhitelisted(t, l)
	assertNoTraceRule(t, l)
	s.Keys("u")
	s.WaitFor("Undone: everything it touched is as before.", 10*time.Second)
	s.Keys("q")
}

// BenchmarkWizardTmuxLab measures, for the real binary in tmux inside the
// lab, the time to the first frame and to the finished diagnosis (the
// verdict in the header). Run:
//
//	sudo go test ./cmd/tsdoctor -run '^$' -bench WizardTmux -benchtime 20x
func BenchmarkWizardTmuxLab(b *testing.B) {
	l := startLabHost(b, "new-order", benchHost)
	var first, done []time.Duration
	for range b.N {
		start := time.Now()
		s := lab.StartTmux(b, 100, 30, wizardCommand(l))
		var f time.Duration
		for time.Since(start) < 10*time.Second {
			c := s.Capture()
			if f == 0 && strings.Contains(c, "tsdoctor") {
				f = time.Since(start)
			}
			if strings.Contains(c, "Blocked by tailscaled") {
				done = append(done, time.Since(start))
				break
			}
			time.Sleep(time.Millisecond)
		}
		first = append(first, f)
		s.Close()
	}
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(med(first), "ms-first-frame")
	b.ReportMetric(med(done), "ms-diagnosed")
}

// TestWizardNoColor: with NO_COLOR (or --no-color) the wizard draws no
// colour; without, it does (so the check can fail).
func TestWizardNoColor(t *testing.T) {
	l := startLab(t, "new-order")
	for _, c := range []struct {
		name, prefix string
		extra        []string
		color        bool
	}{{"default", "", nil, true}, {"NO_COLOR", "NO_COLOR=1 ", nil, false}, {"--no-color", "", []string{"--no-color"}, false}} {
		t.Run(c.name, func(t *testing.T) {
			s := lab.StartTmux(t, 100, 30, c.prefix+wizardCommand(l, c.extra...))
			s.WaitFor("Blocked by tailscaled", 10*time.Second)
			out := s.CaptureEscapes()
			// Foreground colours: 38;5;n, 38;2;r;g;b, 30–37, 90–97 (39 resets).
			colored := regexp.MustCompile(`\x1b\[(?:[0-9;]*;)?(?:38;[25];|3[0-7]m|9[0-7]m)`).Match(out)
			if colored != c.color {
				t.Errorf("colour escapes present: %v, want %v\n%q", colored, c.color, out[:min(len(out), 400)])
			}
		})
	}
}

// TestCheckColour: `tsdoctor check` colours its marks on a terminal only,
// and never with NO_COLOR or --no-color, or into a pipe.
func TestCheckColour(t *testing.T) {
	l := startLab(t, "new-order")
	fg := regexp.MustCompile(`\x1b\[(?:[0-9;]*;)?(?:3[0-7]|38;[25];[0-9;]+|9[0-7])m`)
	for _, c := range []struct {
		name, prefix string
		extra        []string
		color        bool
	}{{"terminal", "", nil, true}, {"NO_COLOR", "NO_COLOR=1 ", nil, false}, {"--no-color", "", []string{"--no-color"}, false}} {
		t.Run(c.name, func(t *testing.T) {
			s := lab.StartTmux(t, 120, 30, c.prefix+wizardCommand(l, append([]string{"check"}, c.extra...)...))
			s.WaitFor("Checked in", 10*time.Second)
			out := s.CaptureEscapes()
			if got := fg.Match(out); got != c.color {
				t.Errorf("colour %v, want %v:\n%q", got, c.color, out)
			}
		})
	}
	out, _ := l.Command(context.Background(), binary, "check").Output()
	if bytes.Contains(out, []byte("\x1b[")) || !bytes.Contains(out, []byte("BLOCKED")) {
		t.Errorf("piped check output has escapes or no verdict:\n%q", out)
	}
}
