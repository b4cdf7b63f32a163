package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/tsdoctor/tsdoctor/checks"
)

// saveReport writes the incident report (Markdown) for the postmortem.
func (m *Model) saveReport() tea.Cmd {
	md := m.Markdown()
	dir := m.opts.ReportDir
	if dir == "" {
		dir = "."
	}
	path := filepath.Join(dir, "tsdoctor-report-"+m.opts.Now().UTC().Format("20060102-150405")+".md")
	return func() tea.Msg {
		err := os.WriteFile(path, []byte(md), 0o600)
		if abs, aerr := filepath.Abs(path); aerr == nil {
			path = abs
		}
		return reportMsg{path, err}
	}
}

// Markdown is the incident report: findings with their evidence and the
// commands that reproduce them, the remedy applied and its verification.
func (m *Model) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n- %s: %s\n- %s: %s\n", m.t("tui.report.title"), m.t("tui.report.host"), clean(m.opts.Hostname),
		m.t("tui.report.time"), m.opts.Now().UTC().Format("2006-01-02 15:04:05 UTC"))
	if m.report != nil {
		ts := m.report.Tailscale
		fmt.Fprintf(&b, "- verdict: **%s**\n- tailscale: %s, %s, netfilter %s\n", m.report.Verdict, ts.Version, ts.BackendState, ts.NetfilterMode)
		if c := m.report.Culprit; c != nil {
			fmt.Fprintf(&b, "- culprit: %s %s/%s #%d `%s` (%d packets)\n", c.Backend, c.Table, c.Chain, c.Position, c.Text, c.Packets)
		}
		if c := m.report.Route; c != nil {
			fmt.Fprintf(&b, "- culprit: route %s table %s dev %s (%s %s)\n", c.Prefix, c.TableName(), c.Device, c.Reason, c.Peer)
		}
		for _, s := range m.report.Blocked {
			fmt.Fprintf(&b, "- blocked: %s:%d (%s)\n", s.Address, s.Port, s.Service)
		}
	}
	fmt.Fprintf(&b, "\n## %s\n", m.t("tui.report.findings"))
	for _, id := range checks.StepIDs() {
		f, ok := m.findings[id]
		if id == checks.StepTrace && m.trace != nil {
			f, ok = *m.trace, true
		}
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "\n### %s: %s\n\n%s\n", m.t(id.TitleKey()), f.Status, f.Summary.String(m.lang))
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(e.String(m.lang), "\n", " "))
		}
		if id == checks.StepTrace {
			b.WriteString(m.pathMarkdown(m.t("tui.path.before"), f.Paths))
		}
		if len(f.Commands) > 0 {
			b.WriteString("\n```\n" + strings.Join(f.Commands, "\n") + "\n```\n")
		}
	}
	fmt.Fprintf(&b, "\n## %s\n\n", m.t("tui.report.remedy"))
	if m.plan == nil || m.entry == nil && (m.verified == nil) {
		b.WriteString(m.t("tui.report.none") + "\n")
		return b.String()
	}
	info := m.remedy.Info()
	fmt.Fprintf(&b, "%d. %s", info.ID, info.Title.String(m.lang))
	if m.entry != nil {
		fmt.Fprintf(&b, " (journal %s)", m.entry.ID)
	}
	b.WriteString("\n\n```\n")
	for _, s := range m.plan.Steps {
		switch {
		case s.Command != "":
			b.WriteString(s.Command + "\n")
		case s.File != "":
			b.WriteString("# write " + s.File + "\n")
		}
	}
	b.WriteString("```\n")
	if v := m.verified; v != nil {
		fmt.Fprintf(&b, "\n## %s\n\n- passed: **%v**, verdict %s, DNS answers %v\n", m.t("tui.report.verify"), v.Passed, v.Verdict, v.DNS)
		for _, d := range v.Details {
			fmt.Fprintf(&b, "- %s\n", d.String(m.lang))
		}
		fmt.Fprintf(&b, "- %s\n- %s\n", v.Restart.String(m.lang), v.Reboot.String(m.lang))
		if m.retrace != nil {
			b.WriteString(m.pathMarkdown(m.t("tui.path.after"), m.retrace.Paths))
		}
	}
	if len(m.undone) > 0 {
		fmt.Fprintf(&b, "- undone: same as before = %v\n", m.undone[0].Same)
	}
	return b.String()
}
