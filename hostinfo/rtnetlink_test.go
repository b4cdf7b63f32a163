package hostinfo

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// routeNetns makes a network namespace shaped like an ECS server running
// tailscaled: eth0 with a default route via the VPC gateway, tailscale0,
// tailscaled's policy rules (5210–5270) and table 52 with the given routes.
func routeNetns(t *testing.T, table52 ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace (run the tests with sudo)")
	}
	ns := fmt.Sprintf("tsdt-rc-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	cmds := []string{
		"link set lo up",
		// veth and tun: the dummy module is not on every test machine.
		"link add eth0 type veth peer name vpc0", "addr add 172.16.1.10/24 dev eth0", "link set eth0 up", "link set vpc0 up",
		"route add default via 172.16.1.1",
		"tuntap add dev tailscale0 mode tun", "addr add 100.101.102.103/32 dev tailscale0", "link set tailscale0 up",
		// What tailscaled installs (wgengine/router, Linux).
		"rule add priority 5210 fwmark 0x80000/0xff0000 table main",
		"rule add priority 5230 fwmark 0x80000/0xff0000 table default",
		"rule add priority 5250 fwmark 0x80000/0xff0000 type unreachable",
		"rule add priority 5270 table 52",
		"route add 100.100.100.100/32 dev tailscale0 table 52",
	}
	for _, r := range table52 {
		cmds = append(cmds, "route add "+r+" dev tailscale0 table 52")
	}
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip batch: %v: %s", err, out)
	}
	return ns
}

// inNS runs fn on a thread inside ns.
func inNS(t *testing.T, ns string, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestLookupRouteLikeTheKernel(t *testing.T) {
	dns := netip.MustParseAddr("100.100.2.136")
	cases := []struct {
		name    string
		table52 []string
		want    RouteHit
	}{
		{"no capture: main table via the gateway", nil,
			RouteHit{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Table: TableMain, Iface: "eth0", Gateway: netip.MustParseAddr("172.16.1.1"), Type: "unicast"}},
		{"accepted subnet route", []string{"100.100.2.0/24"},
			RouteHit{Prefix: netip.MustParsePrefix("100.100.2.0/24"), Table: TableTailscale, Iface: "tailscale0", Type: "unicast"}},
		{"accepted CGNAT route", []string{"100.64.0.0/10"},
			RouteHit{Prefix: netip.MustParsePrefix("100.64.0.0/10"), Table: TableTailscale, Iface: "tailscale0", Type: "unicast"}},
		{"exit node", []string{"0.0.0.0/0"},
			RouteHit{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Table: TableTailscale, Iface: "tailscale0", Type: "unicast"}},
		{"peer with the service's address", []string{"100.100.2.136/32"},
			RouteHit{Prefix: netip.MustParsePrefix("100.100.2.136/32"), Table: TableTailscale, Iface: "tailscale0", Type: "unicast"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := routeNetns(t, c.table52...)
			inNS(t, ns, func() {
				got, err := LookupRoute(dns)
				c.want.Dst = dns
				if err != nil || got != c.want {
					t.Errorf("LookupRoute(%s) = %+v, %v; want %+v", dns, got, err, c.want)
				}
			})
		})
	}
}

func TestPolicyRuleRoundTrip(t *testing.T) {
	ns := routeNetns(t, "100.100.2.0/24")
	inNS(t, ns, func() {
		rules, err := ListRules()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rules {
			got = append(got, r.String())
		}
		want := "5210:\tfrom all fwmark 0x80000/0xff0000 lookup main|5230:\tfrom all fwmark 0x80000/0xff0000 lookup default|" +
			"5250:\tfrom all fwmark 0x80000/0xff0000 unreachable|5270:\tfrom all lookup 52"
		if !strings.Contains(strings.Join(got, "|"), want) {
			t.Errorf("rules = %q, want them to include %q", got, want)
		}

		pr := PolicyRule{Priority: 5200, To: netip.MustParsePrefix("100.100.2.136/32"), Table: TableMain, Action: "lookup"}
		for range 2 { // idempotent
			if err := AddRule(pr); err != nil {
				t.Fatal(err)
			}
		}
		hit, err := LookupRoute(netip.MustParseAddr("100.100.2.136"))
		if err != nil || hit.Table != TableMain || hit.Iface != "eth0" {
			t.Errorf("with the rule: %+v, %v; want main via eth0", hit, err)
		}
		if hit, _ := LookupRoute(netip.MustParseAddr("100.100.2.138")); hit.Table != TableTailscale {
			t.Errorf("100.100.2.138 is not in the rule, yet it goes %+v", hit)
		}
		rules, _ = ListRules()
		found := false
		for _, r := range rules {
			found = found || r == pr
		}
		if !found {
			t.Errorf("rule %v not listed in %v", pr, rules)
		}
		for range 2 {
			if err := DelRule(pr); err != nil {
				t.Fatal(err)
			}
		}
		if hit, _ := LookupRoute(netip.MustParseAddr("100.100.2.136")); hit.Table != TableTailscale {
			t.Errorf("after delete: %+v", hit)
		}
	})
}

func TestLookupRouteNoRoute(t *testing.T) {
	ns := routeNetns(t)
	if out, err := exec.Command("ip", "-n", ns, "route", "del", "default").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	inNS(t, ns, func() {
		_, err := LookupRoute(netip.MustParseAddr("8.8.8.8"))
		if !errors.Is(err, ErrNoRoute) {
			t.Errorf("err = %v, want ErrNoRoute", err)
		}
	})
}

// BenchmarkLookupRoute: what asking the kernel costs per service.
//
//	sudo go test ./hostinfo -run '^$' -bench LookupRoute
func BenchmarkLookupRoute(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to create a network namespace")
	}
	ns := fmt.Sprintf("tsdt-rcb-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		b.Skipf("cannot create network namespace: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader("link set lo up\ntuntap add dev tailscale0 mode tun\nlink set tailscale0 up\nrule add priority 5270 table 52\nroute add 100.100.2.0/24 dev tailscale0 table 52\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err == nil {
			err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
			f.Close()
		}
		if err != nil {
			done <- err
			return
		}
		dst := netip.MustParseAddr("100.100.2.136")
		b.ResetTimer()
		for range b.N {
			if h, err := LookupRoute(dst); err != nil || h.Table != TableTailscale {
				done <- fmt.Errorf("%+v %v", h, err)
				return
			}
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
