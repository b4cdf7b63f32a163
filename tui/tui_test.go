package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// driver runs the wizard's model the way Bubble Tea does, synchronously:
// every command returned by Update is run and its message fed back.
type driver struct {
	t    *testing.T
	m    *Model
	quit bool
}

func newDriver(t *testing.T, eng Engine, l i18n.Lang, w, h int) *driver {
	t.Helper()
	fixed := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	m := New(context.Background(), eng, Options{Lang: l, Now: func() time.Time { return fixed }, ReportDir: t.TempDir()})
	d := &driver{t: t, m: m}
	d.send(tea.WindowSizeMsg{Width: w, Height: h})
	d.run(m.Init())
	return d
}

func (d *driver) send(msg tea.Msg) {
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil, spinner.TickMsg:
			// Spinner ticks would run forever; the frame does not matter.
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case tea.QuitMsg:
			d.quit = true
		default:
			_, next := d.m.Update(msg)
			queue = append(queue, next)
		}
	}
}

// press sends keys by name: "enter", "esc", "up", "down", or a character.
func (d *driver) press(keys ...string) {
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "ctrl+c":
			msg = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
		default:
			r := []rune(k)[0]
			msg = tea.KeyPressMsg{Code: r, Text: k}
		}
		d.send(msg)
	}
}

func (d *driver) screen() string { return ansi.Strip(d.m.Render()) }

func (d *driver) want(subs ...string) {
	d.t.Helper()
	s := d.screen()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			d.t.Fatalf("screen lacks %q:\n%s", sub, s)
		}
	}
}

func TestWalkAndApply(t *testing.T) {
	eng := &fakeEngine{root: true}
	d := newDriver(t, eng, i18n.EN, 80, 24)
	d.want("Connectivity", "IP connectivity is fine", "Blocked by tailscaled's CGNAT DROP")
	d.press("w")
	d.want("Why")
	d.press("w", "enter")
	d.want("No resolver answers")
	d.press("enter", "enter") // MagicDNS, then the trace
	d.want("LOG trace", "Run the LOG trace?", "-j LOG")
	if eng.traces != 0 {
		t.Fatal("the LOG trace ran without being asked")
	}
	d.press("y")
	if eng.traces != 1 {
		t.Fatalf("trace ran %d times after y", eng.traces)
	}
	d.want("SRC=100.100.2.136")
	d.press("enter", "enter") // rules, then remedies
	d.want("Pick a remedy", "★", "Recommended: the guard")
	if !strings.Contains(d.screen(), "▸ 3 ★ Guard") {
		t.Errorf("the guard is not preselected:\n%s", d.screen())
	}
	d.press("up", "enter")
	d.want("Plan for remedy 2", "tsdoctor-whitelist", "Apply it? [y]")
	if eng.applies != 0 {
		t.Fatal("applied before the yes")
	}
	d.press("y")
	if eng.applies != 1 || eng.verifies != 1 {
		t.Fatalf("applies %d verifies %d", eng.applies, eng.verifies)
	}
	d.want("Verified: Whitelist", "20261125T030000Z-whitelist", "✓ Healthy")
	d.press("u")
	if eng.undoes != 1 {
		t.Fatal("u did not undo")
	}
	d.want("Undone: everything it touched is as before.")
	d.press("u")
	if eng.undoes != 1 {
		t.Error("a second u undid again")
	}
	d.press("r")
	d.want("Report saved:")
	files, _ := filepath.Glob(filepath.Join(d.m.opts.ReportDir, "tsdoctor-report-*.md"))
	if len(files) != 1 {
		t.Fatalf("report files %v", files)
	}
	b, _ := os.ReadFile(files[0])
	for _, want := range []string{"# tsdoctor incident report", "culprit: iptables-nft filter/ts-input #5", "journal 20261125T030000Z-whitelist", "passed: **true**", "same as before = true"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q:\n%s", want, b)
		}
	}
	d.press("q")
	if !d.quit {
		t.Error("q did not quit")
	}
}

// TestPathDrawn: the trace step draws each reply's path hop by hop with the
// deciding rule marked; after a remedy the verify screen traces again and
// shows the whitelist rule that now lets the replies in; the report holds
// both. In both languages.
func TestPathDrawn(t *testing.T) {
	for _, c := range []struct {
		lang                   i18n.Lang
		dropped, accepted, why string
	}{
		{i18n.EN, "ts-input #5 DROP  ✗ dropped here", "ts-input #1 ACCEPT tsdoctor-whitelist  ✓ let in here", "Each line is a place the reply passed"},
		{i18n.ZH, "ts-input #5 DROP  ✗ 在此被丢弃", "ts-input #1 ACCEPT tsdoctor-whitelist  ✓ 在此放行", "每一行是回包经过的一处地方"},
	} {
		t.Run(string(c.lang), func(t *testing.T) {
			eng := &fakeEngine{root: true}
			d := newDriver(t, eng, c.lang, 120, 60)
			d.press("enter", "enter", "enter", "y")
			d.want(i18n.T(c.lang, "tui.path.before"), "100.100.2.136 UDP, 100.100.2.136 TCP, 100.100.2.138 UDP, 100.100.2.138 TCP",
				"PREROUTING policy ACCEPT", "→ INPUT #1 jump ts-input", c.dropped, "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP")
			d.press("w")
			d.want(c.why)
			d.press("w", "enter", "enter", "up", "enter", "y")
			if eng.applies != 1 || eng.retraces != 1 {
				t.Fatalf("applies %d, traces again %d times", eng.applies, eng.retraces)
			}
			d.want(i18n.T(c.lang, "tui.path.after"), c.accepted, "-A ts-input -s 100.100.2.136/32 -p udp")
			md := d.m.Markdown()
			for _, want := range []string{"INPUT #1 jump ts-input → ts-input #5 DROP", "ts-input #1 ACCEPT tsdoctor-whitelist", i18n.T(c.lang, "tui.path.after")} {
				if !strings.Contains(md, want) {
					t.Errorf("report lacks %q:\n%s", want, md)
				}
			}
		})
	}
	// On iptables-legacy the verify screen says why there is no path.
	eng := &fakeEngine{root: true, legacy: true}
	d := newDriver(t, eng, i18n.EN, 120, 60)
	d.press("enter", "enter", "enter", "y", "enter", "enter", "up", "enter", "y")
	d.want(i18n.T(i18n.EN, "tui.path.after"), "iptables-legacy, which has no nftables tracing")

	// Without the user's yes to the trace, nothing is traced after a remedy.
	eng = &fakeEngine{root: true}
	d = newDriver(t, eng, i18n.EN, 120, 60)
	d.press("enter", "enter", "enter", "n", "enter", "enter", "up", "enter", "y")
	if eng.applies != 1 || eng.retraces != 0 {
		t.Errorf("declined trace: applies %d, traced again %d times", eng.applies, eng.retraces)
	}
}

// TestNotECSWalksEveryStep: on a host not detected as ECS the services
// step has no evidence; the rule discovery step (which shows the services
// beside the rules) used to panic with "slice bounds out of range [2:0]".
// Walk every step to the verification and the undo, in both languages.
func TestNotECSWalksEveryStep(t *testing.T) {
	for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
		t.Run(string(l), func(t *testing.T) {
			eng := &fakeEngine{root: true, report: nonECSReport}
			d := newDriver(t, eng, l, 120, 40)
			d.press("enter", "enter", "enter", "n", "enter")
			d.want(i18n.T(l, "tui.rail.rules"), i18n.T(l, "svc.sum.none"))
			d.press("enter", "up", "enter", "y")
			d.want(i18n.T(l, "tui.verified", i18n.T(l, "fix.2.title")))
			d.press("u")
			d.want(i18n.T(l, "tui.undone"))
			if eng.applies != 1 || eng.undoes != 1 {
				t.Errorf("applies %d undoes %d", eng.applies, eng.undoes)
			}
		})
	}
}

func TestTraceDeclined(t *testing.T) {
	eng := &fakeEngine{root: true}
	d := newDriver(t, eng, i18n.EN, 80, 24)
	d.press("enter", "enter", "enter", "n")
	d.want("Skipped: the counters already name the rule.")
	d.press("y")
	if eng.traces != 0 {
		t.Error("y after n ran the trace")
	}
}

func TestNotRootIsReadOnly(t *testing.T) {
	eng := &fakeEngine{root: false}
	d := newDriver(t, eng, i18n.EN, 80, 24)
	d.want("Read-only: not root")
	d.press("enter", "enter", "enter")
	d.want("it needs root")
	d.press("y")
	d.press("enter", "enter", "enter")
	d.want("Plan for remedy 3", "rerun `sudo tsdoctor`")
	d.press("y")
	if eng.traces != 0 || eng.applies != 0 {
		t.Errorf("not root, yet traces %d applies %d", eng.traces, eng.applies)
	}
}

func TestQuitAsksWhileApplying(t *testing.T) {
	eng := &fakeEngine{root: true}
	d := newDriver(t, eng, i18n.EN, 80, 24)
	d.m.screen = screenApplying
	d.press("q")
	if d.quit || !d.m.confirmQuit {
		t.Fatal("q during a change quit at once")
	}
	d.want("Quit anyway?")
	d.press("n")
	if d.quit || d.m.confirmQuit {
		t.Fatal("n did not cancel")
	}
	d.press("ctrl+c", "y")
	if !d.quit {
		t.Error("y did not quit")
	}
}

func TestHelpOverlayFromBindings(t *testing.T) {
	d := newDriver(t, &fakeEngine{root: true}, i18n.ZH, 80, 24)
	d.press("?")
	s := d.screen()
	for _, b := range [][]string{{"↑/k", "上"}, {"u", "撤销"}, {"r", "报告"}, {"w", "原理"}} {
		if !strings.Contains(s, b[0]) || !strings.Contains(s, b[1]) {
			t.Errorf("help overlay lacks %q %q:\n%s", b[0], b[1], s)
		}
	}
	d.press("?")
	if d.m.showHelp {
		t.Error("? did not close the overlay")
	}
}

func TestResizeKeepsLinesInBounds(t *testing.T) {
	d := newDriver(t, &fakeEngine{root: true}, i18n.ZH, 80, 24)
	d.press("enter", "enter", "enter", "enter", "enter")
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {60, 15}, {200, 50}, {20, 5}, {39, 9}, {40, 10}, {300, 100}} {
		d.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		lines := strings.Split(d.screen(), "\n")
		if len(lines) != sz[1] {
			t.Errorf("%dx%d: %d lines", sz[0], sz[1], len(lines))
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w != sz[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", sz[0], sz[1], i, w, l)
				break
			}
		}
	}
}

// TestGolden: every step, the remedies table, a plan and the verification,
// at 80×24 and 120×40, in English and Chinese (ANSI stripped). Regenerate
// with -update after a deliberate change.
func TestGolden(t *testing.T) {
	type view struct {
		name string
		keys []string
	}
	views := []view{
		{"connectivity", nil}, {"dns", []string{"enter"}}, {"magicdns", []string{"enter", "enter"}},
		{"trace", []string{"enter", "enter", "enter"}}, {"rules", []string{"enter", "enter", "enter", "n", "enter"}},
		{"remedies", []string{"enter", "enter", "enter", "n", "enter", "enter"}},
		{"plan", []string{"enter", "enter", "enter", "n", "enter", "enter", "up", "enter"}},
		{"verify", []string{"enter", "enter", "enter", "n", "enter", "enter", "up", "enter", "y"}},
	}
	for _, l := range []i18n.Lang{i18n.EN, i18n.ZH} {
		for _, sz := range [][2]int{{80, 24}, {120, 40}} {
			for _, v := range views {
				name := fmt.Sprintf("%s-%s-%dx%d", v.name, l, sz[0], sz[1])
				t.Run(name, func(t *testing.T) {
					d := newDriver(t, &fakeEngine{root: true}, l, sz[0], sz[1])
					d.press(v.keys...)
					// testdata/TestGolden/<name>.golden; golden registers -update.
					golden.RequireEqual(t, d.screen()+"\n")
				})
			}
		}
	}
}
