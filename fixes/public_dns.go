package fixes

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// PublicDNS is remedy 4: stop using the VPC DNS (in 100.64.0.0/10), whose
// replies tailscaled's CGNAT rule drops, and point the host at public
// resolvers through whatever manages its DNS, so the change lasts.
type PublicDNS struct {
	// given are the resolvers --dns names (WithResolvers); nil: the ones
	// the host's cloud offers. A pointer keeps the type comparable.
	given *[]netip.Addr
}

const (
	resolvConfPath   = "/etc/resolv.conf"
	resolvedRunDir   = "/run/systemd/resolve/"
	resolvedUpstream = "/run/systemd/resolve/resolv.conf"
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
	// ManagerTailscale: tailscaled writes resolv.conf itself (MagicDNS with
	// accept-dns on, and nothing else to go through) and forwards the
	// names outside the tailnet to the resolvers it backed up.
	ManagerTailscale ResolverKind = "tailscale-magicdns"
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
	// netplan are the definitions remedy 4 may override (ethernets, bonds,
	// bridges, VLANs), merged across the files; netplanRenderer is the
	// files' global renderer.
	netplan         []netplanDef
	netplanRenderer string

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
	case ManagerTailscale:
		return "tailscaled (MagicDNS)"
	}
	return string(m.Kind)
}

func (PublicDNS) Info() Info {
	return Info{ID: PublicDNSID, Name: "public-dns", Title: i18n.M("fix.4.title"), Short: i18n.M("fix.4.short"), Changes: i18n.M("fix.4.changes"),
		Promise: Promise{Restart: i18n.M("verify.restart.public-dns"), Reboot: i18n.M("verify.reboot.public-dns")},
		Tradeoffs: Tradeoffs{Invasive: Medium, SurvivesRestart: LastsYes, SurvivesReboot: LastsYes,
			Security: i18n.M("fix.4.security"), Loses: i18n.M("fix.4.loses"), Cost: i18n.M("fix.4.cost")}}
}

// Applies: the host's cloud has public resolvers to offer, something that
// manages DNS can be found, and DNS does not already go to them. If it does,
// what remedy 4 promises holds, whatever else is blocked: already done.
func (r PublicDNS) Applies(h *Host, rep checks.Report) Applicability {
	want := offeredResolvers(rep)
	if r.given != nil && len(*r.given) > 0 {
		want = *r.given
	}
	m, err := DetectResolverManager(h)
	if err != nil {
		return notApplicable(i18n.M("fix.why.4.nomanager", err))
	}
	if len(want) == 0 {
		// Done already when no resolver is left in 100.64.0.0/10: once
		// remedy 4 has run, the resolvers no longer tell the cloud.
		if len(m.Nameservers) > 0 && !slices.ContainsFunc(m.Nameservers, tsrules.CGNAT.Contains) {
			return Applicability{Fit: AlreadyDone, Why: i18n.M("fix.why.4.already", addrList(m.Nameservers, ", "))}
		}
		if pr := rep.Cloud.Profile; pr.Known() {
			return notApplicable(i18n.M("fix.why.4.nodns", pr.Name))
		}
		return notApplicable(i18n.M("fix.why.4.nodns.unknown"))
	}
	done := Applicability{Fit: AlreadyDone, Why: i18n.M("fix.why.4.already", addrList(want, ", "))}
	if sameAddrSet(m.Nameservers, want) {
		return done
	}
	// The file-based managers can tell without running anything whether
	// the change is already in place (systemd-resolved still lists the
	// DHCP resolvers after the global ones, say).
	if m.Kind != ManagerNetworkManager {
		if p, err := r.plan(context.Background(), h, m, want, rep); err == nil && p.Nothing() {
			return done
		}
	}
	return fits()
}

func (PublicDNS) Recommend(rep checks.Report) Recommendation { return forTheDrop(PublicDNSID, rep) }

// Verify: DNS answers (behind systemd-resolved's stub: quickly, as a client
// sees it); other services still blocked are named, not failed: remedy 4
// is about DNS only.
func (PublicDNS) Verify(ctx context.Context, h *Host, p *Plan, v *Verification) {
	if !v.DNS && nmSettled(ctx, h, p) {
		// NetworkManager wrote resolv.conf after the check had read it:
		// judge what it wrote.
		rep := h.Diagnose(ctx)
		v.Report, v.Verdict, v.Blocked = rep, rep.Verdict, rep.Blocked
		if v.Blocked == nil {
			v.Blocked = []checks.BlockedService{}
		}
		v.DNS = stepStatus(rep, "dns") == checks.Pass
	}
	if ok, judged := stubAnswers(ctx, h, v); judged {
		v.DNS = ok
	}
	v.Passed = v.DNS
	if len(v.Report.Blocked) > 0 {
		v.Details = append(v.Details, i18n.M("verify.4.stillblocked", len(v.Report.Blocked)))
	}
}

func (r PublicDNS) Plan(ctx context.Context, h *Host, rep checks.Report, o Options) (*Plan, error) {
	resolvers, err := publicResolvers(o.Resolvers, offeredResolvers(rep))
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
		if err := planNetplan(ctx, h, p, m, resolvers); err != nil {
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
	case ManagerTailscale:
		if err := planTailscale(h, p, resolvers); err != nil {
			return nil, err
		}
	case ManagerStatic:
		planResolvConf(p, m, resolvers)
		p.note("fix.4.note.static", m.ResolvConf)
	default:
		return nil, failure(i18n.M("fix.err.4.manager", string(m.Kind)))
	}
	if m.Link != "" && m.ResolvConf != resolvConfPath && (m.Kind == ManagerDhclient || m.Kind == ManagerStatic) {
		p.note("fix.4.note.symlink", m.ResolvConf)
	}
	p.note("fix.4.note.manager", m.String())
	if pr := rep.Cloud.Profile; len(pr.InternalNames) > 0 {
		p.note("fix.4.note.internal", pr.Name, pr.Names())
	} else {
		p.note("fix.4.note.internal.generic")
	}
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

// WithResolvers is remedy r with the resolvers --dns gives: remedy 4 then
// applies on a host whose cloud offers none of its own. Other remedies are
// returned as they are.
func WithResolvers(r Remedy, rs []netip.Addr) Remedy {
	if p, ok := r.(PublicDNS); ok && len(rs) > 0 {
		p.given = &rs
		return p
	}
	return r
}

// offeredResolvers are the public resolvers remedy 4 uses without --dns:
// the host's cloud's own (cloud/profiles.yaml); none when its profile names
// none or no profile matches.
func offeredResolvers(rep checks.Report) []netip.Addr { return rep.Cloud.Profile.Resolvers() }

// publicResolvers checks --dns: IPv4 unicast addresses outside
// 100.64.0.0/10, at most three (glibc reads no more). None means the
// offered ones (the host's cloud's); with none of those either, --dns is
// needed.
func publicResolvers(in, offered []netip.Addr) ([]netip.Addr, error) {
	if len(in) == 0 {
		if len(offered) == 0 {
			return nil, failure(i18n.M("fix.err.4.nodns"))
		}
		return slices.Clone(offered), nil
	}
	var out []netip.Addr
	for _, a := range in {
		a = a.Unmap()
		switch {
		case !a.IsValid():
			return nil, failure(i18n.M("fix.err.4.empty"))
		case a.Is6():
			return nil, failure(i18n.M("fix.err.4.ipv6", a.String()))
		case tsrules.CGNAT.Contains(a):
			return nil, failure(i18n.M("fix.err.4.cgnat", a.String()))
		case a.IsLoopback(), a.IsUnspecified(), a.IsMulticast(), a.IsLinkLocalUnicast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return nil, failure(i18n.M("fix.err.4.notresolver", a.String()))
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) > 3 {
		return nil, failure(i18n.M("fix.err.4.toomany", len(out)))
	}
	return out, nil
}

// readConfig reads a small text configuration file under h.Root; binary or
// huge content is an error, not something to rewrite.
func readConfig(h *Host, p string) ([]byte, fs.FileMode, bool, error) {
	if fi, err := os.Stat(h.path(p)); err == nil && fi.IsDir() {
		return nil, 0, false, failure(i18n.M("fix.err.4.dir", p))
	}
	b, mode, exists, err := h.readFile(p)
	if err != nil {
		return nil, 0, false, failureOf(err, i18n.M("fix.err.4.read", p, err))
	}
	switch {
	case len(b) > maxConfigSize:
		return nil, 0, false, failure(i18n.M("fix.err.4.large", p, len(b)))
	case bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b):
		return nil, 0, false, failure(i18n.M("fix.err.4.binary", p))
	}
	return b, mode, exists, nil
}

// fileIs reports whether a file already has exactly this content and mode.
func fileIs(h *Host, fw FileWrite) (bool, error) {
	b, mode, ok, err := h.readFile(fw.Path)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", fw.Path, err)
	}
	return ok && string(b) == fw.Content && uint32(mode) == fw.Mode, nil
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
