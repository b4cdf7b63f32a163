package tui

import (
	"fmt"
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

const railWidth = 18

// The smallest screen the rail and the content fit on; below it the wizard
// asks for a larger window (its keys still work).
const minWidth, minHeight = 40, 10

// View renders the whole screen, in the alternate screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "tsdoctor"
	return v
}

// Render is the screen as text (with styles): exactly width × height cells,
// whatever the report holds and however small the terminal is.
func (m *Model) Render() string {
	w, h := max(m.width, 1), max(m.height, 1)
	var lines []string
	if w < minWidth || h < minHeight {
		lines = wrap(m.t("tui.toosmall", minWidth, minHeight, w, h), w, "")
	} else {
		header := m.header(w)
		footer := splitLines(m.footer(w))
		// The footer (a question stays in sight) takes what it needs but
		// leaves the body a line; beyond that its first lines go, the
		// keys stay.
		footer = footer[max(0, len(footer)-(h-3)):]
		body := m.body(w, h-2-len(footer))
		lines = append([]string{header, m.st.dim.Render(strings.Repeat("─", w))}, body...)
		lines = append(lines, footer...)
	}
	lines = lines[:min(len(lines), h)]
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = fit(l, w)
	}
	return strings.Join(lines, "\n")
}

// fit cuts or pads a line to exactly w cells.
func fit(s string, w int) string {
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - ansi.StringWidth(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// splitLines makes each element one screen line: a line break inside
// one (a box, a multi-line message) becomes lines of its own.
func splitLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, strings.Split(l, "\n")...)
	}
	return out
}

// clean makes text from the host safe to draw: valid UTF-8, tabs as
// spaces, and no control character (a report's text must not move the
// cursor, clear the screen or retitle the terminal): each shows as U+FFFD.
func clean(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\t", "    ")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\r':
			return -1
		case unicode.IsControl(r):
			return '\uFFFD'
		}
		return r
	}, s)
}

// t and s render a message for the screen; clean, because the arguments
// (addresses, versions, rule text, errors) come from the host.
func (m *Model) t(key string, args ...any) string { return clean(i18n.T(m.lang, key, args...)) }
func (m *Model) s(msg i18n.Msg) string            { return clean(msg.String(m.lang)) }

func (m *Model) header(w int) string {
	title := m.st.title.Render(m.t("tui.title"))
	var verdict string
	v := checks.Verdict("")
	if m.report != nil {
		v = m.report.Verdict
	}
	if m.verified != nil && m.verified.Verdict != "" && len(m.undone) == 0 {
		v = m.verified.Verdict // after a remedy: the host as it is now
	}
	switch {
	case m.report == nil:
		verdict = m.spin.View() + " " + m.t("tui.verdict.pending")
	case v == checks.Healthy:
		verdict = m.st.ok.Render("✓ " + m.t("tui.verdict.healthy"))
	case v == checks.Blocked && m.report.Route != nil:
		verdict = m.st.bad.Render("✗ " + m.t("tui.verdict.route"))
	case v == checks.Blocked:
		verdict = m.st.bad.Render("✗ " + m.t("tui.verdict.blocked"))
	case v == checks.Degraded:
		verdict = m.st.warn.Render("! " + m.t("tui.verdict.degraded"))
	default:
		verdict = m.st.warn.Render("? " + m.t("tui.verdict.error"))
	}
	gap := w - lipgloss.Width(title) - lipgloss.Width(verdict)
	if gap < 1 {
		title = m.st.title.Render("tsdoctor")
		gap = max(1, w-lipgloss.Width(title)-lipgloss.Width(verdict))
	}
	return title + strings.Repeat(" ", gap) + verdict
}

func (m *Model) footer(w int) []string {
	var out []string
	if !m.eng.Root() {
		out = append(out, m.st.warn.Render(m.t("tui.readonly")))
	}
	switch {
	case m.confirmQuit:
		out = append(out, m.st.bad.Render(m.t("tui.quit.busy")))
	case m.prompt() != "":
		// The question stays in sight however long the plan is.
		for _, l := range wrap(m.prompt(), w, "") {
			out = append(out, m.st.accent.Render(l))
		}
	case m.status != "":
		out = append(out, styled(m.st.accent, wrap(m.status, w, ""))...)
	}
	out = append(out, m.help.ShortHelpView(m.keys.ShortHelp()))
	return out
}

func (m *Model) body(w, h int) []string {
	rail := m.rail()
	cw := w - railWidth - 3
	var content []string
	if m.showHelp {
		content = splitLines(m.helpOverlay(cw))
	} else {
		content = splitLines(m.content(cw))
		// Scroll, keeping the last screenful reachable.
		if m.scroll > len(content)-h {
			m.scroll = max(0, len(content)-h)
		}
		content = content[min(m.scroll, len(content)):]
	}
	out := make([]string, max(h, 0))
	for i := range out {
		var r, c string
		if i < len(rail) {
			r = rail[i]
		}
		if i < len(content) {
			c = content[i]
		}
		out[i] = fit(r, railWidth) + m.st.dim.Render(" │ ") + c
	}
	return out
}

func (m *Model) stepMark(id checks.StepID) string {
	if f, ok := m.findings[id]; ok {
		switch f.Status {
		case checks.Pass:
			return m.st.ok.Render("✓")
		case checks.Warn:
			return m.st.warn.Render("!")
		case checks.Fail:
			return m.st.bad.Render("✗")
		default:
			return m.st.dim.Render("-")
		}
	}
	if m.report == nil {
		return m.spin.View()
	}
	return m.st.dim.Render("·")
}

func (m *Model) rail() []string {
	var out []string
	for i, r := range rail {
		var mark string
		switch i {
		case railRemedies:
			mark = m.st.dim.Render("·")
			if m.report != nil && (m.report.Culprit != nil || m.report.Route != nil) {
				mark = m.st.accent.Render("★")
			}
		case railVerify:
			mark = m.st.dim.Render("·")
			if m.verified != nil {
				mark = m.st.ok.Render("✓")
				if !m.verified.Passed {
					mark = m.st.bad.Render("✗")
				}
			}
		default:
			mark = m.stepMark(r.step)
		}
		name := m.t(r.titleKey)
		style := m.st.rail
		prefix := "  "
		if i == m.cur {
			style, prefix = m.st.railCur, "▸ "
		} else if i == railRemedies && m.report == nil || i == railVerify && m.verified == nil {
			style = m.st.railDim
		}
		out = append(out, prefix+mark+" "+style.Render(name))
	}
	return out
}

// wrap renders text to width w, indented.
func wrap(s string, w int, indent string) []string {
	return hang(s, w, indent, indent)
}

// hang wraps s to width w: the first line after first, the others after
// rest (a bullet's text lines up under its first word).
func hang(s string, w int, first, rest string) []string {
	iw := max(lipgloss.Width(first), lipgloss.Width(rest))
	if w-iw < 10 {
		w = iw + 10
	}
	lines := wordWrap(s, w-iw)
	for i := range lines {
		p := rest
		if i == 0 {
			p = first
		}
		lines[i] = p + lines[i]
	}
	return lines
}

// wordWrap breaks plain text at spaces only, so "-j" or "--sport" stay
// whole; a word wider than the line (a long path, a run of CJK text, which
// may break anywhere) is cut at the width.
func wordWrap(s string, width int) []string {
	width = max(width, 2) // a wide character takes two cells
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line, lw := "", 0
		for _, word := range strings.Fields(para) {
			ww := ansi.StringWidth(word)
			for ww > width {
				if lw > 0 {
					lines = append(lines, line)
					line, lw = "", 0
				}
				head := ansi.Truncate(word, width, "")
				if head == "" {
					head = word // one character wider than the line: fit cuts it
				}
				lines = append(lines, head)
				word = ansi.TruncateLeft(word, ansi.StringWidth(head), "")
				ww = ansi.StringWidth(word)
			}
			switch {
			case ww == 0:
			case lw == 0:
				line, lw = word, ww
			case lw+1+ww <= width:
				line, lw = line+" "+word, lw+1+ww
			default:
				lines = append(lines, line)
				line, lw = word, ww
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// styled renders each line with st after wrapping, so a style never runs
// across a line break into the rail.
func styled(st lipgloss.Style, lines []string) []string {
	for i, l := range lines {
		lines[i] = st.Render(l)
	}
	return lines
}

func (m *Model) content(w int) []string {
	switch m.screen {
	case screenRemedies:
		return m.remediesView(w)
	case screenPlan:
		return m.planView(w)
	case screenApplying:
		return []string{"", m.spin.View() + " " + m.t("tui.applying")}
	case screenVerify:
		return m.verifyView(w)
	}
	return m.stepView(w)
}

// findingLines is a finding's evidence under its heading; nothing when it
// has none.
func (m *Model) findingLines(f checks.Finding, w int) []string {
	ev := m.evidenceLines(f, w)
	if len(ev) == 0 {
		return nil
	}
	return append([]string{"", m.st.heading.Render(m.t("tui.evidence"))}, ev...)
}

// evidenceLines is a finding's evidence as bullets, possibly none (the
// services step on a host that is not ECS has nothing to show).
func (m *Model) evidenceLines(f checks.Finding, w int) []string {
	var out []string
	for _, e := range f.Evidence {
		out = append(out, hang(m.s(e), w, "  • ", "    ")...)
	}
	return out
}

func (m *Model) stepView(w int) []string {
	id := rail[m.cur].step
	out := []string{m.st.heading.Render(m.t(rail[m.cur].titleKey))}
	f, ok := m.findings[id]
	if !ok {
		return append(out, "", m.spin.View()+" "+m.t("tui.running"))
	}
	out = append(out, wrap(m.stepMark(id)+" "+m.s(f.Summary), w, "")...)
	if f.Elapsed > 0 {
		out = append(out, m.st.dim.Render(m.t("tui.elapsed", m.t(id.TitleKey()), f.Elapsed.Milliseconds())))
	}
	if m.why {
		// Opened on request, right under the result it explains.
		out = append(out, "")
		box := m.st.box.Width(w - 2).Render(m.st.heading.Render(m.t("tui.why")) + "\n" + strings.Join(wordWrap(m.t(f.Explain), w-6), "\n"))
		out = append(out, strings.Split(box, "\n")...)
	}
	if id == checks.StepTrace {
		// The LOG trace (its question, or its result) comes first: it is
		// what the user acts on here.
		out = append(out, m.traceLines(w)...)
	}
	out = append(out, m.findingLines(f, w)...)
	if id == checks.StepRules {
		if s, ok := m.findings[checks.StepServices]; ok {
			// Under the rules, as their own paragraph: heading and
			// summary, then the bullets without a second evidence heading.
			out = append(out, "")
			out = append(out, hang(m.s(s.Summary), w, m.st.heading.Render(m.t("step.services"))+"  ", "")...)
			out = append(out, m.evidenceLines(s, w)...)
		}
	}
	if len(f.Commands) > 0 {
		out = append(out, "", m.st.heading.Render(m.t("tui.byhand")))
		for _, c := range f.Commands {
			out = append(out, styled(m.st.cmd, wrap("$ "+clean(c), w, "  "))...)
		}
	}
	if !m.why {
		out = append(out, "", m.st.dim.Render(m.t("tui.why.hint")))
	}
	return out
}

func (m *Model) traceLines(w int) []string {
	var out []string
	switch {
	case m.trace != nil:
		out = append(out, "", m.st.heading.Render(m.t("tui.rail.trace")))
		out = append(out, wrap(m.s(m.trace.Summary), w, "")...)
		out = append(out, m.pathLines(m.t("tui.path.before"), m.trace.Paths, w)...)
		out = append(out, m.findingLines(*m.trace, w)...)
	case m.traceRunning:
		out = append(out, "", m.spin.View()+" "+m.t("tui.trace.running"))
	case !m.eng.Root():
		out = append(out, "", m.st.warn.Render(m.t("tui.trace.noroot")))
	case m.traceDeclined:
		out = append(out, "", m.st.dim.Render(m.t("tui.trace.declined")))
	case m.report != nil:
		out = append(out, "")
		out = append(out, wrap(m.t("tui.trace.counters"), w, "")...)
		out = append(out, styled(m.st.cmd, wrap("$ "+clean(m.eng.TraceCommand(*m.report)), w, "  "))...)
		out = append(out, wrap(m.t("tui.trace.table"), w, "")...)
	}
	return out
}

func (m *Model) planView(w int) []string {
	info := m.remedy.Info()
	out := styled(m.st.heading, wrap(m.t("tui.plan.head", int(info.ID), m.s(info.Title)), w, ""))
	switch {
	case m.planErr != nil:
		return append(out, "", m.st.bad.Render(m.t("tui.plan.error", fixes.Message(m.planErr, m.lang))))
	case m.plan == nil:
		return append(out, "", m.spin.View())
	}
	for i, s := range m.plan.Steps {
		out = append(out, "")
		out = append(out, wrap(fmt.Sprintf("%d. %s", i+1, m.s(s.Text)), w, "")...)
		if s.Command != "" {
			out = append(out, styled(m.st.cmd, wrap("$ "+clean(s.Command), w, "   "))...)
		}
		if s.Content != "" {
			for _, line := range strings.Split(strings.TrimRight(s.Content, "\n"), "\n") {
				out = append(out, m.st.dim.Render("   │ ")+clean(line))
			}
		}
	}
	if len(m.plan.Notes) > 0 {
		out = append(out, "")
		for _, n := range m.plan.Notes {
			out = append(out, hang(m.s(n), w, "! ", "  ")...)
		}
	}
	return out
}

// prompt is the question the current screen waits on, shown in the footer.
func (m *Model) prompt() string {
	switch {
	case m.showHelp:
		return ""
	case m.screen == screenPlan && m.plan != nil:
		switch {
		case !m.eng.Root():
			return m.t("tui.plan.readonly")
		case m.plan.Manual:
			return m.t("tui.plan.manual")
		case m.plan.Nothing():
			return m.t("tui.plan.nothing")
		}
		return m.t("tui.plan.confirm")
	case m.screen == screenStep && m.cur == railTrace && m.report != nil && m.trace == nil &&
		!m.traceRunning && !m.traceDeclined && m.eng.Root():
		return m.t("tui.trace.ask")
	}
	return ""
}

func (m *Model) verifyView(w int) []string {
	info := m.remedy.Info()
	var out []string
	title := m.s(info.Title)
	switch {
	case m.applyErr != nil:
		out = append(out, styled(m.st.bad, wrap(m.t("tui.applyfailed", fixes.Message(m.applyErr, m.lang)), w, ""))...)
	case m.verified != nil && m.verified.Passed:
		out = append(out, m.st.ok.Render("✓ "+m.t("tui.verified", title)))
	default:
		out = append(out, m.st.bad.Render("✗ "+m.t("tui.notverified", title)))
	}
	if m.entry != nil {
		out = append(out, styled(m.st.dim, wrap(m.t("tui.applied", m.entry.ID), w, ""))...)
	}
	if v := m.verified; v != nil {
		out = append(out, "")
		// The rest of the host as the fresh check saw it: internet by IP,
		// and Tailscale itself (SSH over Tailscale must still work).
		for _, f := range v.Report.Steps {
			if f.ID == checks.StepConnectivity {
				out = append(out, hang(m.s(f.Summary), w, "• ", "  ")...)
			}
		}
		if ts := v.Report.Tailscale; ts.Installed {
			out = append(out, hang(m.t("tui.verify.tailscale", ts.Version, ts.BackendState, string(ts.NetfilterMode)), w, "• ", "  ")...)
		}
		for _, d := range v.Details {
			out = append(out, hang(m.s(d), w, "• ", "  ")...)
		}
		for _, b := range v.Blocked {
			out = append(out, styled(m.st.warn, wrap("• "+m.t("fixcli.blocked", b.Address.String(), fmt.Sprint(b.Port), b.Service), w, ""))...)
		}
		out = append(out, "")
		out = append(out, wrap(m.t("tui.onrestart", m.s(v.Restart)), w, "")...)
		out = append(out, wrap(m.t("tui.onreboot", m.s(v.Reboot)), w, "")...)
	}

	out = append(out, "", m.st.heading.Render(m.t("tui.next")))
	if next := m.nextStep(); next != "" {
		out = append(out, wrap(next, w, "")...)
	}
	switch {
	case m.undoErr != nil:
		out = append(out, styled(m.st.bad, wrap(clean(fixes.Message(m.undoErr, m.lang)), w, ""))...)
	case len(m.undone) > 0 && m.undone[0].Same && len(m.undone[0].LeftAlone) > 0:
		out = append(out, styled(m.st.ok, wrap(m.t("tui.undone.rest"), w, ""))...)
	case len(m.undone) > 0 && m.undone[0].Same:
		out = append(out, m.st.ok.Render(m.t("tui.undone")))
	case len(m.undone) > 0:
		out = append(out, styled(m.st.warn, wrap(m.t("tui.undone.diff", strings.Join(m.undone[0].Differences, "; ")), w, ""))...)
	default:
		out = append(out, m.st.dim.Render(m.t("tui.next.undo")))
	}
	if len(m.undone) > 0 {
		// What changed since the fix and was left as tailscaled has it.
		for _, l := range m.undone[0].LeftAlone {
			out = append(out, wrap(m.s(l), w, "  ")...)
		}
	}
	switch {
	case m.retracing:
		out = append(out, "", m.spin.View()+" "+m.t("tui.path.tracing"))
	case m.retrace != nil && len(m.retrace.Paths) > 0:
		out = append(out, m.pathLines(m.t("tui.path.after"), m.retrace.Paths, w)...)
	case m.retrace != nil:
		// No path (iptables-legacy, or the trace failed): say why.
		out = append(out, "", m.st.heading.Render(m.t("tui.path.after")))
		for _, e := range m.retrace.Evidence {
			if strings.HasPrefix(e.Key, "path.") {
				out = append(out, styled(m.st.dim, wrap(m.s(e), w, ""))...)
			}
		}
	}
	return out
}

func (m *Model) nextStep() string {
	if m.plan == nil {
		return ""
	}
	switch m.remedy.Info().ID {
	case fixes.DeleteDropID:
		return m.t("tui.next.delete")
	case fixes.NodeAttrID:
		if m.verified == nil || !m.verified.Passed {
			return m.t("tui.next.attr")
		}
	case fixes.WhitelistID, fixes.GuardID:
		for _, n := range m.plan.Notes {
			if n.Key == "fix.unit.nosystemd" {
				return m.t("tui.next.unit", addrs(m.plan))
			}
		}
		if m.remedy.Info().ID == fixes.GuardID {
			return m.t("tui.next.guard")
		}
	}
	return ""
}

func addrs(p *fixes.Plan) string {
	s := make([]string, len(p.Allow))
	for i, a := range p.Allow {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (m *Model) helpOverlay(w int) []string {
	box := m.st.box.Width(min(w-2, 70)).Render(m.st.heading.Render(m.t("tui.help.title")) + "\n\n" + m.help.FullHelpView(m.keys.FullHelp()))
	return strings.Split(box, "\n")
}
