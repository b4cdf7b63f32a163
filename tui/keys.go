package tui

import (
	"charm.land/bubbles/v2/key"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// keyMap holds every binding with its help text, so the footer and the ?
// overlay are generated from it and never written twice.
type keyMap struct {
	Next, Back, Up, Down, Why, Yes, No, Undo, Report, Help, Quit key.Binding
}

func newKeyMap(l i18n.Lang) keyMap {
	b := func(keys []string, label, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(label, i18n.T(l, desc)))
	}
	return keyMap{
		Next:   b([]string{"enter", "right", "l"}, "enter/→", "tui.key.next"),
		Back:   b([]string{"esc", "left", "h"}, "esc/←", "tui.key.back"),
		Up:     b([]string{"up", "k"}, "↑/k", "tui.key.up"),
		Down:   b([]string{"down", "j"}, "↓/j", "tui.key.down"),
		Why:    b([]string{"w"}, "w", "tui.key.why"),
		Yes:    b([]string{"y"}, "y", "tui.key.yes"),
		No:     b([]string{"n"}, "n", "tui.key.no"),
		Undo:   b([]string{"u"}, "u", "tui.key.undo"),
		Report: b([]string{"r"}, "r", "tui.key.report"),
		Help:   b([]string{"?"}, "?", "tui.key.help"),
		Quit:   b([]string{"q", "ctrl+c"}, "q", "tui.key.quit"),
	}
}

// ShortHelp is the footer.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Next, k.Back, k.Why, k.Help, k.Quit}
}

// FullHelp is the ? overlay.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Next, k.Back, k.Up, k.Down}, {k.Why, k.Yes, k.No}, {k.Undo, k.Report, k.Help, k.Quit}}
}
