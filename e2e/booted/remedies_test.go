package booted

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/e2e/host"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tsrules"
	"github.com/tsdoctor/tsdoctor/wire"
)

// fix runs the installed tsdoctor's fix in the host.
func fix(t *testing.T, h *host.Host, args ...string) (wire.Fix, int, string) {
	t.Helper()
	var fo wire.Fix
	code, out := lab.RunJSON(t, h.Command(context.Background(), "tsdoctor", append([]string{"fix", "--json", "--yes", "--ecs"}, args...)...), &fo)
	return fo, code, out
}

// undo runs `tsdoctor undo` and requires "everything is as it was".
func undo(t *testing.T, h *host.Host) {
	t.Helper()
	var uo wire.Undo
	if code, out := lab.RunJSON(t, h.Command(context.Background(), "tsdoctor", "undo", "--json"), &uo); code != 0 || len(uo.Undone) != 1 || !uo.Undone[0].Same {
		t.Fatalf("undo: exit %d\n%s", code, out)
	}
}

func blocked(rep wire.Check) bool {
	return slices.ContainsFunc(rep.Blocked, func(b checks.BlockedService) bool { return b.Address.String() == lab.InternalDNS1 })
}

// state is what a remedy may change on the host, as text: tailscaled's
// ts-input (magicsock port hidden), its netfilter mode, and every file and
// unit state under the places remedies write. Undo must bring it back
// exactly.
func state(t *testing.T, h *host.Host) string {
	t.Helper()
	rules, err := h.InputRules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := tsrules.MagicsockPort(rules); p != "" {
		for i := range rules {
			rules[i] = strings.Replace(rules[i], "dport "+p, "dport PORT", 1)
		}
	}
	files := sh(t, h, `for p in /etc/resolv.conf /etc/resolv.pre-tailscale-backup.conf /etc/systemd/system /usr/local/lib/tsdoctor /etc/systemd/resolved.conf.d /etc/netplan /etc/dhcp /etc/NetworkManager/system-connections /etc/default/tsdoctor; do
  [ -e "$p" ] || [ -L "$p" ] || continue
  find "$p" -printf '%p %M %l\n' | sort
  # NetworkManager stamps a profile with timestamp= at each activation:
  # its bookkeeping, not a setting.
  find "$p" -type f | sort | while read -r f; do printf '%s ' "$f"; grep -v '^timestamp=' "$f" | sha256sum; done
done
systemctl is-enabled tsdoctor-guard tsdoctor-whitelist 2>&1 || true
tailscale debug prefs | grep -o '"NetfilterMode": *[0-9]*'`)
	return strings.Join(rules, "\n") + "\n" + files
}

// TestRemediesBooted: every remedy on a booted Debian 12 with upstream's
// tailscaled.service and tsdoctor installed from its .deb: fix → DNS
// answers → `systemctl restart tailscaled` → reboot → exactly what the
// README's remedies table promises for each → undo → the host as before.
func TestRemediesBooted(t *testing.T) {
	cases := []struct {
		remedy          int
		restart, reboot bool // DNS still works after them (the table's kept/lost)
	}{
		{1, false, false}, // lost, lost
		{2, true, true},   // kept by its unit, kept by its unit
		{3, true, true},   // kept (the guard), kept by its unit (enabled by the fix)
		{4, true, true},   // kept (DNS no longer goes to 100.100.2.x), kept
		{5, true, true},   // kept, kept
		{6, true, true},   // kept, kept
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("remedy-%d", c.remedy), func(t *testing.T) {
			t.Parallel()
			testRemedyBooted(t, c.remedy, c.restart, c.reboot)
		})
	}
}

func testRemedyBooted(t *testing.T, remedy int, keptRestart, keptReboot bool) {
	h := boot(t, host.Static, nil)
	ctx := context.Background()
	before := state(t, h)
	if rep, raw := check(t, h); !blocked(rep) {
		t.Fatalf("not broken to start with:\n%s", raw)
	}
	if ok, d := lookup(t, h, "example.com"); ok && d < fastLookup {
		t.Fatalf("DNS answers in %s before any remedy: the host is not broken", d)
	}

	args := []string{"--remedy", itoa(remedy)}
	var grant chan struct{}
	if remedy == 6 {
		// The tailnet admin grants the attribute while tsdoctor waits.
		args = append(args, "--wait", "60s")
		grant = make(chan struct{})
		go func() {
			defer close(grant)
			time.Sleep(2 * time.Second)
			h.Control.SetNodeAttr(true)
		}()
	}
	start := time.Now()
	fo, code, raw := fix(t, h, args...)
	if grant != nil {
		<-grant
	}
	if code != 0 || !fo.Changed && remedy != 6 || fo.Verification == nil || !fo.Verification.Passed {
		t.Fatalf("fix %d: exit %d\n%s", remedy, code, raw)
	}
	t.Logf("fix %d verified in %s", remedy, time.Since(start).Round(time.Millisecond))
	mustResolveFast(t, h, "after the fix")

	expect := func(kept bool, when string) {
		t.Helper()
		// A unit that re-applies the whitelist runs a moment after
		// tailscaled is up: give it the few seconds the table says.
		var ok bool
		var d time.Duration
		for deadline := time.Now().Add(8 * time.Second); ; time.Sleep(250 * time.Millisecond) {
			if ok, d = lookup(t, h, "example.com"); (ok && d < fastLookup) == kept || time.Now().After(deadline) {
				break
			}
		}
		if got := ok && d < fastLookup; got != kept {
			rep, raw := check(t, h)
			t.Errorf("after %s DNS works: %v (answered %v in %s), the table promises %v; verdict %s\n%s",
				when, got, ok, d.Round(time.Millisecond), kept, rep.Verdict, raw)
		}
	}

	if _, err := h.Exec(ctx, "systemctl", "restart", "tailscaled"); err != nil {
		t.Fatal(err)
	}
	if remedy == 5 {
		waitRunning(t, h) // netfilter off: no ts-input to wait for
	} else if err := h.WaitTailscale(ctx); err != nil {
		t.Fatal(err)
	}
	expect(keptRestart, "systemctl restart tailscaled")

	if err := h.Reboot(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("reboot took %s", h.Boots[len(h.Boots)-1].Round(10*time.Millisecond))
	if remedy != 5 {
		if err := h.WaitTailscale(ctx); err != nil {
			t.Fatal(err)
		}
	} else {
		waitRunning(t, h)
	}
	expect(keptReboot, "a reboot")

	if remedy == 6 {
		// Nothing to undo on the host: the admin revokes the attribute
		// and the DROP is back.
		h.Control.SetNodeAttr(false)
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			if rep, _ := check(t, h); blocked(rep) {
				break
			}
		}
	} else {
		undo(t, h)
	}
	if remedy == 5 {
		if err := h.WaitTailscale(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if after := state(t, h); after != before {
		t.Errorf("after undo the host differs:\n%s", diffLines(strings.Split(before, "\n"), strings.Split(after, "\n")))
	}
	if rep, raw := check(t, h); !blocked(rep) {
		t.Errorf("after undo the host should be broken as before:\n%s", raw)
	}
}

// waitRunning waits for tailscaled to be Running (netfilter off: no rules
// to wait for).
func waitRunning(t *testing.T, h *host.Host) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, _ := h.Command(context.Background(), "tailscale", "status", "--json").Output()
		var st host.Tailscale
		if json.Unmarshal(out, &st) == nil && st.BackendState == "Running" {
			return
		}
	}
	t.Fatal("tailscaled not Running 60 s after the boot")
}
