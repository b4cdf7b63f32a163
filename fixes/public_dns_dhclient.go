package fixes

import (
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// DhclientConf is Debian's (ifupdown) dhclient configuration, which
// remedy 4 edits.
const DhclientConf = "/etc/dhcp/dhclient.conf"

// The lines that enclose tsdoctor's block in dhclient.conf.
const (
	dhclientBegin = "# tsdoctor public-dns begin"
	dhclientEnd   = "# tsdoctor public-dns end"
)

// dhclientManaged: Debian's ifupdown runs dhclient, which writes
// resolv.conf from each lease.
func dhclientManaged(h *Host) (bool, error) {
	if _, _, ok, err := h.readFile(DhclientConf); err != nil || ok {
		return ok, err
	}
	files := []string{"/etc/network/interfaces"}
	more, _ := filepath.Glob(h.path("/etc/network/interfaces.d/*"))
	for _, f := range more {
		files = append(files, filepath.Join("/etc/network/interfaces.d", filepath.Base(f)))
	}
	for _, f := range files {
		b, _, ok, err := h.readFile(f)
		if err != nil || !ok {
			continue // unreadable: not evidence either way
		}
		for line := range strings.Lines(string(b)) {
			fl := strings.Fields(line)
			if len(fl) >= 4 && fl[0] == "iface" && fl[3] == "dhcp" {
				return true, nil
			}
		}
	}
	return false, nil
}

// planDhclient: dhclient keeps the resolvers at every lease (supersede),
// and resolv.conf gets them now.
func planDhclient(h *Host, p *Plan, m ResolverManager, resolvers []netip.Addr) error {
	old, mode, exists, err := readConfig(h, DhclientConf)
	if err != nil {
		return err
	}
	block := dhclientBegin + "\n" +
		"# Added by tsdoctor (remedy 4): use public resolvers instead of the VPC's\n" +
		"# private resolvers in 100.64.0.0/10, whose replies tailscaled's CGNAT\n" +
		"# rule drops.\n" +
		"# `tsdoctor undo` removes this block.\n" +
		"supersede domain-name-servers " + addrList(resolvers, ", ") + ";\n" +
		dhclientEnd + "\n"
	content, err := withBlock(string(old), block)
	if err != nil {
		return failureOf(err, i18n.M("fix.err.4.in", DhclientConf, err))
	}
	if !exists {
		mode = 0o644
	}
	if !exists || content != string(old) {
		p.addFile(FileWrite{Path: DhclientConf, Content: content, Mode: uint32(mode)})
	}
	planResolvConf(p, m, resolvers)
	p.note("fix.4.note.dhclient", DhclientConf)
	return nil
}

// withBlock puts block (which starts with the begin line and ends with the
// end line) in place of the marked block in text, or appends it.
func withBlock(text, block string) (string, error) {
	lines := strings.SplitAfter(text, "\n")
	begin, end := -1, -1
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case dhclientBegin:
			if begin >= 0 {
				return "", failure(i18n.M("fix.err.4.twobegin", dhclientBegin))
			}
			begin = i
		case dhclientEnd:
			if begin < 0 || end >= 0 {
				return "", failure(i18n.M("fix.err.4.strayend", dhclientEnd))
			}
			end = i
		}
	}
	switch {
	case begin >= 0 && end < 0:
		return "", failure(i18n.M("fix.err.4.noend", dhclientBegin, dhclientEnd))
	case begin >= 0:
		return strings.Join(lines[:begin], "") + block + strings.Join(lines[end+1:], ""), nil
	case text == "":
		return block, nil
	case !strings.HasSuffix(text, "\n"):
		text += "\n"
	}
	return text + "\n" + block, nil
}
