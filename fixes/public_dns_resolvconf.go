package fixes

import (
	"net/netip"
	"strings"
)

// planResolvConf rewrites resolv.conf (where its link ends) with the
// resolvers, unless it already lists exactly them.
func planResolvConf(p *Plan, m ResolverManager, resolvers []netip.Addr) {
	content := rewriteNameservers(string(m.resolvConf), resolvers)
	if m.ResolvConfExists && content == string(m.resolvConf) {
		return
	}
	mode := m.resolvMode
	if !m.ResolvConfExists || mode == 0 {
		mode = 0o644
	}
	p.addFile(FileWrite{Path: m.ResolvConf, Content: content, Mode: uint32(mode), Regenerated: m.Kind == ManagerDhclient})
}

// rewriteNameservers replaces the nameserver lines of resolv.conf text with
// the resolvers, where the first one was (else at the end), and keeps
// every other line (search, options, comments) as it is.
func rewriteNameservers(text string, resolvers []netip.Addr) string {
	var ns strings.Builder
	for _, a := range resolvers {
		ns.WriteString("nameserver " + a.String() + "\n")
	}
	var out strings.Builder
	done := false
	for line := range strings.Lines(text) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "nameserver" {
			if !done {
				out.WriteString(ns.String())
				done = true
			}
			continue
		}
		out.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			out.WriteByte('\n')
		}
	}
	if !done {
		out.WriteString(ns.String())
	}
	return out.String()
}
