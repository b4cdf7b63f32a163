package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"charm.land/lipgloss/v2/table"

	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// The remedies table's words, as literal keys the i18n key test can check.
var (
	levelKeys = map[fixes.Level]string{fixes.Low: "tui.level.low", fixes.Medium: "tui.level.medium", fixes.High: "tui.level.high"}
	lastsKeys = map[fixes.Lasts]string{fixes.LastsYes: "tui.lasts.yes", fixes.LastsNo: "tui.lasts.no", fixes.LastsUnit: "tui.lasts.with-unit"}
)

// lastsStyle colours whether a remedy outlives a restart or a reboot.
func (m *Model) lastsStyle(l fixes.Lasts) lipgloss.Style {
	switch l {
	case fixes.LastsNo:
		return m.st.bad
	case fixes.LastsYes:
		return m.st.ok
	}
	return m.st.warn
}

// The remedies table's columns; a wide screen adds "you lose" after them.
const (
	colCursor = iota
	colName
	colInvasive
	colRestart
	colReboot
)

// remediesView is the table of remedies (lipgloss/table: fixed columns, no
// borders, a cell too long cut with "…"), the recommendation and the
// selected remedy's details.
func (m *Model) remediesView(w int) []string {
	out := wrap(m.t("tui.remedies.head"), w, "")
	wide := w >= 90
	nameW := 29
	if !wide {
		nameW = max(19, w-31)
	}
	// Each width holds one space before the next column, but the last.
	widths := []int{colCursor: 2, colName: nameW + 1, colInvasive: 9, colRestart: 10, colReboot: 8}
	headers := []string{colName: m.t("tui.col.remedy"), colInvasive: m.t("tui.col.invasive"), colRestart: m.t("tui.col.restart"), colReboot: m.t("tui.col.reboot")}
	if wide {
		widths[colReboot]++
		widths = append(widths, w-nameW-31)
		headers = append(headers, m.t("tui.col.loses"))
	}
	all := fixes.All()
	rows := make([][]string, len(all))
	for i, r := range all {
		info := r.Info()
		star, cursor := " ", ""
		if info.ID == m.recommended {
			star = "★"
		}
		if i == m.sel {
			cursor = "▸"
		}
		rows[i] = []string{cursor, fmt.Sprintf("%d %s %s", info.ID, star, m.s(info.Title)), m.t(levelKeys[info.Invasive]),
			m.t(lastsKeys[info.SurvivesRestart]), m.t(lastsKeys[info.SurvivesReboot])}
		if wide {
			rows[i] = append(rows[i], m.s(info.Loses))
		}
	}
	cell := func(row, col int) lipgloss.Style {
		s := lipgloss.NewStyle()
		switch {
		case row == table.HeaderRow:
			s = m.st.heading
		case col == colCursor:
		case !m.appliesAt(row).OK():
			s = m.st.railDim
		case row == m.sel:
			s = m.st.selected
		case col == colRestart:
			s = m.lastsStyle(all[row].Info().SurvivesRestart)
		case col == colReboot:
			s = m.lastsStyle(all[row].Info().SurvivesReboot)
		}
		if col < len(widths)-1 {
			s = s.PaddingRight(1)
		}
		return s.Width(widths[col])
	}
	tbl := table.New().Headers(headers...).Rows(rows...).StyleFunc(cell).Wrap(false).
		BorderTop(false).BorderBottom(false).BorderLeft(false).BorderRight(false).BorderColumn(false).BorderHeader(false)
	out = append(out, "")
	out = append(out, strings.Split(tbl.String(), "\n")...)
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
