package fixes

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// planNetworkManager: the default interface's connection ignores DHCP's
// DNS and uses the resolvers; `nmcli device reapply` makes it live on the
// device as it is, where `nmcli connection up` would take the device down
// and activate it again. The profile is named by its UUID: names repeat
// ("Wired connection 1" on every NIC).
func planNetworkManager(ctx context.Context, h *Host, p *Plan, resolvers []netip.Addr) error {
	conn, err := nmDefaultConnection(ctx, h)
	if err != nil {
		return err
	}
	get := []string{"nmcli", "-g", "ipv4.ignore-auto-dns,ipv4.dns", "connection", "show", "uuid", conn.uuid}
	out, err := h.run(ctx, get)
	if err != nil {
		return fmt.Errorf("read the DNS settings of NetworkManager connection %s (%s): %w", conn.uuid, conn.name, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) < 1 || lines[0] == "" {
		return fmt.Errorf("nmcli printed no ipv4.ignore-auto-dns for connection %s (%s): %q", conn.uuid, conn.name, out)
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
	reapply := []string{"nmcli", "device", "reapply", conn.dev}
	// Undo reverses actions last first; the reapply must follow the
	// restored values, so it is the undo of the reading done first.
	p.addCommand(get, reapply)
	p.addCommand(
		[]string{"nmcli", "connection", "modify", "uuid", conn.uuid, "ipv4.ignore-auto-dns", "yes", "ipv4.dns", addrList(resolvers, " ")},
		[]string{"nmcli", "connection", "modify", "uuid", conn.uuid, "ipv4.ignore-auto-dns", prevIgnore, "ipv4.dns", strings.ReplaceAll(prevDNS, ",", " ")})
	p.addCommand(reapply, nil)
	p.note("fix.4.note.nm", conn.name, conn.uuid, conn.dev)
	return nil
}

// nmSettleWait bounds how long verification waits for NetworkManager to
// write the resolvers into resolv.conf: `nmcli device reapply` returns
// before it does (measured on Debian 12's NetworkManager 1.42: 100–200 ms,
// while it asks DHCP again; once, with six booted hosts starting on two
// cores, not within 5 s). Waiting costs nothing when DNS is already live.
var nmSettleWait = 20 * time.Second

// nmSettled waits, after a plan that ran `nmcli device reapply`, until
// resolv.conf lists the resolvers the plan set; it reports whether it did
// and they are there.
func nmSettled(ctx context.Context, h *Host, p *Plan) bool {
	if p == nil {
		return false
	}
	var want []netip.Addr
	reapplied := false
	for _, a := range p.Actions {
		c := a.Command
		switch {
		case c == nil:
		case len(c.Do) >= 4 && c.Do[1] == "device" && c.Do[2] == "reapply":
			reapplied = true
		case len(c.Do) >= 3 && c.Do[1] == "connection" && c.Do[2] == "modify":
			if i := slices.Index(c.Do, "ipv4.dns"); i > 0 && i+1 < len(c.Do) {
				for _, f := range strings.Fields(c.Do[i+1]) {
					if a, err := netip.ParseAddr(f); err == nil {
						want = append(want, a)
					}
				}
			}
		}
	}
	if !reapplied || len(want) == 0 {
		return false
	}
	deadline := time.Now().Add(nmSettleWait)
	for {
		if m, err := DetectResolverManager(h); err == nil && len(m.Nameservers) > 0 && slices.Contains(want, m.Nameservers[0]) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nmConn is one active NetworkManager connection.
type nmConn struct{ uuid, dev, name string }

// nmDefaultConnection is the active connection on the interface of the
// default route (or, without one, the only active ethernet-like one).
func nmDefaultConnection(ctx context.Context, h *Host) (nmConn, error) {
	out, err := h.run(ctx, []string{"nmcli", "-t", "-f", "UUID,DEVICE,NAME", "connection", "show", "--active"})
	if err != nil {
		return nmConn{}, fmt.Errorf("list NetworkManager's active connections: %w", err)
	}
	var conns []nmConn
	for line := range strings.Lines(string(out)) {
		f := nmSplit(strings.TrimRight(line, "\r\n"))
		if len(f) == 3 && f[0] != "" {
			conns = append(conns, nmConn{uuid: f[0], dev: f[1], name: f[2]})
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
	var candidates []nmConn
	for _, c := range conns {
		if dev != "" && c.dev == dev {
			return c, nil
		}
		if c.dev != "" && c.dev != "lo" && !strings.HasPrefix(c.dev, "tailscale") &&
			!strings.HasPrefix(c.dev, "docker") && !strings.HasPrefix(c.dev, "veth") && !strings.HasPrefix(c.dev, "br-") {
			candidates = append(candidates, c)
		}
	}
	if dev == "" && len(candidates) == 1 {
		return candidates[0], nil
	}
	if dev != "" {
		return nmConn{}, failure(i18n.M("fix.err.4.nm.nodev", dev, out))
	}
	return nmConn{}, failure(i18n.M("fix.err.4.nm.which", out))
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
