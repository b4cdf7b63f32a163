package fixes

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// systemd-resolved reads resolved.conf, then the *.conf drop-ins of these
// directories together, sorted by file name (a name in /etc hides the same
// name further down). DNS= lines add up across all of them; an empty DNS=
// drops only what was read before it.
const resolvedConfD = "/etc/systemd/resolved.conf.d"

// PublicDNSResolved is remedy 4's systemd-resolved drop-in when no other
// drop-in sorts after it; see resolvedDropInPath.
const PublicDNSResolved = resolvedConfD + "/" + resolvedDropInName

var resolvedDropInDirs = []string{
	resolvedConfD,
	"/run/systemd/resolved.conf.d",
	"/usr/local/lib/systemd/resolved.conf.d",
	"/usr/lib/systemd/resolved.conf.d",
	"/lib/systemd/resolved.conf.d",
}

// resolvedDropInName is the drop-in's name when nothing sorts after it:
// "zz-" sorts after letters and digits, where "99-" would sort before a
// cloud image's vpc.conf and leave its servers in the list.
const (
	resolvedDropInName   = "zz-tsdoctor-dns.conf"
	resolvedDropInSuffix = "tsdoctor-dns.conf"
)

// resolvedDropIns returns the names of the drop-ins resolved reads besides
// tsdoctor's own, sorted, and tsdoctor's own in /etc (any name ending in
// tsdoctor-dns.conf, as written by this or an earlier version).
func resolvedDropIns(h *Host) (others, ours []string) {
	for _, d := range resolvedDropInDirs {
		ents, err := os.ReadDir(h.path(d))
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if !strings.HasSuffix(n, ".conf") || e.IsDir() {
				continue
			}
			if d == resolvedConfD && strings.HasSuffix(n, resolvedDropInSuffix) {
				ours = append(ours, n)
			} else if !slices.Contains(others, n) {
				others = append(others, n)
			}
		}
	}
	slices.Sort(others)
	slices.Sort(ours)
	return others, ours
}

// resolvedDropInPath is where remedy 4's drop-in goes: a name that sorts
// after every other drop-in, so its empty DNS= clears every server set
// before it and nothing adds one after. An existing drop-in of ours that
// still sorts last keeps its name.
func resolvedDropInPath(others, ours []string) string {
	last := ""
	if len(others) > 0 {
		last = others[len(others)-1]
	}
	for i := len(ours) - 1; i >= 0; i-- {
		if ours[i] > last {
			return resolvedConfD + "/" + ours[i]
		}
	}
	name := resolvedDropInName
	if last >= name {
		// "<last>z-…": equal up to last's ".conf", then 'z' > '.'.
		name = strings.TrimSuffix(last, ".conf") + "z-" + resolvedDropInSuffix
	}
	return resolvedConfD + "/" + name
}

// resolvedDropInContent: the empty DNS= first drops the servers every
// earlier file set (a cloud image's vpc.conf with the VPC DNS, say), then
// the public resolvers take every domain (~.).
func resolvedDropInContent(resolvers []netip.Addr) string {
	return "# Written by tsdoctor (remedy 4, public DNS); `tsdoctor undo` removes it.\n" +
		"# Send every query (~.) to public resolvers instead of the VPC's private\n" +
		"# resolvers in 100.64.0.0/10, whose replies tailscaled's CGNAT rule drops.\n" +
		"# DNS= lines add up across resolved.conf and its drop-ins: the empty one\n" +
		"# drops the servers set before it, and this file's name sorts after every\n" +
		"# other drop-in, so nothing is read after it.\n" +
		"[Resolve]\nDNS=\nDNS=" + addrList(resolvers, " ") + "\nDomains=~.\n"
}

// planResolved: the drop-in (replacing any earlier one of ours that no
// longer sorts last), then a restart of systemd-resolved.
func planResolved(h *Host, p *Plan, resolvers []netip.Addr) error {
	others, ours := resolvedDropIns(h)
	path := resolvedDropInPath(others, ours)
	fw := FileWrite{Path: path, Content: resolvedDropInContent(resolvers), Mode: 0o644}
	same, err := fileIs(h, fw)
	if err != nil {
		return err
	}
	var stale []string
	for _, n := range ours {
		if resolvedConfD+"/"+n != path {
			stale = append(stale, resolvedConfD+"/"+n)
		}
	}
	if !same || len(stale) > 0 {
		// As for netplan: the restart that makes the restored drop-ins live
		// is the undo of a check made before writing them.
		restart := []string{"systemctl", "restart", "systemd-resolved"}
		p.addCommand([]string{"systemctl", "is-active", "systemd-resolved"}, restart)
		for _, s := range stale {
			p.addFile(FileWrite{Path: s, Remove: true})
		}
		if !same {
			p.addFile(fw)
		}
		p.addCommand(restart, nil)
	}
	if len(others) > 0 {
		p.note("fix.4.note.resolvedorder", filepath.Base(path), strings.Join(others, ", "))
	}
	p.note("fix.4.note.resolved")
	return nil
}
