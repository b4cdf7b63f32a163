package fixes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// PublicDNS is remedy 4: stop using the VPC DNS (100.100.2.136/138), whose
// replies tailscaled's CGNAT rule drops, and point the host at public
// resolvers through whatever manages its DNS, so the change lasts.
type PublicDNS struct{}

// Files remedy 4 writes (besides resolv.conf and dhclient.conf, which it
// edits).
const (
	// PublicDNSNetplan sorts after cloud-init's 50-cloud-init.yaml, so it
	// overrides it even when cloud-init regenerates that file.
	PublicDNSNetplan = "/etc/netplan/99-tsdoctor-dns.yaml"
	// PublicDNSResolved is remedy 4's systemd-resolved drop-in when no
	// other drop-in sorts after it; see resolvedDropInPath.
	PublicDNSResolved = resolvedConfD + "/" + resolvedDropInName
	// DhclientConf is Debian's (ifupdown) dhclient configuration.
	DhclientConf = "/etc/dhcp/dhclient.conf"
)

// The lines that enclose tsdoctor's block in dhclient.conf.
const (
	dhclientBegin = "# tsdoctor public-dns begin"
	dhclientEnd   = "# tsdoctor public-dns end"
)

const (
	resolvConfPath   = "/etc/resolv.conf"
	resolvedRunDir   = "/run/systemd/resolve/"
	resolvedUpstream = "/run/systemd/resolve/resolv.conf"
	netplanDir       = "/etc/netplan"
	// maxConfigSize bounds the configuration files read: none is larger
	// than a few kilobytes on a real host.
	maxConfigSize = 1 << 20
)

// ResolverKind names who manages this host's DNS settings.
type ResolverKind string

const (
	// ManagerResolvedNetplan: systemd-resolved, its links configured by
	// netplan (Ubuntu 18.04 and later, cloud-init's 50-cloud-init.yaml).
	ManagerResolvedNetplan ResolverKind = "systemd-resolved+netplan"
	// ManagerResolved: systemd-resolved without netplan.
	ManagerResolved ResolverKind = "systemd-resolved"
	// ManagerNetworkManager: NetworkManager writes resolv.conf (Alibaba
	// Cloud Linux, CentOS, Rocky).
	ManagerNetworkManager ResolverKind = "networkmanager"
	// ManagerDhclient: ifupdown's dhclient writes resolv.conf (Debian).
	ManagerDhclient ResolverKind = "dhclient"
	// ManagerStatic: nothing known manages resolv.conf.
	ManagerStatic ResolverKind = "static"
)

// ResolverManager is who manages this host's DNS, and what it uses now.
type ResolverManager struct {
	Kind ResolverKind `json:"kind"`
	// ResolvConf is the file holding resolv.conf's content:
	// /etc/resolv.conf, or where its symbolic link ends.
	ResolvConf string `json:"resolv_conf"`
	// Link is /etc/resolv.conf's link target as written, if it is a link.
	Link string `json:"link,omitempty"`
	// ResolvConfExists is false when there is no resolv.conf at all.
	ResolvConfExists bool `json:"resolv_conf_exists"`
	// Nameservers are the resolvers in use: resolv.conf's, or for
	// systemd-resolved its upstream servers when it lists them.
	Nameservers []netip.Addr `json:"nameservers"`
	// Netplan lists the netplan files read (besides tsdoctor's own).
	Netplan []string `json:"netplan,omitempty"`
	// Interfaces are the ethernet definitions found in them.
	Interfaces []string `json:"interfaces,omitempty"`
	// dhcp6 marks the interfaces that use DHCPv6: networkd wants their
	// dhcp6-overrides to match their dhcp4-overrides.
	dhcp6 map[string]bool
	// staticDNS are the nameservers the netplan files already give an
	// interface: netplan appends later files' addresses after them.
	staticDNS map[string][]string

	resolvConf []byte
	resolvMode fs.FileMode
}

// String is the manager's name as people know it.
func (m ResolverManager) String() string {
	switch m.Kind {
	case ManagerResolvedNetplan:
		return "systemd-resolved (configured by netplan)"
	case ManagerResolved:
		return "systemd-resolved"
	case ManagerNetworkManager:
		return "NetworkManager"
	case ManagerDhclient:
		return "dhclient (ifupdown)"
	case ManagerStatic:
		return "a static " + m.ResolvConf
	}
	return string(m.Kind)
}

func (PublicDNS) Info() Info {
	return Info{ID: PublicDNSID, Name: "public-dns", Title: i18n.M("fix.4.title"), Changes: i18n.M("fix.4.changes"),
		Tradeoffs: Tradeoffs{Invasive: Medium, SurvivesRestart: LastsYes, SurvivesReboot: LastsYes,
			Security: i18n.M("fix.4.security"), Loses: i18n.M("fix.4.loses"), Cost: i18n.M("fix.4.cost")}}
}

// Applies: something that manages DNS can be found, and DNS does not
// already go to the default public resolvers.
func (r PublicDNS) Applies(h *Host, rep checks.Report) (bool, i18n.Msg) {
	m, err := DetectResolverManager(h)
	if err != nil {
		return false, i18n.M("fix.why.4.nomanager", err.Error())
	}
	want := DefaultResolvers
	if sameAddrSet(m.Nameservers, want) {
		return false, i18n.M("fix.why.4.already", addrList(want, ", "))
	}
	// The file-based managers can tell without running anything whether
	// the change is already in place (systemd-resolved still lists the
	// DHCP resolvers after the global ones, say).
	if m.Kind != ManagerNetworkManager {
		if p, err := r.plan(context.Background(), h, m, want, rep); err == nil && p.Nothing() {
			return false, i18n.M("fix.why.4.already", addrList(want, ", "))
		}
	}
	return true, i18n.Msg{}
}

func (r PublicDNS) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	resolvers, err := publicResolvers(o.Resolvers)
	if err != nil {
		return nil, err
	}
	m, err := DetectResolverManager(h)
	if err != nil {
		return nil, err
	}
	return r.plan(ctx, h, m, resolvers, rep)
}

func (PublicDNS) plan(ctx context.Context, h *Host, m ResolverManager, resolvers []netip.Addr, rep checks.Report) (*Plan, error) {
	p := &Plan{Remedy: PublicDNSID}
	switch m.Kind {
	case ManagerResolvedNetplan:
		if err := planNetplan(h, p, m, resolvers); err != nil {
			return nil, err
		}
	case ManagerResolved:
		if err := planResolved(h, p, resolvers); err != nil {
			return nil, err
		}
	case ManagerNetworkManager:
		if err := planNetworkManager(ctx, h, p, resolvers); err != nil {
			return nil, err
		}
	case ManagerDhclient:
		if err := planDhclient(h, p, m, resolvers); err != nil {
			return nil, err
		}
	case ManagerStatic:
		planResolvConf(p, m, resolvers)
		p.note("fix.4.note.static", m.ResolvConf)
	default:
		return nil, fmt.Errorf("unknown DNS manager %q", m.Kind)
	}
	if m.Link != "" && m.ResolvConf != resolvConfPath && (m.Kind == ManagerDhclient || m.Kind == ManagerStatic) {
		p.note("fix.4.note.symlink", m.ResolvConf)
	}
	p.note("fix.4.note.manager", m.String())
	p.note("fix.4.note.internal")
	var other []string
	for _, b := range rep.Blocked {
		if b.Service != "dns" && !slices.Contains(other, b.Address.String()) {
			other = append(other, b.Address.String())
		}
	}
	if len(other) > 0 {
		p.note("fix.4.note.stillblocked", strings.Join(other, ", "))
	}
	return p, nil
}

// publicResolvers checks --dns: IPv4 unicast addresses outside
// 100.64.0.0/10, at most three (glibc reads no more). None means Alibaba's
// public resolvers.
func publicResolvers(in []netip.Addr) ([]netip.Addr, error) {
	if len(in) == 0 {
		return slices.Clone(DefaultResolvers), nil
	}
	var out []netip.Addr
	for _, a := range in {
		a = a.Unmap()
		switch {
		case !a.IsValid():
			return nil, errors.New("an empty resolver address: give public IPv4 resolvers like --dns 223.5.5.5,223.6.6.6")
		case a.Is6():
			return nil, fmt.Errorf("%s is an IPv6 address: remedy 4 sets IPv4 resolvers (DHCPv4's domain-name-servers, NetworkManager's ipv4.dns); give addresses like 223.5.5.5,223.6.6.6", a)
		case hostinfo.CGNAT.Contains(a):
			return nil, fmt.Errorf("%s is inside 100.64.0.0/10: tailscaled's rule drops its replies just like the VPC DNS's; give public resolvers like 223.5.5.5,223.6.6.6", a)
		case a.IsLoopback(), a.IsUnspecified(), a.IsMulticast(), a.IsLinkLocalUnicast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return nil, fmt.Errorf("%s cannot be a DNS resolver: give public resolvers like 223.5.5.5,223.6.6.6", a)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) > 3 {
		return nil, fmt.Errorf("%d resolvers given: resolv.conf uses only the first 3, give at most 3", len(out))
	}
	return out, nil
}

// DetectResolverManager works out who manages DNS on h, from files under
// h.Root only: systemd-resolved (with or without netplan), NetworkManager,
// dhclient, or nobody (a static resolv.conf).
func DetectResolverManager(h *Host) (ResolverManager, error) {
	var m ResolverManager
	target, link, viaResolved, err := resolvConfTarget(h)
	if err != nil {
		return m, err
	}
	m.ResolvConf, m.Link = target, link
	content, mode, exists, err := readConfig(h, target)
	if err != nil {
		return m, err
	}
	m.ResolvConfExists, m.resolvConf, m.resolvMode = exists, content, mode
	rc := hostinfo.ParseResolvConf(string(content))
	m.Nameservers = rc.Nameservers

	switch {
	case viaResolved || slices.Contains(rc.Nameservers, hostinfo.StubResolver):
		m.Kind = ManagerResolved
		// The stub hides the real servers; resolved lists them here.
		if b, _, ok, err := readConfig(h, resolvedUpstream); err == nil && ok {
			if up := hostinfo.ParseResolvConf(string(b)).Nameservers; len(up) > 0 && !slices.Contains(up, hostinfo.StubResolver) {
				m.Nameservers = up
			}
		}
		files, err := netplanFiles(h)
		if err != nil {
			return m, err
		}
		if len(files) > 0 {
			m.Kind = ManagerResolvedNetplan
			m.dhcp6, m.staticDNS = map[string]bool{}, map[string][]string{}
			for _, f := range files {
				if f == PublicDNSNetplan {
					continue // ours: its names are the ones found before
				}
				b, _, _, err := readConfig(h, f)
				if err != nil {
					return m, err
				}
				ifaces, err := parseNetplanEthernets(b)
				if err != nil {
					return m, fmt.Errorf("cannot read netplan file %s: %w (netplan apply would fail on it too: fix it, or choose another remedy)", f, err)
				}
				m.Netplan = append(m.Netplan, f)
				for _, i := range ifaces {
					if _, seen := m.dhcp6[i.name]; !seen {
						m.Interfaces = append(m.Interfaces, i.name)
					}
					m.dhcp6[i.name] = m.dhcp6[i.name] || i.dhcp6
					m.staticDNS[i.name] = append(m.staticDNS[i.name], i.nameservers...)
				}
			}
		}
	case bytes.Contains(content, []byte("Generated by NetworkManager")):
		m.Kind = ManagerNetworkManager
	default:
		dh, err := dhclientManaged(h)
		if err != nil {
			return m, err
		}
		m.Kind = ManagerStatic
		if dh {
			m.Kind = ManagerDhclient
		}
	}
	return m, nil
}

// resolvConfTarget follows /etc/resolv.conf's symbolic links inside h.Root
// (an absolute target is taken relative to Root, never to this machine's
// /). It returns the file at the end, the first link's target as written,
// and whether a link passes through systemd-resolved's directory.
func resolvConfTarget(h *Host) (target, link string, viaResolved bool, err error) {
	p := resolvConfPath
	for range 16 {
		fi, err := os.Lstat(h.path(p))
		if errors.Is(err, fs.ErrNotExist) {
			return p, link, viaResolved, nil
		}
		if err != nil {
			return "", "", false, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if fi.IsDir() {
				return "", "", false, fmt.Errorf("%s is a directory, not a file", p)
			}
			return p, link, viaResolved, nil
		}
		t, err := os.Readlink(h.path(p))
		if err != nil {
			return "", "", false, err
		}
		if link == "" {
			link = t
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = filepath.Clean(t)
		if strings.HasPrefix(p, resolvedRunDir) {
			viaResolved = true
		}
	}
	return "", "", false, fmt.Errorf("%s: too many levels of symbolic links", resolvConfPath)
}

// readConfig reads a small text configuration file under h.Root; binary or
// huge content is an error, not something to rewrite.
func readConfig(h *Host, p string) ([]byte, fs.FileMode, bool, error) {
	if fi, err := os.Stat(h.path(p)); err == nil && fi.IsDir() {
		return nil, 0, false, fmt.Errorf("%s is a directory, not a file", p)
	}
	b, mode, exists, err := h.readFile(p)
	if err != nil {
		return nil, 0, false, fmt.Errorf("read %s: %w", p, err)
	}
	switch {
	case len(b) > maxConfigSize:
		return nil, 0, false, fmt.Errorf("%s is %d bytes: too large for a configuration file; look at it before changing DNS", p, len(b))
	case bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b):
		return nil, 0, false, fmt.Errorf("%s is not a text file (it holds binary data): restore it (e.g. `nameserver 100.100.2.136`) before choosing a remedy", p)
	}
	return b, mode, exists, nil
}

// netplanFiles are /etc/netplan/*.yaml, sorted as netplan reads them.
func netplanFiles(h *Host) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(h.path(netplanDir), "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range matches {
		out = append(out, filepath.Join(netplanDir, filepath.Base(f)))
	}
	slices.Sort(out)
	return out, nil
}

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

// fileIs reports whether a file already has exactly this content and mode.
func fileIs(h *Host, fw FileWrite) (bool, error) {
	b, mode, ok, err := h.readFile(fw.Path)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", fw.Path, err)
	}
	return ok && string(b) == fw.Content && uint32(mode) == fw.Mode, nil
}

// planNetplan: a 99- netplan file that makes every ethernet interface
// ignore DHCP's DNS and use the resolvers, then netplan apply.
func planNetplan(h *Host, p *Plan, m ResolverManager, resolvers []netip.Addr) error {
	fw := FileWrite{Path: PublicDNSNetplan, Content: netplanContent(m, resolvers), Mode: 0o600}
	same, err := fileIs(h, fw)
	if err != nil {
		return err
	}
	if !same {
		// Undo reverses actions last first, and `netplan apply` must run
		// after the old files are back: so it is the undo of a command
		// before the file (netplan generate, which checks and renders the
		// current configuration without applying it), not of the final
		// apply.
		p.addCommand([]string{"netplan", "generate"}, []string{"netplan", "apply"})
		p.addFile(fw)
		p.addCommand([]string{"netplan", "apply"}, nil)
	}
	if len(m.Interfaces) == 0 {
		p.note("fix.4.note.netplanall")
	}
	for _, name := range m.Interfaces {
		ns := m.staticDNS[name]
		other := slices.ContainsFunc(ns, func(s string) bool {
			a, err := netip.ParseAddr(s)
			return err != nil || !slices.Contains(resolvers, a)
		})
		if other {
			p.note("fix.4.note.netplanstatic", name, strings.Join(ns, ", "), strings.Join(m.Netplan, ", "))
		}
	}
	p.note("fix.4.note.cloudinit", PublicDNSNetplan)
	return nil
}

func netplanContent(m ResolverManager, resolvers []netip.Addr) string {
	var s strings.Builder
	s.WriteString("# Written by tsdoctor (remedy 4, public DNS); `tsdoctor undo` removes it.\n" +
		"# Ignore the DNS servers DHCP offers (the VPC's 100.100.2.136/138, whose\n" +
		"# replies tailscaled's CGNAT rule drops) and use public resolvers instead.\n" +
		"# Named 99- so netplan reads it after cloud-init's 50-cloud-init.yaml, which\n" +
		"# cloud-init may regenerate: this file still overrides it.\n" +
		"network:\n  version: 2\n  ethernets:\n")
	addrs := "[" + addrList(resolvers, ", ") + "]"
	override := func(key string) {
		s.WriteString("      " + key + ":\n        use-dns: false\n")
	}
	if len(m.Interfaces) == 0 {
		s.WriteString("    tsdoctor-all:\n      match:\n        name: \"e*\"\n      dhcp4: true\n")
		override("dhcp4-overrides")
		s.WriteString("      nameservers:\n        addresses: " + addrs + "\n")
		return s.String()
	}
	for _, name := range m.Interfaces {
		s.WriteString("    " + yamlKey(name) + ":\n")
		override("dhcp4-overrides")
		if m.dhcp6[name] {
			// networkd refuses differing dhcp4- and dhcp6-overrides.
			override("dhcp6-overrides")
		}
		s.WriteString("      nameservers:\n        addresses: " + addrs + "\n")
	}
	return s.String()
}

// yamlKey quotes an interface name unless it is plainly safe.
func yamlKey(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s) + `"`
		}
	}
	return s
}

// planNetworkManager: the default interface's connection ignores DHCP's
// DNS and uses the resolvers; nmcli connection up makes it live.
func planNetworkManager(ctx context.Context, h *Host, p *Plan, resolvers []netip.Addr) error {
	conn, err := nmDefaultConnection(ctx, h)
	if err != nil {
		return err
	}
	get := []string{"nmcli", "-g", "ipv4.ignore-auto-dns,ipv4.dns", "connection", "show", conn}
	out, err := h.run(ctx, get)
	if err != nil {
		return fmt.Errorf("read the DNS settings of NetworkManager connection %q: %w", conn, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) < 1 || lines[0] == "" {
		return fmt.Errorf("nmcli printed no ipv4.ignore-auto-dns for connection %q: %q", conn, out)
	}
	prevIgnore := strings.TrimSpace(lines[0])
	prevDNS := ""
	if len(lines) > 1 {
		prevDNS = nmUnescape(strings.TrimSpace(lines[1]))
	}
	var cur []netip.Addr
	for _, f := range strings.FieldsFunc(prevDNS, func(r rune) bool { return r == ',' || r == ' ' }) {
		if a, err := netip.ParseAddr(f); err == nil {
			cur = append(cur, a)
		}
	}
	if prevIgnore == "yes" && slices.Equal(cur, resolvers) {
		return nil
	}
	up := []string{"nmcli", "connection", "up", conn}
	// Undo reverses actions last first; `nmcli connection up` must follow
	// the restored values, so it is the undo of the reading done first.
	p.addCommand(get, up)
	p.addCommand(
		[]string{"nmcli", "connection", "modify", conn, "ipv4.ignore-auto-dns", "yes", "ipv4.dns", addrList(resolvers, " ")},
		[]string{"nmcli", "connection", "modify", conn, "ipv4.ignore-auto-dns", prevIgnore, "ipv4.dns", strings.ReplaceAll(prevDNS, ",", " ")})
	p.addCommand(up, nil)
	return nil
}

// nmDefaultConnection is the active connection on the interface of the
// default route (or, without one, the only active ethernet-like one).
func nmDefaultConnection(ctx context.Context, h *Host) (string, error) {
	out, err := h.run(ctx, []string{"nmcli", "-t", "-f", "NAME,DEVICE", "connection", "show", "--active"})
	if err != nil {
		return "", fmt.Errorf("list NetworkManager's active connections: %w", err)
	}
	type conn struct{ name, dev string }
	var conns []conn
	for line := range strings.Lines(string(out)) {
		f := nmSplit(strings.TrimRight(line, "\r\n"))
		if len(f) == 2 && f[0] != "" {
			conns = append(conns, conn{f[0], f[1]})
		}
	}
	dev := ""
	if b, _, ok, err := h.readFile("/proc/net/route"); err == nil && ok {
		routes, _ := hostinfo.ParseProcRoute(string(b))
		for _, r := range routes {
			if r.Dst.Bits() == 0 {
				dev = r.Iface
				break
			}
		}
	}
	var candidates []conn
	for _, c := range conns {
		if dev != "" && c.dev == dev {
			return c.name, nil
		}
		if c.dev != "" && c.dev != "lo" && !strings.HasPrefix(c.dev, "tailscale") &&
			!strings.HasPrefix(c.dev, "docker") && !strings.HasPrefix(c.dev, "veth") && !strings.HasPrefix(c.dev, "br-") {
			candidates = append(candidates, c)
		}
	}
	if dev == "" && len(candidates) == 1 {
		return candidates[0].name, nil
	}
	if dev != "" {
		return "", fmt.Errorf("NetworkManager has no active connection on %s, the default route's interface (active: %q): set DNS on that interface by hand, or choose another remedy", dev, out)
	}
	return "", fmt.Errorf("cannot tell which NetworkManager connection carries the default route (active: %q)", out)
}

// nmSplit splits one line of nmcli's terse output on unescaped colons.
func nmSplit(line string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == ':':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

func nmUnescape(s string) string { return strings.Join(nmSplit(s), ":") }

// planDhclient: dhclient keeps the resolvers at every lease (supersede),
// and resolv.conf gets them now.
func planDhclient(h *Host, p *Plan, m ResolverManager, resolvers []netip.Addr) error {
	old, mode, exists, err := readConfig(h, DhclientConf)
	if err != nil {
		return err
	}
	block := dhclientBegin + "\n" +
		"# Added by tsdoctor (remedy 4): use public resolvers instead of the VPC's\n" +
		"# 100.100.2.136/138, whose replies tailscaled's CGNAT rule drops.\n" +
		"# `tsdoctor undo` removes this block.\n" +
		"supersede domain-name-servers " + addrList(resolvers, ", ") + ";\n" +
		dhclientEnd + "\n"
	content, err := withBlock(string(old), block)
	if err != nil {
		return fmt.Errorf("%s: %w", DhclientConf, err)
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
				return "", fmt.Errorf("two %q lines: remove tsdoctor's block by hand and try again", dhclientBegin)
			}
			begin = i
		case dhclientEnd:
			if begin < 0 || end >= 0 {
				return "", fmt.Errorf("a stray %q line: remove tsdoctor's block by hand and try again", dhclientEnd)
			}
			end = i
		}
	}
	switch {
	case begin >= 0 && end < 0:
		return "", fmt.Errorf("%q without %q: remove tsdoctor's block by hand and try again", dhclientBegin, dhclientEnd)
	case begin >= 0:
		return strings.Join(lines[:begin], "") + block + strings.Join(lines[end+1:], ""), nil
	case text == "":
		return block, nil
	case !strings.HasSuffix(text, "\n"):
		text += "\n"
	}
	return text + "\n" + block, nil
}

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
	p.addFile(FileWrite{Path: m.ResolvConf, Content: content, Mode: uint32(mode)})
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

func addrList(as []netip.Addr, sep string) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, sep)
}

func sameAddrSet(a, b []netip.Addr) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// netplanIface is one ethernet definition of a netplan file.
type netplanIface struct {
	name  string
	dhcp6 bool
	// nameservers are its static nameservers.addresses.
	nameservers []string
}

// parseNetplanEthernets finds the definitions under network.ethernets of a
// netplan file (every YAML document of it), in the order written, with
// whether each uses DHCPv6 and its static nameservers. What YAML cannot
// parse is an error, never a guess.
func parseNetplanEthernets(b []byte) ([]netplanIface, error) {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return nil, errors.New("not a text file")
	}
	var out []netplanIface
	index := map[string]int{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Network struct {
				Ethernets yaml.Node `yaml:"ethernets"`
			} `yaml:"network"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		eth := &doc.Network.Ethernets
		if eth.Kind == yaml.AliasNode {
			eth = eth.Alias
		}
		switch {
		case eth.Kind == 0 || eth.Tag == "!!null":
			continue
		case eth.Kind != yaml.MappingNode:
			return nil, fmt.Errorf("line %d: network.ethernets is not a mapping", eth.Line)
		}
		for i := 0; i+1 < len(eth.Content); i += 2 {
			name := eth.Content[i].Value
			var def struct {
				DHCP6       string `yaml:"dhcp6"`
				Nameservers struct {
					Addresses []string `yaml:"addresses"`
				} `yaml:"nameservers"`
			}
			if err := eth.Content[i+1].Decode(&def); err != nil {
				return nil, fmt.Errorf("ethernets.%s: %w", name, err)
			}
			j, seen := index[name]
			if !seen {
				j = len(out)
				index[name] = j
				out = append(out, netplanIface{name: name})
			}
			// netplan reads YAML 1.1 booleans: yes/on count too.
			out[j].dhcp6 = out[j].dhcp6 || yamlTrue(def.DHCP6)
			out[j].nameservers = append(out[j].nameservers, def.Nameservers.Addresses...)
		}
	}
}

func yamlTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "y":
		return true
	}
	return false
}
