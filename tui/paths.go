package tui

import (
	"fmt"
	"strings"

	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
)

// pathGroup is the replies that took the same way through the firewall.
type pathGroup struct {
	replies []string // "100.100.2.136 UDP"
	path    nftrace.Path
}

// groupPaths folds replies whose hops and rules are the same, so four DNS
// replies dropped by one rule draw as one path.
func groupPaths(paths []nftrace.Path) []pathGroup {
	var out []pathGroup
	key := func(p nftrace.Path) string {
		var b strings.Builder
		for _, h := range p.Hops {
			fmt.Fprintf(&b, "%s|%s|%d|%s|%s\n", h.Table, h.Chain, h.Position, h.Verdict, h.Rule)
		}
		return b.String()
	}
	idx := map[string]int{}
	for _, p := range paths {
		r := fmt.Sprintf("%s %s", p.Packet.Src, strings.ToUpper(p.Packet.Proto))
		k := key(p)
		if i, ok := idx[k]; ok {
			out[i].replies = append(out[i].replies, r)
			continue
		}
		idx[k] = len(out)
		out = append(out, pathGroup{replies: []string{r}, path: p})
	}
	return out
}

// pathLines draws each reply's path hop by hop: the chain, the rule's place
// and verdict, and under it the rule as tsdoctor read it; the hop that
// decided the packet's fate is marked and coloured.
func (m *Model) pathLines(heading string, paths []nftrace.Path, w int) []string {
	if len(paths) == 0 {
		return nil
	}
	out := []string{"", m.st.heading.Render(heading)}
	for _, g := range groupPaths(paths) {
		out = append(out, wrap(m.t("tui.path.replies", strings.Join(g.replies, ", ")), w, "")...)
		final := g.path.Final()
		for i, h := range g.path.Hops {
			if h.Verdict == "continue" && i != final {
				continue // a counter or LOG rule: it decided nothing
			}
			arrow := "  → "
			if i == 0 {
				arrow = "    "
			}
			label := clean(h.Label()) // names and rules come from the host
			switch {
			case i == final && g.path.Verdict() == "drop":
				label = m.st.bad.Render(label + "  ✗ " + m.t("tui.path.dropped"))
			case i == final:
				label = m.st.ok.Render(label + "  ✓ " + m.t("tui.path.accepted"))
			}
			out = append(out, arrow+label)
			if h.Rule != "" && (h.Position > 0 || i == final) {
				out = append(out, styled(m.st.dim, wrap(clean(h.Rule), w, "        "))...)
			}
		}
		if final < 0 {
			out = append(out, styled(m.st.warn, wrap("    "+m.t("tui.path.unknown"), w, "    "))...)
		}
	}
	if m.why {
		box := m.st.box.Width(w - 2).Render(m.st.heading.Render(m.t("tui.why")) + "\n" + strings.Join(wordWrap(m.t("tui.path.why"), w-6), "\n"))
		out = append(out, "")
		out = append(out, strings.Split(box, "\n")...)
	}
	return out
}

// pathMarkdown is the paths for the incident report.
func (m *Model) pathMarkdown(heading string, paths []nftrace.Path) string {
	if len(paths) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n\n```\n", heading)
	for _, g := range groupPaths(paths) {
		fmt.Fprintf(&b, "%s: %s\n", strings.Join(g.replies, ", "), g.path)
		if f := g.path.Final(); f >= 0 && g.path.Hops[f].Rule != "" {
			fmt.Fprintf(&b, "    %s\n", g.path.Hops[f].Rule)
		}
	}
	b.WriteString("```\n")
	return b.String()
}
