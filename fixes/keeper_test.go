package fixes

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// TestVerifyKeeper: the verdict on a keeper comes from systemd's view of
// its unit, after waiting (bounded) for one still starting.
func TestVerifyKeeper(t *testing.T) {
	defer func(w, e time.Duration) { keeperWait, keeperEvery = w, e }(keeperWait, keeperEvery)
	keeperWait, keeperEvery = 300*time.Millisecond, 10*time.Millisecond
	show := func(enabled, active, sub, result string) string {
		return "UnitFileState=" + enabled + "\nActiveState=" + active + "\nSubState=" + sub + "\nResult=" + result + "\n"
	}
	cases := []struct {
		name   string
		daemon bool
		states []string // what systemctl show says, one after another (the last repeats)
		pass   bool
		detail string
	}{
		{"guard ready", keeperDaemon, []string{show("enabled", "active", "running", "success")}, true, "verify.keeper.ready"},
		{"guard ready after a while", keeperDaemon, []string{show("enabled", "activating", "start", "success"), show("enabled", "activating", "start", "success"), show("enabled", "active", "running", "success")}, true, "verify.keeper.ready"},
		{"guard never ready", keeperDaemon, []string{show("enabled", "activating", "auto-restart", "exit-code")}, false, "verify.keeper.down"},
		{"guard failed", keeperDaemon, []string{show("enabled", "failed", "failed", "exit-code")}, false, "verify.keeper.down"},
		{"guard disabled", keeperDaemon, []string{show("disabled", "active", "running", "success")}, false, "verify.keeper.disabled"},
		{"whitelist done", keeperJob, []string{show("enabled", "active", "running", "success"), show("enabled", "active", "exited", "success")}, true, "verify.keeper.done"},
		{"whitelist still waiting", keeperJob, []string{show("enabled", "active", "running", "success")}, false, "verify.keeper.down"},
		{"whitelist failed", keeperJob, []string{show("enabled", "failed", "failed", "exit-code")}, false, "verify.keeper.down"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			h := &Host{Systemd: true, Run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
				if name != "systemctl" || args[0] != "show" {
					t.Fatalf("ran %s %v", name, args)
				}
				s := c.states[min(n, len(c.states)-1)]
				n++
				return []byte(s), nil
			}}
			v := &Verification{Passed: true}
			verifyKeeper(context.Background(), h, "tsdoctor-guard.service", c.daemon, v)
			if v.Passed != c.pass || !slices.ContainsFunc(v.Details, func(m i18n.Msg) bool { return m.Key == c.detail }) {
				t.Errorf("passed %v details %v, want %v and %s", v.Passed, v.Details, c.pass, c.detail)
			}
		})
	}
	// Without systemd there is no keeper to ask about (the caller says so).
	v := &Verification{Passed: true}
	verifyKeeper(context.Background(), &Host{}, "x.service", keeperDaemon, v)
	if !v.Passed || len(v.Details) != 0 {
		t.Errorf("no systemd: %+v", v)
	}
}

var errFake = errors.New("exit status 3")

// TestGuardPlanRestarts: a running guard whose unit changes is restarted
// after the reload, and its undo (run last) restarts it once systemd has
// read the old unit again; an enabled guard that is stopped is started.
func TestGuardPlanRestarts(t *testing.T) {
	for _, c := range []struct {
		name         string
		active       bool
		enabled      bool
		changed      bool
		want         []string // the commands run by Apply, in order
		undoRunsLast string
	}{
		{"running, new unit", true, true, true, []string{"systemctl is-active tsdoctor-guard.service", "systemctl --version", "systemctl daemon-reload", "systemctl restart tsdoctor-guard.service"}, "systemctl try-restart tsdoctor-guard.service"},
		{"stopped, same unit", false, true, false, []string{"systemctl start tsdoctor-guard.service"}, "systemctl stop tsdoctor-guard.service"},
		{"new", false, false, true, []string{"systemctl --version", "systemctl daemon-reload", "systemctl enable tsdoctor-guard.service", "systemctl start tsdoctor-guard.service"}, "systemctl daemon-reload"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := tempHost(t, func(ctx context.Context, name string, args ...string) ([]byte, error) {
				switch strings.Join(args, " ") {
				case "is-active --quiet tsdoctor-guard.service":
					if !c.active {
						return nil, errFake
					}
				case "is-enabled tsdoctor-guard.service":
					if c.enabled {
						return []byte("enabled\n"), nil
					}
					return []byte("disabled\n"), errFake
				}
				return nil, nil
			})
			h.Systemd = true
			unit := guardUnit("/usr/bin/tsdoctor guard --allow 100.100.2.136", "event-driven", "main")
			if !c.changed {
				if err := h.writeFile(GuardUnit, []byte(unit), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := &Plan{Remedy: GuardID}
			p.addDaemonUnit(h, "", "", GuardUnit, unit)
			var cmds []string
			undoLast := ""
			for _, a := range p.Actions {
				if a.Command != nil {
					cmds = append(cmds, strings.Join(a.Command.Do, " "))
					if undoLast == "" && a.Command.Undo != nil {
						undoLast = strings.Join(a.Command.Undo, " ")
					}
				}
			}
			if !slices.Equal(cmds, c.want) || undoLast != c.undoRunsLast {
				t.Errorf("commands %q (first undo, run last: %q), want %q (%q)", cmds, undoLast, c.want, c.undoRunsLast)
			}
		})
	}
}
