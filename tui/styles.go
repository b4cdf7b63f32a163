package tui

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// styles are the wizard's looks for a light or a dark background. Colour
// is dropped by the renderer where the terminal has none or NO_COLOR is set.
type styles struct {
	title, rail, railCur, railDim, heading, dim, ok, warn, bad, accent, box, selected, cmd lipgloss.Style
}

func newStyles(dark bool) styles {
	ld := lipgloss.LightDark(dark)
	c := func(light, dark string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(dark)) }
	accent := c("#5A3FC0", "#B4A2FF")
	return styles{
		title:    lipgloss.NewStyle().Bold(true).Foreground(accent),
		rail:     lipgloss.NewStyle().Foreground(c("#333333", "#DDDDDD")),
		railCur:  lipgloss.NewStyle().Bold(true).Foreground(accent),
		railDim:  lipgloss.NewStyle().Foreground(c("#999999", "#666666")),
		heading:  lipgloss.NewStyle().Bold(true),
		dim:      lipgloss.NewStyle().Foreground(c("#8A8A8A", "#7A7A7A")),
		ok:       lipgloss.NewStyle().Foreground(c("#1A7F37", "#3FB950")),
		warn:     lipgloss.NewStyle().Foreground(c("#9A6700", "#D29922")),
		bad:      lipgloss.NewStyle().Bold(true).Foreground(c("#CF222E", "#F85149")),
		accent:   lipgloss.NewStyle().Foreground(accent),
		box:      lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(c("#BBBBBB", "#555555")).Padding(0, 1),
		selected: lipgloss.NewStyle().Bold(true).Foreground(accent),
		cmd:      lipgloss.NewStyle().Foreground(c("#0550AE", "#79C0FF")),
	}
}
