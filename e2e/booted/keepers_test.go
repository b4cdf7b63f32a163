package booted

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/host"
	"github.com/tsdoctor/tsdoctor/lab"
)

// TestKeepersBooted: the keepers of remedies 2 and 3 (the whitelist unit
// and its script, the guard) judged by what systemd says about them, not
// by DNS answering (the rules the fix inserts directly make it answer
// anyway). Issue 15, "Keepers that really keep".
func TestKeepersBooted(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		run  func(t *testing.T, h *host.Host)
	}{
		{"guard-never-ready", guardNeverReady},
		{"guard-new-allow", guardNewAllow},
		{"guard-script-ready", guardScriptReady},
		{"whitelist-missing-tool", whitelistMissingTool},
		{"whitelist-late-tailscaled", whitelistLateTailscaled},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, boot(t, host.Static, nil))
		})
	}
}

// guardNeverReady: a guard binary that exists and runs but never says
// READY=1 (here /bin/false, exiting at once) fails the fix, which rolls
// back; before, the fix reported success while the unit restarted in a
// loop.
func guardNeverReady(t *testing.T, h *host.Host) {
	before := state(t, h)
	fo, code, raw := fix(t, h, "--remedy", "3", "--binary", "/bin/false")
	if code == 0 || fo.Verification != nil && fo.Verification.Passed {
		t.Fatalf("fix --remedy 3 --binary /bin/false: exit %d, want a failure\n%s", code, raw)
	}
	if !strings.Contains(fo.Error, "rolled back") {
		t.Errorf("error %q, want the rollback said\n%s", fo.Error, raw)
	}
	if after := state(t, h); after != before {
		t.Errorf("after the failed fix the host differs:\n%s", diffLines(strings.Split(before, "\n"), strings.Split(after, "\n")))
	}
}

// guardPID is the guard's main PID and its command line.
func guardPID(t *testing.T, h *host.Host) (pid, cmdline string) {
	t.Helper()
	pid = strings.TrimSpace(sh(t, h, "systemctl show -p MainPID --value tsdoctor-guard"))
	if pid == "" || pid == "0" {
		t.Fatalf("the guard does not run:\n%s", sh(t, h, "systemctl status tsdoctor-guard --no-pager || true"))
	}
	return pid, sh(t, h, "tr '\\0' ' ' < /proc/"+pid+"/cmdline")
}

// guardNewAllow: remedy 3 again with a new --allow restarts the running
// guard with the new list (before, it kept the old one); undo restarts it
// with the old list again.
func guardNewAllow(t *testing.T, h *host.Host) {
	fo, code, raw := fix(t, h, "--remedy", "3", "--allow", lab.InternalDNS1)
	if code != 0 || fo.Verification == nil || !fo.Verification.Passed {
		t.Fatalf("fix 3: exit %d\n%s", code, raw)
	}
	if !strings.Contains(raw, "running and ready") {
		t.Errorf("the verification does not say the guard is ready:\n%s", raw)
	}
	pid1, cmd1 := guardPID(t, h)
	both := lab.InternalDNS1 + "," + lab.InternalDNS2
	fo, code, raw = fix(t, h, "--remedy", "3", "--allow", both)
	if code != 0 || !fo.Changed || fo.Verification == nil || !fo.Verification.Passed {
		t.Fatalf("fix 3 --allow %s: exit %d\n%s", both, code, raw)
	}
	pid2, cmd2 := guardPID(t, h)
	if pid2 == pid1 || !strings.Contains(cmd2, "--allow "+both) {
		t.Errorf("after fix 3 --allow %s the guard is pid %s %q, before pid %s %q: want it restarted with the new list", both, pid2, cmd2, pid1, cmd1)
	}
	// Undo of the second fix: the old unit and the old list running.
	out, err := h.Command(context.Background(), "tsdoctor", "undo", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("undo: %v\n%s", err, out)
	}
	if _, cmd3 := guardPID(t, h); !strings.Contains(cmd3, "--allow "+lab.InternalDNS1+" ") {
		t.Errorf("after undo the guard runs %q, want the first fix's --allow %s", cmd3, lab.InternalDNS1)
	}
	undo(t, h)
}

// guardScriptReady: the article's polling script as the guard says
// READY=1 through systemd-notify after its first pass (Debian 12's systemd
// 252 waits for systemd to take the message), and the fix reports it.
func guardScriptReady(t *testing.T, h *host.Host) {
	fo, code, raw := fix(t, h, "--remedy", "3", "--script")
	if code != 0 || fo.Verification == nil || !fo.Verification.Passed || !strings.Contains(raw, "running and ready") {
		t.Fatalf("fix 3 --script: exit %d, want verified with the guard ready\n%s", code, raw)
	}
	if got := strings.TrimSpace(sh(t, h, "systemctl show -p Type -p NotifyAccess -p ActiveState -p SubState tsdoctor-guard | sort | tr '\\n' ' '")); got != "ActiveState=active NotifyAccess=all SubState=running Type=notify" {
		t.Errorf("the script's unit: %s", got)
	}
	undo(t, h)
}

// whitelistMissingTool: the whitelist script without its iptables tool
// fails, with the reason in the journal; before, it hid the error, waited
// 120 s and exited 0.
func whitelistMissingTool(t *testing.T, h *host.Host) {
	fo, code, raw := fix(t, h, "--remedy", "2")
	if code != 0 || fo.Verification == nil || !fo.Verification.Passed {
		t.Fatalf("fix 2: exit %d\n%s", code, raw)
	}
	if !strings.Contains(raw, "its script put the whitelist in place") {
		t.Errorf("the verification does not judge the unit:\n%s", raw)
	}
	sh(t, h, "mv /usr/sbin/iptables-nft /root/iptables-nft && systemctl restart --no-block tsdoctor-whitelist")
	defer sh(t, h, "mv /root/iptables-nft /usr/sbin/iptables-nft")
	var st string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if st = strings.TrimSpace(sh(t, h, "systemctl is-active tsdoctor-whitelist || true")); st == "failed" {
			break
		}
	}
	journal := sh(t, h, "journalctl -u tsdoctor-whitelist --no-pager -n 20")
	if st != "failed" || !strings.Contains(journal, "iptables-nft not found") {
		t.Errorf("without iptables-nft the whitelist unit is %q 10 s after its start, want failed and the reason in the journal:\n%s", st, journal)
	}
}

// whitelistLateTailscaled: tailscaled restarted stopped (`tailscale
// down`) reaches Running only minutes later, past the old script's 120 s
// give-up; its new ts-input still gets the whitelist.
func whitelistLateTailscaled(t *testing.T, h *host.Host) {
	ctx := context.Background()
	fo, code, raw := fix(t, h, "--remedy", "2")
	if code != 0 || fo.Verification == nil || !fo.Verification.Passed {
		t.Fatalf("fix 2: exit %d\n%s", code, raw)
	}
	sh(t, h, "tailscale down && systemctl restart tailscaled")
	// The old script gave up after 1200 checks 0.1 s apart (120 s on an
	// idle machine, longer on a busy one); the new one says it still waits
	// at the same count. Either line ends the wait.
	start := time.Now()
	for {
		j := sh(t, h, "journalctl -u tsdoctor-whitelist --no-pager -o cat")
		if strings.Contains(j, "after 120 s: nothing to do") || strings.Contains(j, "in ts-input (120 s)") {
			break
		}
		if time.Since(start) > 6*time.Minute {
			t.Fatalf("the whitelist script neither gave up nor said it still waits after %s:\n%s", time.Since(start).Round(time.Second), j)
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("tailscaled logged out for %s", time.Since(start).Round(time.Second))
	st := strings.TrimSpace(sh(t, h, "systemctl is-active tsdoctor-whitelist || true"))
	if out, err := h.Exec(ctx, "tailscale", "up", "--login-server="+h.Control.URL, "--authkey=tskey-lab",
		"--hostname=ecs-booted", "--accept-dns=false", "--timeout=60s"); err != nil {
		t.Fatalf("tailscale up: %v\n%s", err, out)
	}
	if err := h.WaitTailscale(ctx); err != nil {
		t.Fatal(err)
	}
	var ok bool
	var d time.Duration
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if ok, d = lookup(t, h, "example.com"); ok && d < fastLookup {
			break
		}
	}
	if !ok || d >= fastLookup {
		t.Errorf("tailscaled Running minutes after its start: DNS answered %v in %s, want the whitelist back (the unit was %q while waiting)\n%s",
			ok, d.Round(time.Millisecond), st, sh(t, h, "journalctl -u tsdoctor-whitelist --no-pager -n 20; iptables-nft -S ts-input"))
	}
	undo(t, h)
}
