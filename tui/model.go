package tui

import (
	"context"
	"os"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// The rail: the write-up's steps, then the remedies and the verification.
const (
	railConnectivity = iota
	railDNS
	railMagicDNS
	railTrace
	railRules
	railRemedies
	railVerify
	railLen
)

// rail names each place on the rail: the check step it shows (none for the
// remedies and the verification) and the i18n key of its title.
var rail = [railLen]struct {
	step     checks.StepID
	titleKey string
}{
	railConnectivity: {step: checks.StepConnectivity, titleKey: "tui.rail.connectivity"},
	railDNS:          {step: checks.StepDNS, titleKey: "tui.rail.dns"},
	railMagicDNS:     {step: checks.StepMagicDNS, titleKey: "tui.rail.magicdns"},
	railTrace:        {step: checks.StepTrace, titleKey: "tui.rail.trace"},
	railRules:        {step: checks.StepRules, titleKey: "tui.rail.rules"},
	railRemedies:     {titleKey: "tui.rail.remedies"},
	railVerify:       {titleKey: "tui.rail.verify"},
}

// screen is what the content pane shows.
type screen int

const (
	screenStep     screen = iota // one of the diagnosis steps
	screenRemedies               // the table
	screenPlan                   // a remedy's plan, waiting for yes
	screenApplying               // the change is under way
	screenVerify                 // the outcome
)

// Options configure the wizard.
type Options struct {
	Lang i18n.Lang
	// ReportDir is where r saves the incident report (default: the current
	// directory).
	ReportDir string
	// Now is the clock (tests fix it).
	Now func() time.Time
	// Hostname names the host in the incident report (default: the
	// kernel's host name).
	Hostname string
}

// Model is the wizard.
type Model struct {
	eng  Engine
	opts Options
	ctx  context.Context
	lang i18n.Lang

	width, height int
	st            styles
	keys          keyMap
	help          help.Model
	spin          spinner.Model

	events   chan tea.Msg
	findings map[checks.StepID]checks.Finding
	report   *checks.Report

	cur      int // rail position
	screen   screen
	why      bool
	showHelp bool
	scroll   int

	traceAsked, traceRunning, traceDeclined bool
	trace                                   *checks.Finding
	// retrace is the packet trace after a remedy (verify screen), run
	// only when the user agreed to the trace before.
	retrace   *checks.Finding
	retracing bool

	applies     []fixes.Applicability // per remedy, in fixes.All() order
	sel         int
	recommended fixes.ID
	recReason   i18n.Msg
	remedy      fixes.Remedy
	plan        *fixes.Plan
	planErr     error
	entry       *fixes.Entry
	applyErr    error
	verified    *fixes.Verification
	undone      []fixes.UndoResult
	undoErr     error
	confirmQuit bool
	status      string
}

// New returns the wizard over eng.
func New(ctx context.Context, eng Engine, o Options) *Model {
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Model{eng: eng, opts: o, ctx: ctx, lang: o.Lang, width: 80, height: 24,
		st: newStyles(true), keys: newKeyMap(o.Lang), help: help.New(),
		spin: spinner.New(spinner.WithSpinner(spinner.Dot)), findings: map[checks.StepID]checks.Finding{}}
	m.help.Styles = help.DefaultStyles(true)
	return m
}

// Messages: each is the result of one command.
type (
	findingMsg  struct{ f checks.Finding }
	diagDoneMsg struct {
		rep     checks.Report
		applies []fixes.Applicability
	}
	traceMsg   struct{ f checks.Finding }
	retraceMsg struct{ f checks.Finding }
	planMsg    struct {
		plan *fixes.Plan
		err  error
	}
	appliedMsg struct {
		entry *fixes.Entry
		err   error
		v     *fixes.Verification
	}
	undoneMsg struct {
		res []fixes.UndoResult
		err error
	}
	reportMsg struct {
		path string
		err  error
	}
)

// appliesAt reports for remedy i (fixes.All() order).
func (m *Model) appliesAt(i int) fixes.Applicability {
	if i < len(m.applies) {
		return m.applies[i]
	}
	return fixes.Applicability{Fit: fixes.Fits}
}

// Init starts the diagnosis at once: the counters method changes nothing,
// so it needs no question.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.spin.Tick, m.startDiagnosis(), tea.RequestBackgroundColor)
}

func (m *Model) startDiagnosis() tea.Cmd {
	ch := make(chan tea.Msg, len(checks.Steps)+1)
	m.events = ch
	go func() {
		rep := m.eng.Diagnose(m.ctx, func(f checks.Finding) { ch <- findingMsg{f} })
		// Whether each remedy applies reads files and runs the CLI: once,
		// here, not on every frame of the remedies table.
		var ap []fixes.Applicability
		for _, r := range fixes.All() {
			ap = append(ap, m.eng.Applies(r, rep))
		}
		ch <- diagDoneMsg{rep, ap}
		close(ch)
	}()
	return waitFor(ch)
}

// waitFor delivers the next streamed message.
func waitFor(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		return m, nil
	case tea.BackgroundColorMsg:
		m.st = newStyles(msg.IsDark())
		m.help.Styles = help.DefaultStyles(msg.IsDark())
		return m, nil
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case findingMsg:
		m.findings[msg.f.ID] = msg.f
		return m, waitFor(m.events)
	case diagDoneMsg:
		rep := msg.rep
		m.report, m.applies = &rep, msg.applies
		for _, f := range rep.Steps {
			m.findings[f.ID] = f
		}
		m.recommend()
		return m, nil
	case traceMsg:
		f := msg.f
		m.trace, m.traceRunning = &f, false
		return m, nil
	case planMsg:
		m.plan, m.planErr = msg.plan, msg.err
		return m, nil
	case appliedMsg:
		m.entry, m.applyErr, m.verified = msg.entry, msg.err, msg.v
		m.screen, m.cur = screenVerify, railVerify
		if msg.err == nil && m.trace != nil && m.eng.Root() {
			// Show the rule that now lets the replies in.
			m.retracing, m.retrace = true, nil
			return m, tea.Batch(m.spin.Tick, func() tea.Msg { return retraceMsg{m.eng.PathTrace(m.ctx)} })
		}
		return m, nil
	case retraceMsg:
		f := msg.f
		m.retrace, m.retracing = &f, false
		return m, nil
	case undoneMsg:
		m.undone, m.undoErr = msg.res, msg.err
		return m, nil
	case reportMsg:
		if msg.err != nil {
			m.status = m.t("tui.report.failed", msg.err.Error())
		} else {
			m.status = m.t("tui.report.saved", msg.path)
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) busy() bool { return m.screen == screenApplying || m.traceRunning }

func (m *Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	if m.confirmQuit {
		switch {
		case key.Matches(msg, k.Yes):
			return m, tea.Quit
		case key.Matches(msg, k.No, k.Back):
			m.confirmQuit = false
		}
		return m, nil
	}
	if m.showHelp {
		if key.Matches(msg, k.Help, k.Back, k.Quit) {
			m.showHelp = false
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		if m.busy() {
			m.confirmQuit = true
			return m, nil
		}
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return m, nil
	case key.Matches(msg, k.Report):
		return m, m.saveReport()
	}
	if m.busy() {
		return m, nil
	}
	switch m.screen {
	case screenStep:
		return m.stepKey(msg)
	case screenRemedies:
		return m.remediesKey(msg)
	case screenPlan:
		return m.planKey(msg)
	case screenVerify:
		return m.verifyKey(msg)
	}
	return m, nil
}

func (m *Model) stepKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Why):
		m.why = !m.why
	case key.Matches(msg, k.Down):
		m.scroll++
	case key.Matches(msg, k.Up):
		if m.scroll > 0 {
			m.scroll--
		}
	case key.Matches(msg, k.Yes) && m.cur == railTrace && m.traceAsked && m.trace == nil && !m.traceDeclined && m.eng.Root():
		m.traceRunning, m.traceDeclined = true, false
		return m, tea.Batch(m.spin.Tick, func() tea.Msg { return traceMsg{m.eng.Trace(m.ctx)} })
	case key.Matches(msg, k.No) && m.cur == railTrace && m.traceAsked && m.trace == nil:
		m.traceDeclined = true
	case key.Matches(msg, k.Next):
		if m.cur == railTrace && !m.traceAsked && m.report != nil {
			// Entering the trace step shows the question first.
			m.traceAsked = true
		}
		m.go2(m.cur + 1)
	case key.Matches(msg, k.Back):
		m.go2(m.cur - 1)
	}
	return m, nil
}

// go2 moves along the rail; the remedies need the whole diagnosis.
func (m *Model) go2(i int) {
	if i < 0 || i > railRemedies || i == railRemedies && m.report == nil {
		return
	}
	m.cur, m.scroll = i, 0
	if i == railTrace && m.report != nil {
		m.traceAsked = true
	}
	if i == railRemedies {
		m.screen = screenRemedies
	} else {
		m.screen = screenStep
	}
}

func (m *Model) remediesKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Up):
		if m.sel > 0 {
			m.sel--
		}
	case key.Matches(msg, k.Down):
		if m.sel < len(fixes.All())-1 {
			m.sel++
		}
	case key.Matches(msg, k.Why):
		m.why = !m.why
	case key.Matches(msg, k.Back):
		m.go2(railRules)
	case key.Matches(msg, k.Next):
		r := fixes.All()[m.sel]
		m.remedy, m.plan, m.planErr, m.screen, m.scroll = r, nil, nil, screenPlan, 0
		rep := *m.report
		return m, func() tea.Msg {
			p, err := m.eng.Plan(m.ctx, r, rep)
			return planMsg{p, err}
		}
	}
	return m, nil
}

func (m *Model) planKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back, k.No):
		m.screen, m.plan, m.planErr = screenRemedies, nil, nil
	case key.Matches(msg, k.Down):
		m.scroll++
	case key.Matches(msg, k.Up):
		if m.scroll > 0 {
			m.scroll--
		}
	case key.Matches(msg, k.Yes):
		if m.plan == nil || !m.eng.Root() {
			return m, nil
		}
		p, id := m.plan, m.remedy.Info().ID
		m.screen = screenApplying
		return m, tea.Batch(m.spin.Tick, func() tea.Msg {
			e, err := m.eng.Apply(m.ctx, p)
			if err != nil {
				return appliedMsg{entry: e, err: err}
			}
			v := m.eng.Verify(m.ctx, id, p)
			return appliedMsg{entry: e, v: &v}
		})
	}
	return m, nil
}

func (m *Model) verifyKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Undo):
		if m.entry == nil || m.undone != nil {
			return m, nil
		}
		return m, func() tea.Msg {
			res, err := m.eng.Undo(m.ctx)
			return undoneMsg{res, err}
		}
	case key.Matches(msg, k.Yes) && m.plan != nil && m.plan.Manual:
		p, id := m.plan, m.remedy.Info().ID
		return m, func() tea.Msg { v := m.eng.Verify(m.ctx, id, p); return appliedMsg{v: &v} }
	case key.Matches(msg, k.Back):
		m.screen, m.cur = screenRemedies, railRemedies
	}
	return m, nil
}

// recommend picks the remedy for this host and says why, from what the
// diagnosis found (the remedies make their own case).
func (m *Model) recommend() {
	rec := fixes.Recommend(*m.report)
	m.recommended, m.recReason = rec.ID, i18n.Raw(rec.Text(m.lang))
	if len(rec.Why) == 1 {
		m.recReason = rec.Why[0]
	}
	for i, r := range fixes.All() {
		if rec.ID != 0 && r.Info().ID == rec.ID {
			m.sel = i
		}
	}
}

// Run starts the wizard on the terminal.
func Run(ctx context.Context, eng Engine, o Options, progOpts ...tea.ProgramOption) error {
	m := New(ctx, eng, o)
	opts := append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(os.Stderr)}, progOpts...)
	_, err := tea.NewProgram(m, opts...).Run()
	return err
}
