package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// The wizard's shape is random: whatever report a host gives, whatever the
// user presses, whatever size the terminal has. FuzzWizard builds a random
// report and engine from the fuzz bytes, then feeds a random sequence of
// every key binding, window sizes from 20×5 to 300×100 and the results of
// the commands the model returns (in any order relative to the keys), in
// English or Chinese; after each message the frame must be exactly w×h
// cells, with no control character but the line breaks and no escape
// sequence but colours.
//
//	go test -run '^$' -fuzz '^FuzzWizard$' -fuzztime 30s ./tui
func FuzzWizard(f *testing.F) {
	walk := []fuzzOp{opKey("enter"), opKey("enter"), opKey("enter"), opKey("n"), opKey("enter")}
	toUndo := append(append([]fuzzOp{}, walk...), opKey("enter"), opKey("up"), opKey("enter"), opKey("y"), opKey("u"), opKey("r"))
	f.Add(seedBytes(presetNonECS, i18n.EN, append([]fuzzOp{opDeliverAll}, toUndo...)...))
	f.Add(seedBytes(presetNonECS, i18n.ZH, append([]fuzzOp{opDeliverAll}, toUndo...)...))
	f.Add(seedBytes(presetNonECS, i18n.ZH, append([]fuzzOp{opDeliverAll, opSize(20, 5)}, walk...)...))
	f.Add(seedBytes(presetNonECS, i18n.EN, append([]fuzzOp{opDeliverAll, opSize(300, 100), opKey("w")}, walk...)...))
	f.Add(seedBytes(presetLab, i18n.EN, append([]fuzzOp{opDeliverAll, opKey("?"), opKey("?")}, toUndo...)...))
	f.Add(seedBytes(presetLab, i18n.ZH, opKey("enter"), opKey("q"), opDeliverOne, opDeliverAll, opSize(41, 9)))
	f.Add(seedBytes(presetRandom, i18n.EN, opDeliverAll, opKey("enter"), opSize(33, 7), opKey("enter"), opKey("j")))
	f.Add([]byte("\x00\x01\xff\xfe random report, random keys \x10\x20\x30\x40\x50"))
	r := rand.New(rand.NewPCG(7, 7)) // random setups, walked deep
	for i, w := range walks {
		seed := randomSetup(r, i%presetCount)
		for _, op := range w {
			seed = append(seed, op...)
		}
		f.Add(seed)
	}
	dir := f.TempDir() // r saves reports here; one directory, not one per case
	f.Fuzz(func(t *testing.T, data []byte) { fuzzWizard(t, data, dir) })
}

// TestWizardRandom runs a few hundred random cases of FuzzWizard with a
// fixed seed, so a plain `go test ./tui` exercises it without -fuzz.
func TestWizardRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 1))
	n := 200
	if testing.Short() {
		n = 50
	}
	dir := t.TempDir()
	for i := range n {
		var data []byte
		if i%4 == 0 {
			data = make([]byte, 16+r.IntN(600))
			for j := range data {
				data[j] = byte(r.UintN(256))
			}
		} else {
			// A random setup, then a walk deep into the wizard (the
			// trace run, a remedy applied, traced again, undone), then
			// random ops: the deep screens with random content.
			data = randomSetup(r, r.IntN(presetCount))
			for _, op := range walks[r.IntN(len(walks))] {
				data = append(data, op...)
			}
			for range r.IntN(80) {
				data = append(data, byte(r.UintN(256)))
			}
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			fuzzWizard(t, data, dir)
		})
	}
}

// walks lead deep into the wizard from the first screen.
var walks = [][]fuzzOp{
	{opDeliverAll, opKey("enter"), opKey("enter"), opKey("enter"), opKey("y"), opDeliverAll},
	{opDeliverAll, opKey("enter"), opKey("enter"), opKey("enter"), opKey("n"), opKey("enter"), opKey("enter"),
		opKey("enter"), opDeliverAll, opKey("y"), opDeliverAll, opKey("u"), opDeliverAll},
	{opDeliverAll, opKey("enter"), opKey("enter"), opKey("enter"), opKey("y"), opDeliverAll, opKey("enter"), opKey("enter"),
		opKey("down"), opKey("enter"), opDeliverAll, opKey("y"), opDeliverAll, opKey("w"), opKey("u"), opDeliverAll},
}

// randomSetup is a random setup (preset, language, the engine's answers)
// and its end: the ops that follow are read as ops.
func randomSetup(r *rand.Rand, preset int) []byte {
	b := []byte{byte(preset), byte(r.UintN(2))}
	for range r.IntN(2000) {
		b = append(b, byte(r.UintN(255))) // no 0xff: that ends the setup
	}
	return append(b, 0xff)
}

// TestFuzzKeysAreTheKeymap: the fuzz types every key of every binding; a
// binding it cannot type fails here rather than going untested.
func TestFuzzKeysAreTheKeymap(t *testing.T) {
	keys := bindingKeys(newKeyMap(i18n.EN))
	if len(keys) < 11 {
		t.Fatalf("only %d keys found in the keymap: %q", len(keys), keys)
	}
	for _, k := range keys {
		if _, err := keyPress(k); err != nil {
			t.Error(err)
		}
	}
}

// bindingKeys is every key of every key.Binding in the keymap, found by
// reflection so a new binding is fuzzed without touching this file.
func bindingKeys(km keyMap) []string {
	var keys []string
	v := reflect.ValueOf(km)
	for i := range v.NumField() {
		if b, ok := v.Field(i).Interface().(key.Binding); ok {
			keys = append(keys, b.Keys()...)
		}
	}
	return keys
}

var specialKeys = map[string]rune{
	"enter": tea.KeyEnter, "esc": tea.KeyEscape, "tab": tea.KeyTab, "space": tea.KeySpace,
	"backspace": tea.KeyBackspace, "up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft,
	"right": tea.KeyRight, "home": tea.KeyHome, "end": tea.KeyEnd, "pgup": tea.KeyPgUp,
	"pgdown": tea.KeyPgDown, "delete": tea.KeyDelete, "insert": tea.KeyInsert,
}

// keyPress is the key message Bubble Tea delivers for a binding's key name.
func keyPress(name string) (tea.KeyPressMsg, error) {
	var msg tea.KeyPressMsg
	rest := name
	for _, m := range []struct {
		prefix string
		mod    tea.KeyMod
	}{{"ctrl+", tea.ModCtrl}, {"alt+", tea.ModAlt}, {"shift+", tea.ModShift}} {
		if s, ok := strings.CutPrefix(rest, m.prefix); ok && s != "" {
			msg.Mod |= m.mod
			rest = s
		}
	}
	if c, ok := specialKeys[rest]; ok {
		msg.Code = c
	} else if r, size := utf8.DecodeRuneInString(rest); size == len(rest) && r != utf8.RuneError {
		msg.Code = r
		if msg.Mod == 0 {
			msg.Text = rest
		}
	}
	if msg.String() != name {
		return msg, fmt.Errorf("key %q of the keymap cannot be typed by the fuzz test (got %q): teach keyPress", name, msg.String())
	}
	return msg, nil
}

// fuzzSrc hands out the fuzz bytes; exhausted, it gives zeros.
type fuzzSrc struct {
	b []byte
	i int
}

func (s *fuzzSrc) byte() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}

func (s *fuzzSrc) done() bool     { return s.i >= len(s.b) }
func (s *fuzzSrc) intn(n int) int { return int(s.byte()) % n }

// chance is true one time in n; a zero byte says no, so an input of zeros
// is the plain path (root, every remedy applies, a plan, no errors).
func (s *fuzzSrc) chance(n int) bool { return s.intn(n) == n-1 }

// texts cover what real hosts say and what they might: nothing, words,
// a path longer than any line, Chinese with full-width punctuation, huge
// text, control characters and escape sequences, emoji, format verbs.
var texts = []string{
	"", "ok", "nameserver 100.100.2.136, 100.100.2.138 (options timeout:2 attempts:3 rotate)",
	"/var/lib/tsdoctor/" + strings.Repeat("very-long-path-component-without-spaces-", 12),
	"阿里云 ECS 的元数据服务（100.100.100.200）的回包被丢弃：请检查 ts-input 链。",
	strings.Repeat("中文没有空格所以只能在任意位置换行", 30),
	strings.Repeat("word ", 800),
	"tab\there\r\nline\x07bell \x1b[2J\x1b[Hclear \x1b]0;title\x07 \x1b[31mred\x1b[0m \x7f\u0085\u009b",
	"emoji 🧪🔥👩‍👩‍👧 and zero\u200bwidth and combining e\u0301",
	"%s %d %!x 100%", "\n\n\n", "   ", "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP",
}

func (s *fuzzSrc) text() string {
	if s.chance(3) {
		// Bytes from the input itself, so the fuzzer can shape the text.
		n := s.intn(40)
		start := min(s.i, len(s.b))
		end := min(start+n, len(s.b))
		s.i = end
		return string(s.b[start:end])
	}
	return texts[s.intn(len(texts))]
}

var msgKeys = []string{"conn.sum.ok", "dns.sum.cgnat", "magic.sum.out", "trace.sum.culprit", "rules.sum.culprit",
	"svc.sum.blocked", "svc.sum.none", "svc.cloud", "explain.dns", "fix.unit.nosystemd", "verify.dns.ok", "no.such.key"}

func (s *fuzzSrc) msg() i18n.Msg {
	switch s.intn(4) {
	case 0:
		// A real key with random arguments, possibly the wrong number.
		var args []any
		for range s.intn(4) {
			if s.chance(2) {
				args = append(args, s.text())
			} else {
				args = append(args, s.intn(1000))
			}
		}
		return i18n.M(msgKeys[s.intn(len(msgKeys))], args...)
	case 1:
		return i18n.Msg{}
	}
	return i18n.Raw(s.text())
}

func (s *fuzzSrc) msgs() []i18n.Msg {
	var out []i18n.Msg
	for range s.intn(5) {
		out = append(out, s.msg())
	}
	return out
}

func (s *fuzzSrc) strs() []string {
	var out []string
	for range s.intn(4) {
		out = append(out, s.text())
	}
	return out
}

var (
	verdicts = []checks.Verdict{checks.Healthy, checks.Blocked, checks.Degraded, checks.Error, "", "bogus"}
	statuses = []checks.Status{checks.Pass, checks.Warn, checks.Fail, checks.Skip, ""}
	stepIDs  = []checks.StepID{"connectivity", "dns", "magicdns", "trace", "rules", "services", "remedies", "verify", "", "bogus"}
)

func (s *fuzzSrc) finding(id checks.StepID) checks.Finding {
	explain := "explain." + string(id)
	if s.chance(4) {
		explain = s.text()
	}
	return checks.Finding{ID: id, Status: statuses[s.intn(len(statuses))], Summary: s.msg(), Evidence: s.msgs(),
		Commands: s.strs(), Explain: explain, Elapsed: time.Duration(s.intn(256)) * time.Millisecond, Paths: s.paths()}
}

var hopVerdicts = []string{"accept", "drop", "jump", "goto", "return", "continue", "queue", "stolen", "policy-accept", "policy-drop", "", "bogus"}

// paths are the packet trace's ways through nf_tables: none, empty ones,
// hops with any verdict, a packet not decoded.
func (s *fuzzSrc) paths() []nftrace.Path {
	var out []nftrace.Path
	for range s.intn(4) {
		p := nftrace.Path{Packet: nftrace.Packet{Proto: s.text(), SrcPort: uint16(s.intn(256))}}
		if !s.chance(4) {
			p.Packet.Src = netip.AddrFrom4([4]byte{100, 100, s.byte(), s.byte()})
		}
		for range s.intn(6) {
			p.Hops = append(p.Hops, nftrace.Hop{Family: firewall.IPv4, Table: s.text(), Chain: s.text(), Position: s.intn(8) - 1,
				Rule: s.text(), Verdict: hopVerdicts[s.intn(len(hopVerdicts))]})
		}
		out = append(out, p)
	}
	return out
}

func (s *fuzzSrc) blocked() []checks.BlockedService {
	var out []checks.BlockedService
	for range s.intn(4) {
		out = append(out, checks.BlockedService{Address: netip.AddrFrom4([4]byte{100, 100, s.byte(), s.byte()}), Port: uint16(s.intn(256)), Service: checks.Service(s.text())})
	}
	return out
}

func (s *fuzzSrc) report() checks.Report {
	rep := checks.Report{Verdict: verdicts[s.intn(len(verdicts))], Blocked: s.blocked(), Hint: s.msg(),
		Elapsed: time.Duration(s.intn(256)) * time.Millisecond}
	if s.chance(2) {
		backends := []firewall.Backend{firewall.IptablesNFT, firewall.IptablesLegacy, firewall.NFTables, firewall.Backend(s.text())}
		rep.Culprit = &firewall.Rule{ChainRef: firewall.ChainRef{Backend: backends[s.intn(len(backends))], Family: firewall.IPv4, Table: "filter", Chain: s.text()},
			Position: s.intn(256), Verdict: firewall.Drop, Packets: uint64(s.intn(256)), Text: s.text()}
	}
	versions := []string{"1.102.3", "1.96.5", "", "garbage", "1.98.0-t1234"}
	rep.Tailscale = tailscale.State{Installed: s.chance(2), Version: versions[s.intn(len(versions))], BackendState: s.text(),
		NetfilterMode: tailscale.NetfilterMode(s.text()), ExitNode: s.chance(4), AdvertiseRoutes: s.strs()}
	for i, id := range stepIDs {
		if i < 6 && s.chance(5) {
			continue // a step that never ran
		}
		if i >= 6 && !s.chance(4) {
			continue // an unknown step: rarely
		}
		rep.Steps = append(rep.Steps, s.finding(id))
	}
	return rep
}

// fuzzEngine answers from choices made up front (Diagnose runs on another
// goroutine, so it must not read the fuzz bytes) and touches nothing.
type fuzzEngine struct {
	root     bool
	rep      checks.Report
	trace    checks.Finding
	retrace  checks.Finding
	applies  []bool
	plan     *fixes.Plan
	planErr  error
	entry    *fixes.Entry
	applyErr error
	verified fixes.Verification
	undone   []fixes.UndoResult
	undoErr  error
}

func (s *fuzzSrc) err() error {
	if s.chance(3) {
		return errors.New(s.text())
	}
	return nil
}

func (s *fuzzSrc) engine(rep checks.Report) *fuzzEngine {
	e := &fuzzEngine{root: !s.chance(4), rep: rep, trace: s.finding("trace"), retrace: s.finding("trace"), planErr: s.err(), applyErr: s.err(), undoErr: s.err()}
	for range fixes.All() {
		e.applies = append(e.applies, !s.chance(3))
	}
	if !s.chance(8) { // else: no plan and no error, the plan screen waits
		p := &fixes.Plan{Remedy: fixes.ID(1 + s.intn(6)), Notes: s.msgs(), Manual: s.chance(4)}
		if s.chance(3) {
			p.Notes = append(p.Notes, i18n.M("fix.unit.nosystemd"))
		}
		for range s.intn(4) {
			p.Steps = append(p.Steps, fixes.Step{Text: s.msg(), Command: s.text(), File: s.text(), Content: s.text()})
		}
		if !s.chance(4) {
			p.Actions = []fixes.Action{{Command: &fixes.CommandPair{Do: []string{"true"}}}}
		}
		for range s.intn(3) {
			p.Allow = append(p.Allow, netip.AddrFrom4([4]byte{100, 100, s.byte(), s.byte()}))
		}
		e.plan = p
	}
	if !s.chance(4) {
		e.entry = &fixes.Entry{ID: s.text()}
	}
	vrep := rep
	if s.chance(2) {
		vrep = s.report()
	}
	e.verified = fixes.Verification{Passed: s.chance(2), Verdict: verdicts[s.intn(len(verdicts))], DNS: s.chance(2),
		Blocked: s.blocked(), Restart: s.msg(), Reboot: s.msg(), Details: s.msgs(), Report: vrep}
	for range s.intn(3) {
		e.undone = append(e.undone, fixes.UndoResult{Entry: e.entry, Same: s.chance(2), Differences: s.strs(), LeftAlone: s.msgs()})
	}
	return e
}

func (e *fuzzEngine) Root() bool { return e.root }
func (e *fuzzEngine) Diagnose(ctx context.Context, progress func(checks.Finding)) checks.Report {
	for _, f := range e.rep.Steps {
		progress(f)
	}
	return e.rep
}
func (e *fuzzEngine) TraceCommand(checks.Report) string        { return "iptables -I INPUT 1 -j LOG" }
func (e *fuzzEngine) Trace(context.Context) checks.Finding     { return e.trace }
func (e *fuzzEngine) PathTrace(context.Context) checks.Finding { return e.retrace }
func (e *fuzzEngine) Applies(r fixes.Remedy, _ checks.Report) fixes.Applicability {
	if e.applies[int(r.Info().ID)-1] {
		return fixes.Applicability{Fit: fixes.Fits}
	}
	return fixes.Applicability{Fit: fixes.NotApplicable, Why: i18n.M("fix.why.nfoff")}
}
func (e *fuzzEngine) Plan(context.Context, fixes.Remedy, checks.Report) (*fixes.Plan, error) {
	return e.plan, e.planErr
}
func (e *fuzzEngine) Apply(context.Context, *fixes.Plan) (*fixes.Entry, error) {
	return e.entry, e.applyErr
}
func (e *fuzzEngine) Verify(context.Context, fixes.ID, *fixes.Plan) fixes.Verification {
	return e.verified
}
func (e *fuzzEngine) Undo(context.Context) ([]fixes.UndoResult, error) { return e.undone, e.undoErr }

// Presets: the first byte picks the report. The known ones let the seeds
// walk a real shape (and TestWizardRandom reach the remedies often).
const (
	presetRandom = iota
	presetLab
	presetNonECS
	presetCount
)

// fuzzOp is one step of a seed, encoded as fuzzWizard reads it.
type fuzzOp []byte

const (
	opcKey = iota
	opcSize
	opcDeliverOne
	opcDeliverAll
	opcBackground
	opcCount
)

var (
	fuzzKeys     = append(bindingKeys(newKeyMap(i18n.EN)), "x", "tab", "pgdown")
	opDeliverOne = fuzzOp{opcDeliverOne}
	opDeliverAll = fuzzOp{opcDeliverAll}
)

func opKey(k string) fuzzOp {
	for i, fk := range fuzzKeys {
		if fk == k {
			return fuzzOp{opcKey, byte(i)}
		}
	}
	panic("no key " + k)
}

func opSize(w, h int) fuzzOp { return fuzzOp{opcSize, byte(w - 20), byte(h - 5)} }

// seedBytes builds an input: preset, language, the end of the setup (the
// engine reads zeros: root, every remedy applies, a plan, no errors), then
// the ops.
func seedBytes(preset int, l i18n.Lang, ops ...fuzzOp) []byte {
	b := []byte{byte(preset), 0, 0xff}
	if l == i18n.ZH {
		b[1] = 1
	}
	for _, op := range ops {
		b = append(b, op...)
	}
	return b
}

// maxOps bounds one case's messages (a frame with huge text takes a few
// milliseconds to draw).
const maxOps = 80

var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// header reads the case's setup: the report (a preset or random), the
// language and the engine's answers.
func (s *fuzzSrc) header() (i18n.Lang, *fuzzEngine) {
	preset := int(s.byte()) % presetCount
	l := i18n.EN
	if s.byte()%2 == 1 {
		l = i18n.ZH
	}
	var rep checks.Report
	switch preset {
	case presetLab:
		rep = fakeReport()
	case presetNonECS:
		rep = nonECSReport()
	default:
		rep = s.report()
	}
	return l, s.engine(rep)
}

// fuzzWizard is one case: build, then run the ops until the bytes end.
func fuzzWizard(t *testing.T, data []byte, reportDir string) {
	// An input is a setup, 0xff, then the ops; a setup that ends early
	// reads as zeros.
	setup, ops, _ := bytes.Cut(data, []byte{0xff})
	l, eng := (&fuzzSrc{b: setup}).header()
	s := &fuzzSrc{b: ops}
	fixed := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	m := New(context.Background(), eng, Options{Lang: l, Now: func() time.Time { return fixed }, ReportDir: reportDir})
	w, h := 80, 24 // the model's size before the first WindowSizeMsg
	pending := []tea.Cmd{m.Init()}
	quit := false
	step := 0
	update := func(msg tea.Msg) {
		step++
		_, cmd := m.Update(msg)
		if _, tick := msg.(spinner.TickMsg); !tick {
			pending = append(pending, cmd) // the next tick would sleep
		}
		checkFrame(t, m, w, h, step, msg)
	}
	deliver := func() {
		c := pending[0]
		pending = pending[1:]
		if c == nil {
			return
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			pending = append(pending, msg...)
		case tea.QuitMsg:
			quit = true
		default:
			update(msg)
		}
	}
	checkFrame(t, m, w, h, 0, nil)
	// A bounded walk: a long input must not make one case take minutes.
	for ops := 0; !s.done() && !quit && ops < maxOps; ops++ {
		switch s.intn(opcCount) {
		case opcKey:
			k, err := keyPress(fuzzKeys[s.intn(len(fuzzKeys))])
			if err != nil {
				t.Fatal(err)
			}
			update(k)
		case opcSize:
			w, h = 20+s.intn(281), 5+s.intn(96)
			update(tea.WindowSizeMsg{Width: w, Height: h})
		case opcDeliverOne:
			if len(pending) > 0 {
				deliver()
			}
		case opcDeliverAll:
			for i := 0; len(pending) > 0 && i < 100 && !quit; i++ {
				deliver()
			}
		case opcBackground:
			update(tea.BackgroundColorMsg{Color: color.Gray{Y: s.byte()}})
		}
	}
	// Drain what is left (the diagnosis goroutine may wait to send).
	for i := 0; len(pending) > 0 && i < 100 && !quit; i++ {
		deliver()
	}
}

// checkFrame: exactly h lines of exactly w cells; no control character
// but the line breaks, no escape sequence but colours (text from the host
// must not move the cursor, clear the screen or set the title).
func checkFrame(t *testing.T, m *Model, w, h, step int, msg tea.Msg) {
	t.Helper()
	frame := m.View().Content
	lines := strings.Split(frame, "\n")
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after message %d (%T %.200v) at %d×%d: %s\n%s", step, msg, msg, w, h, fmt.Sprintf(format, args...), ansi.Strip(frame))
	}
	if len(lines) != h {
		fail("%d lines", len(lines))
	}
	for i, line := range lines {
		if lw := ansi.StringWidth(line); lw != w {
			fail("line %d is %d cells wide: %q", i, lw, line)
		}
	}
	if !utf8.ValidString(frame) {
		fail("invalid UTF-8")
	}
	for _, r := range sgr.ReplaceAllString(frame, "") {
		if r != '\n' && unicode.IsControl(r) {
			fail("control character %U in the frame", r)
		}
	}
}
