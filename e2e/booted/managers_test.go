package booted

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/host"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
)

// ECS images' netplan file (cloud-init), minus its match on the MAC
// address: netplan renders that as PermanentMACAddress=, which a veth does
// not have.
const cloudInitNetplan = `network:
    ethernets:
        eth0:
            dhcp4: true
    version: 2
`

// managerCell is one resolver manager, really installed and configured as
// an ECS image of its kind: the VPC DNS comes from DHCP (or, for the
// resolved-global cell, a drop-in; static: resolv.conf itself).
type managerCell struct {
	name    string
	variant string
	dhcp    bool
	setup   func(m *host.Machine) error
	// after boot (NetworkManager's profile is made with nmcli, so its
	// keyfile is in NetworkManager's own format from the start).
	afterBoot string
	restart   string // the manager's own restart
	servers   string // what shows the servers clients get
	// kept prints what the fix must leave as it was (NetworkManager's
	// active connection on eth0: a re-activation makes a new one).
	kept string
	// renew: DHCP renews the lease this often, and after the fix the
	// test waits for a renewal (a running dhclient reads its
	// configuration only when it starts; dhclient-script runs at every
	// renewal).
	renew time.Duration
	// magicDNS: tailscaled takes DNS (accept-dns, MagicDNS pushed by the
	// control server); also lists what must keep answering.
	magicDNS bool
	also     string
}

var managerCells = []managerCell{
	{
		name: "resolved-global", variant: host.Resolved,
		setup: func(m *host.Machine) error {
			return m.WriteFile("/etc/systemd/resolved.conf.d/vpc.conf", []byte("[Resolve]\nDNS=100.100.2.136 100.100.2.138\n"), 0o644)
		},
		restart: "systemctl restart systemd-resolved",
		servers: "resolvectl dns",
	},
	{
		name: "resolved-netplan", variant: host.Resolved, dhcp: true,
		setup: func(m *host.Machine) error {
			return m.WriteFile("/etc/netplan/50-cloud-init.yaml", []byte(cloudInitNetplan), 0o600)
		},
		restart: "systemctl restart systemd-networkd systemd-resolved",
		servers: "resolvectl dns",
	},
	{
		name: "networkmanager", variant: host.NetworkManager, dhcp: true,
		// A second, inactive profile of the same name comes first: names
		// repeat ("Wired connection 1" on every NIC), so the remedy must
		// find and change the active one by its UUID.
		afterBoot: "nmcli connection add type ethernet ifname eth9 con-name 'System eth0' autoconnect no ipv4.method auto ipv6.method ignore >/dev/null && " +
			"u=$(nmcli connection add type ethernet ifname eth0 con-name 'System eth0' ipv4.method auto ipv6.method ignore | sed -n 's/.*(\\(.*\\)) successfully added.*/\\1/p') && " +
			"[ -n \"$u\" ] && nmcli connection up uuid \"$u\" >/dev/null",
		restart: "systemctl restart NetworkManager",
		servers: "cat /etc/resolv.conf",
		kept:    "nmcli -t -f DEVICE,UUID,ACTIVE-PATH connection show --active | grep '^eth0:'",
	},
	{
		name: "ifupdown-dhclient", variant: host.Ifupdown, dhcp: true,
		setup: func(m *host.Machine) error {
			return m.WriteFile("/etc/network/interfaces", []byte("source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n"), 0o644)
		},
		restart: "systemctl restart networking",
		servers: "cat /etc/resolv.conf",
		renew:   5 * time.Second,
	},
	{
		// accept-dns on, nothing else managing DNS: tailscaled writes
		// resolv.conf and forwards other names to its backup's servers.
		name: "magicdns", variant: host.Static, magicDNS: true,
		restart: "systemctl restart tailscaled",
		servers: "cat " + fixes.TailscaleBackup,
		also:    "grep -q '^nameserver 100.100.100.100' /etc/resolv.conf && getent hosts ecs-booted." + host.MagicDNSDomain,
	},
	{
		name: "static", variant: host.Static,
		servers: "cat /etc/resolv.conf",
	},
}

// TestPublicDNSManagersBooted: remedy 4 through every manager it claims,
// each really installed: fix → the manager's own restart → reboot → still
// the public resolvers and `getent hosts` fast → undo: the files byte for
// byte as before and the VPC DNS back.
func TestPublicDNSManagersBooted(t *testing.T) {
	for _, c := range managerCells {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testManager(t, c)
		})
	}
}

func testManager(t *testing.T, c managerCell) {
	h := bootWith(t, c.variant, c.dhcp, c.setup, func(o *host.Options) { o.Renew, o.MagicDNS = c.renew, c.magicDNS })
	ctx := context.Background()
	if c.afterBoot != "" {
		sh(t, h, c.afterBoot)
	}
	servers := func() string {
		out, _ := h.Sh(ctx, c.servers)
		return string(out)
	}
	vpc := func(s string) bool { return strings.Contains(s, lab.InternalDNS1) }
	public := func(s string) bool { return strings.Contains(s, lab.PublicDNS1) && !vpc(s) }
	waitFor := func(what string, ok func(string) bool) {
		t.Helper()
		var s string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			if s = servers(); ok(s) {
				return
			}
		}
		t.Fatalf("%s: `%s` says\n%s\nDHCP log:\n%s", what, c.servers, s, h.DHCPLog())
	}
	waitFor("the VPC DNS before the fix", vpc)
	before := state(t, h)
	kept := ""
	if c.kept != "" {
		kept = sh(t, h, c.kept)
	}

	fo, code, raw := fix(t, h, "--remedy", "4")
	if code != 0 || !fo.Changed || fo.Verification == nil || !fo.Verification.Passed {
		t.Fatalf("fix 4: exit %d\n%s\n%s", code, raw, servers())
	}
	also := func(when string) {
		t.Helper()
		if c.also == "" {
			return
		}
		if out, err := h.Sh(ctx, c.also); err != nil {
			t.Fatalf("%s: `%s`: %v\n%s\nresolv.conf:\n%s", when, c.also, err, out, sh(t, h, "cat /etc/resolv.conf"))
		}
	}
	also("before the fix")
	waitFor("public DNS after the fix", public)
	mustResolveFast(t, h, "after the fix")
	also("after the fix")
	if c.renew > 0 {
		// Two renewals after the fix: the running dhclient has the old
		// configuration; its dhclient-script must still keep the
		// public resolvers.
		acks := h.DHCPAcks()
		for deadline := time.Now().Add(10 * c.renew); h.DHCPAcks() < acks+2; time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no lease renewal within %s: DHCP log:\n%s", 10*c.renew, h.DHCPLog())
			}
		}
		time.Sleep(time.Second) // dhclient-script runs after the ACK
		if s := servers(); !public(s) {
			t.Fatalf("a lease renewal put the VPC DNS back: `%s` says\n%s", c.servers, s)
		}
	}
	if c.kept != "" {
		if now, _ := h.Sh(ctx, c.kept); string(now) != kept {
			t.Errorf("the fix re-activated what it should have left alone: `%s` said\n%s\nbefore, now\n%s", c.kept, kept, now)
		}
	}

	if c.restart != "" {
		sh(t, h, c.restart)
		waitFor("public DNS after `"+c.restart+"`", public)
		mustResolveFast(t, h, "after `"+c.restart+"`")
		also("after `" + c.restart + "`")
	}
	if err := h.Reboot(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.WaitTailscale(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor("public DNS after a reboot", public)
	mustResolveFast(t, h, "after a reboot")
	also("after a reboot")

	undo(t, h)
	waitFor("the VPC DNS back after undo", vpc)
	also("after undo")
	if after := state(t, h); after != before {
		t.Errorf("after undo the host differs:\n%s", diffLines(strings.Split(before, "\n"), strings.Split(after, "\n")))
	}
}
