package metrics

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
)

// alertRules is the YAML block under "### Alerting rules" in
// docs/monitoring.md.
func alertRules(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/monitoring.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "### Alerting rules")
	if !ok {
		t.Fatal("docs/monitoring.md has no \"### Alerting rules\"")
	}
	_, after, ok = strings.Cut(after, "```yaml\n")
	block, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("no ```yaml block under \"### Alerting rules\" in docs/monitoring.md")
	}
	return block
}

// alertTests are promtool's unit tests for the documented rules: each alert
// fires on the series it is for, and not on a healthy, fresh host.
const alertTests = `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'tsdoctor_verdict{verdict="blocked",instance="ecs1"}'
        values: '0 0 1 1 1 1 1'
      - series: 'tsdoctor_verdict{verdict="healthy",instance="ecs1"}'
        values: '1 1 0 0 0 0 0'
      - series: 'tsdoctor_verdict{verdict="error",instance="ecs2"}'
        values: '1x10'
      - series: 'tsdoctor_verdict{verdict="degraded",instance="ecs2"}'
        values: '0x10'
      - series: 'tsdoctor_last_check_timestamp_seconds{instance="ecs1"}'
        values: '0+60x10'
      - series: 'tsdoctor_last_check_timestamp_seconds{instance="ecs2"}'
        values: '0x10'
      - series: 'tsdoctor_guard_last_pass_timestamp_seconds{instance="ecs1"}'
        values: '0+60x10'
      - series: 'tsdoctor_guard_reapplies_total{instance="ecs1"}'
        values: '1 1 1 2 2 2 2 2 2 2 2'
      - series: 'tsdoctor_guard_last_outage_seconds{instance="ecs1"}'
        values: '0.004x10'
    alert_rule_test:
      - eval_time: 3m
        alertname: TsdoctorBlocked
      - eval_time: 5m
        alertname: TsdoctorBlocked
        exp_alerts:
          - exp_labels: {severity: critical, verdict: blocked, instance: ecs1}
            exp_annotations:
              summary: "Tailscale blocks the VPC's services on ecs1"
              description: "tsdoctor check finds services in 100.64.0.0/10 blocked by Tailscale (see tsdoctor_blocked and tsdoctor_culprit_info). Run ` + "`tsdoctor check -v`" + ` on the host; ` + "`tsdoctor`" + ` offers the remedies."
      - eval_time: 5m
        alertname: TsdoctorDegraded
      - eval_time: 6m
        alertname: TsdoctorCheckError
        exp_alerts:
          - exp_labels: {severity: warning, verdict: error, instance: ecs2}
            exp_annotations:
              summary: "tsdoctor could not check ecs2"
              description: "Run ` + "`tsdoctor check`" + ` on the host: the last line says what stopped it."
      - eval_time: 10m
        alertname: TsdoctorMetricsStale
        exp_alerts:
          - exp_labels: {severity: warning, instance: ecs2}
            exp_annotations:
              summary: "No tsdoctor check on ecs2 for 5 minutes"
              description: "Is tsdoctor-check.timer enabled? ` + "`systemctl status tsdoctor-check.timer tsdoctor-check.service`" + `"
      - eval_time: 10m
        alertname: TsdoctorGuardStale
      - eval_time: 5m
        alertname: TsdoctorGuardRestored
        exp_alerts:
          - exp_labels: {severity: info, instance: ecs1}
            exp_annotations:
              summary: "tailscaled rebuilt its firewall on ecs1 and the guard restored the whitelist"
              description: "The last outage lasted 4ms."
`

// TestAlertRules: the alerting rules in docs/monitoring.md pass promtool
// check rules and promtool's unit tests, and every metric they name is one
// tsdoctor writes.
func TestAlertRules(t *testing.T) {
	rules := alertRules(t)
	names := map[string]bool{}
	for _, f := range append(Check(checks.Report{}, time.Now(), ""), Guard(fixes.GuardStats{}, "")...) {
		names[f.Name] = true
	}
	for _, n := range regexp.MustCompile(`tsdoctor_[a-z_]+`).FindAllString(rules, -1) {
		if !names[n] {
			t.Errorf("the rules name %s, which tsdoctor does not write", n)
		}
	}
	pt, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("no promtool here (apt-get install prometheus): the rules are not checked by Prometheus")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tests.yml"), []byte(alertTests), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yml"}, {"test", "rules", "tests.yml"}} {
		cmd := exec.Command(pt, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("SUCCESS")) {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
