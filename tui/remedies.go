package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// The remedies table's words, as literal keys the i18n key test can check.
var (
	levelKeys = map[fixes.Level]string{fixes.Low: "tui.level.low", fixes.Medium: "tui.level.medium", fixes.High: "tui.level.high"}
	lastsKeys = map[fixes.Lasts]string{fixes.LastsYes: "tui.lasts.yes", fixes.LastsNo: "tui.lasts.no", fixes.LastsUnit: "tui.lasts.with-unit"}
)

func (m *Model) lasts(l fixes.Lasts) string {
	s := m.t(lastsKeys[l])
	switch l {
	case fixes.LastsNo:
		return m.st.bad.Render(s)
	case fixes.LastsYes:
		return m.st.ok.Render(s)
	}
	return m.st.warn.Render(s)
}

func (m *Model) remediesView(w int) []string {
	out := wrap(m.t("tui.remedies.head"), w, "")
	wide := w >= 90
	nameW := 26
	if !wide {
		nameW = max(16, w-34)
	}
	head := fmt.Sprintf("  %s %s %s %s", pad(m.t("tui.col.remedy"), nameW+3), pad(m.t("tui.col.invasive"), 8), pad(m.t("tui.col.restart"), 9), pad(m.t("tui.col.reboot"), 8))
	if wide {
		head += " " + m.t("tui.col.loses")
	}
	out = append(out, "", m.st.heading.Render(head))
	for i, r := range fixes.All() {
		info := r.Info()
		ok := m.appliesAt(i).OK()
		star := " "
		if info.ID == m.recommended {
			star = "★"
		}
		cursor := "  "
		if i == m.sel {
			cursor = "▸ "
		}
		name := pad(fmt.Sprintf("%d %s %s", info.ID, star, m.s(info.Title)), nameW+3)
		row := fmt.Sprintf("%s %s %s %s", name, pad(m.t(levelKeys[info.Invasive]), 8),
			padStyled(m.lasts(info.SurvivesRestart), 9), padStyled(m.lasts(info.SurvivesReboot), 8))
		if wide {
			row += " " + ansi.Truncate(m.s(info.Loses), w-nameW-34, "…")
		}
		switch {
		case !ok:
			row = m.st.railDim.Render(ansi.Strip(row))
		case i == m.sel:
			row = m.st.selected.Render(ansi.Strip(row))
		}
		out = append(out, cursor+row)
	}
	out = append(out, "")
	if m.recReason.Key != "" {
		out = append(out, styled(m.st.accent, wrap(m.t("tui.recommended", m.s(m.recReason)), w, ""))...)
	}
	r := fixes.All()[m.sel]
	info := r.Info()
	out = append(out, "", m.st.heading.Render(fmt.Sprintf("%d. %s", info.ID, m.s(info.Title))))
	if a := m.appliesAt(m.sel); !a.OK() {
		out = append(out, styled(m.st.warn, wrap(m.t("tui.notapplies", m.s(a.Why)), w, ""))...)
	}
	for _, d := range []struct {
		labelKey string
		text     i18n.Msg
	}{{labelKey: "tui.detail.changes", text: info.Changes}, {labelKey: "tui.col.loses", text: info.Loses},
		{labelKey: "tui.detail.security", text: info.Security}, {labelKey: "tui.detail.cost", text: info.Cost}} {
		out = append(out, wrap(m.t("tui.label", m.t(d.labelKey), m.s(d.text)), w, "")...)
	}
	return out
}

// pad pads plain text to n cells.
func pad(s string, n int) string {
	if lipgloss.Width(s) > n {
		return ansi.Truncate(s, n, "…")
	}
	return s + strings.Repeat(" ", n-lipgloss.Width(s))
}

// padStyled pads styled text by its visible width.
func padStyled(s string, n int) string {
	if pw := n - lipgloss.Width(s); pw > 0 {
		return s + strings.Repeat(" ", pw)
	}
	return s
}
