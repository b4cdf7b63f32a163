package host

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBootRebootPoweroff: the fixture itself. A static-variant host boots
// with systemd as PID 1 in the lab's ECS namespace, upstream's
// tailscaled.service brings tailscaled up logged in to the lab's control
// server, a reboot (nspawn exits 133, booted again) brings it back from its
// saved state, and Close leaves no process, overlay or namespace behind.
func TestBootRebootPoweroff(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	prefix := fmt.Sprintf("tsh%d-0", os.Getpid())
	h, err := Start(ctx, Options{Variant: Static, Prefix: prefix, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			h.Close()
		}
	}()
	t.Logf("booted in %s", h.Boots[0])
	if out, _ := h.Exec(ctx, "cat", "/proc/1/comm"); strings.TrimSpace(string(out)) != "systemd" {
		t.Errorf("PID 1 is %q, want systemd", out)
	}
	if out, err := h.Exec(ctx, "systemctl", "show", "-p", "FragmentPath,ActiveState,UnitFileState", "tailscaled"); err != nil ||
		!strings.Contains(string(out), "lib/systemd/system/tailscaled.service") ||
		!strings.Contains(string(out), "ActiveState=active") || !strings.Contains(string(out), "UnitFileState=enabled") {
		t.Errorf("tailscaled.service: %v\n%s", err, out)
	}
	if err := h.Reboot(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("rebooted in %s", h.Boots[1])
	if err := h.WaitTailscale(ctx); err != nil {
		t.Fatalf("after the reboot: %v", err)
	}
	pidFile, _ := os.ReadFile(h.Dir() + "/nspawn.pid")
	closed = true
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat("/proc/" + strings.TrimSpace(string(pidFile))); err == nil && isNspawnOf(atoi(string(pidFile)), h.Dir()) {
		t.Errorf("systemd-nspawn still running after Close")
	}
	if _, err := os.Stat(h.Dir()); err == nil {
		t.Errorf("%s left behind", h.Dir())
	}
	if _, err := os.Stat("/run/netns/" + prefix + "-ecs"); err == nil {
		t.Errorf("namespace %s-ecs left behind", prefix)
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscanf(strings.TrimSpace(s), "%d", &n)
	return n
}

// TestRootVariants: each variant really carries its resolver manager.
func TestRootVariants(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	want := map[string][]string{
		Static:         {"usr/bin/systemctl", "usr/sbin/iptables", "usr/bin/tmux", "usr/bin/man"},
		Resolved:       {"usr/bin/resolvectl", "usr/lib/systemd/systemd-resolved", "usr/lib/systemd/systemd-networkd", "usr/sbin/netplan"},
		NetworkManager: {"usr/sbin/NetworkManager", "usr/bin/nmcli"},
		Ifupdown:       {"usr/sbin/ifup", "usr/sbin/dhclient"},
	}
	for _, v := range Variants {
		start := time.Now()
		root, err := Root(context.Background(), v, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("root %s ready in %s", v, time.Since(start).Round(100*time.Millisecond))
		for _, f := range want[v] {
			if _, err := os.Stat(root + "/" + f); err != nil {
				t.Errorf("root %s lacks %s: %v", v, f, err)
			}
		}
	}
}
