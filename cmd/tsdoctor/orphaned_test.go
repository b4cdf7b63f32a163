package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// TestOrphanedRulesLab: the lab's crashed tailscaled (rules present, socket
// stale, the CLI cannot connect and, like the real one, keeps trying for
// 2 s). The check says the rules are orphaned (text and JSON), remedy 5
// points to remedy 1, remedy 1 runs `tailscaled --cleanup`, DNS answers, and
// undo says plainly that it does not put a dead daemon's rules back.
func TestOrphanedRulesLab(t *testing.T) {
	l := startLab(t, "crashed")
	rep, code, raw := check(t, l, "--ecs")
	if rep.Verdict != checks.Blocked || code != 1 || rep.Culprit == nil || rep.Culprit.Backend != firewall.IptablesNFT {
		t.Fatalf("verdict %s (exit %d), culprit %+v; want blocked by the orphaned DROP\n%s", rep.Verdict, code, rep.Culprit, raw)
	}
	if !rep.OrphanedRules || rep.Tailscale.Socket != "stale" || rep.Tailscale.BackendState != "NotRunning" {
		t.Errorf("orphaned_rules %v, tailscale %+v; want orphaned, socket stale, NotRunning\n%s", rep.OrphanedRules, rep.Tailscale, raw)
	}
	for _, lang := range []string{"en", "zh"} {
		out, _ := l.Command(context.Background(), binary, "check", "--lang", lang, "-v").Output()
		want := map[string]string{"en": "Orphaned: tailscaled is not running", "zh": "孤儿规则"}[lang]
		if strings.Count(string(out), want) < 2 { // the rules step's evidence and the verdict
			t.Errorf("check --lang %s -v does not say the rules are orphaned:\n%s", lang, out)
		}
	}

	fj, code, rawFix := runFix(t, l, "--remedy", "5", "--dry-run")
	if fj.Applies || !strings.Contains(fj.Reason, "remedy 1") || code != 1 {
		t.Errorf("remedy 5: applies %v (%s), exit %d; want not applying, pointing to remedy 1\n%s", fj.Applies, fj.Reason, code, rawFix)
	}
	fj, code, rawFix = runFix(t, l, "--remedy", "1")
	if code != 0 || !fj.Applies || !fj.Changed || fj.Plan == nil || len(fj.Plan.Steps) != 1 || fj.Plan.Steps[0].Command != "tailscaled --cleanup" ||
		fj.Verification == nil || !fj.Verification.Passed || !fj.Verification.DNSAnswers {
		t.Fatalf("remedy 1 on orphaned rules: exit %d\n%s", code, rawFix)
	}
	if !strings.Contains(strings.Join(fj.Plan.Notes, " "), "Undo does not put these rules back") {
		t.Errorf("plan does not tell the undo story: %q", fj.Plan.Notes)
	}
	if rules, err := lab.ReadInputRules(context.Background(), l.ECS(), l.Scenario.Mode); err == nil && len(rules) > 0 {
		t.Errorf("ts-input still has %q after tailscaled --cleanup", rules)
	}
	if rep, code, raw := check(t, l, "--ecs"); rep.Verdict != checks.Healthy || code != 0 || rep.OrphanedRules {
		t.Errorf("after the cleanup: verdict %s (exit %d), orphaned %v\n%s", rep.Verdict, code, rep.OrphanedRules, raw)
	}

	out, err := l.Command(context.Background(), binary, "undo", "--json").Output()
	var uj wire.Undo
	if jerr := json.Unmarshal(out, &uj); jerr != nil || len(uj.Undone) != 1 {
		t.Fatalf("undo --json: %v %v\n%s", err, jerr, out)
	}
	ee, _ := err.(*exec.ExitError)
	if u := uj.Undone[0]; u.Same || ee == nil || ee.ExitCode() != 1 || !strings.Contains(strings.Join(u.Differences, " "), "is not undone") {
		t.Errorf("undo: same %v, differences %q, err %v; want it to say the cleanup is not undone (exit 1)", u.Same, u.Differences, err)
	}
	if rules, err := lab.ReadInputRules(context.Background(), l.ECS(), l.Scenario.Mode); err == nil && len(rules) > 0 {
		t.Errorf("undo re-created a dead tailscaled's rules: %q", rules)
	}
}

// TestLabRunCrashed: `tsdoctor lab --scenario crashed -- check --json`, the
// documented way to try a shape (scripts/try -- check), runs the check in a
// fresh lab and removes it again.
func TestLabRunCrashed(t *testing.T) {
	lab.NeedRoot(t, "the lab: network namespaces, firewall") // and TestMain built binary
	prefix := fmt.Sprintf("tsr%d", time.Now().UnixNano()%100000)
	for _, args := range [][]string{{"--", "check", "--json"}, {"--", "--json"}} {
		cmd := exec.Command(binary, append([]string{"lab", "--scenario", "crashed", "--prefix", prefix}, args...)...)
		out, err := cmd.Output()
		var rep wire.Check
		if jerr := json.Unmarshal(out, &rep); jerr != nil || rep.Verdict != checks.Blocked || !rep.OrphanedRules {
			t.Errorf("tsdoctor lab %q: %v %v\n%s", args, err, jerr, out)
		}
		if ns, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(ns), prefix) {
			t.Errorf("lab %s left behind: %s", prefix, ns)
		}
	}
}
