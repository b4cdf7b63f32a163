package booted

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tsdoctor/tsdoctor/e2e/host"
	"github.com/tsdoctor/tsdoctor/lab"
)

// promFile is where the packaged tsdoctor-check.service writes: the
// textfile directory of Debian's prometheus-node-exporter.
const promFile = "/var/lib/prometheus/node-exporter/tsdoctor.prom"

// TestCheckTimerBooted: the packaged check timer as an on-call engineer
// turns it on, on a booted Debian 12 with tsdoctor from its .deb: installed
// but disabled; once enabled (with node_exporter's textfile directory in
// place, as its package makes it) systemd runs the check on its schedule
// and the metrics file appears, read by Prometheus's own text parser, with
// the host's verdict; a minute later systemd has run it again and the file
// is new; disabled, the timer is gone.
func TestCheckTimerBooted(t *testing.T) {
	t.Parallel()
	h := boot(t, host.Static, nil)
	if got := strings.TrimSpace(sh(t, h, "systemctl is-enabled tsdoctor-check.timer || true")); got != "disabled" {
		t.Fatalf("tsdoctor-check.timer is %q after apt install, want disabled", got)
	}
	if out := sh(t, h, "ls "+promFile+" 2>&1 || true"); !strings.Contains(out, "No such file") {
		t.Fatalf("%s before the timer was enabled: %s", promFile, out)
	}
	sh(t, h, "install -d -m 0755 /var/lib/prometheus/node-exporter && systemctl enable --now tsdoctor-check.timer")
	t.Logf("timer: %s", sh(t, h, "systemctl list-timers --all --no-pager tsdoctor-check.timer | head -2"))

	// OnBootSec=1min: the first run comes a minute after the boot, then one
	// a minute after each run.
	first := waitMetrics(t, h, 0, 100*time.Second)
	fams := first.fams
	if g := gauge(fams, "tsdoctor_verdict", "verdict", "blocked"); g != 1 {
		t.Errorf(`tsdoctor_verdict{verdict="blocked"} = %v, want 1 (the host is broken)`, g)
	}
	if g := gauge(fams, "tsdoctor_blocked", "address", lab.InternalDNS1); g != 1 {
		t.Errorf(`tsdoctor_blocked{address=%q} = %v, want 1`, lab.InternalDNS1, g)
	}
	if g := gauge(fams, "tsdoctor_culprit_info", "kind", "rule"); g != 1 {
		t.Errorf(`tsdoctor_culprit_info{kind="rule"} = %v, want 1`, g)
	}
	if d := gauge(fams, "tsdoctor_check_duration_seconds", "", ""); !(d > 0 && d < 10) {
		t.Errorf("tsdoctor_check_duration_seconds = %v", d)
	}
	second := waitMetrics(t, h, first.last, 100*time.Second)
	if gap := second.last - first.last; gap < 50 || gap > 75 {
		t.Errorf("the timer ran the check %.1f s after the last run, want about a minute", gap)
	}
	if got := strings.TrimSpace(sh(t, h, "systemctl show -p Result --value tsdoctor-check.service")); got != "success" {
		t.Errorf("tsdoctor-check.service result %q, want success (exit 1 is a verdict)", got)
	}

	sh(t, h, "systemctl disable --now tsdoctor-check.timer")
	if got := strings.TrimSpace(sh(t, h, "systemctl is-enabled tsdoctor-check.timer; systemctl is-active tsdoctor-check.timer || true")); got != "disabled\ninactive" {
		t.Errorf("after disable --now: %q, want disabled and inactive", got)
	}
}

type metricsRead struct {
	fams map[string]*dto.MetricFamily
	last float64 // tsdoctor_last_check_timestamp_seconds
}

// waitMetrics waits until the metrics file holds a check newer than after,
// parsed by Prometheus's text parser.
func waitMetrics(t *testing.T, h *host.Host, after float64, d time.Duration) metricsRead {
	t.Helper()
	var last string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(time.Second) {
		out, err := h.Exec(context.Background(), "cat", promFile)
		if err != nil {
			last = err.Error()
			continue
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(string(out)))
		if err != nil {
			t.Fatalf("Prometheus's text parser rejects %s: %v\n%s", promFile, err, out)
		}
		if ts := gauge(fams, "tsdoctor_last_check_timestamp_seconds", "", ""); ts > after {
			return metricsRead{fams: fams, last: ts}
		}
		last = "no check newer than " + strconv.FormatFloat(after, 'f', 0, 64)
	}
	st, _ := h.Sh(context.Background(), "systemctl status --no-pager tsdoctor-check.timer tsdoctor-check.service; journalctl --no-pager -n 20 -u tsdoctor-check.service")
	t.Fatalf("%s: %s after %s\n%s", promFile, last, d, st)
	return metricsRead{}
}

// gauge is the value of the family's gauge whose label name has value
// (name "": the only one); NaN when there is none.
func gauge(fams map[string]*dto.MetricFamily, family, name, value string) float64 {
	f, ok := fams[family]
	if !ok {
		return math.NaN()
	}
	for _, m := range f.GetMetric() {
		match := name == ""
		for _, l := range m.GetLabel() {
			if l.GetName() == name && l.GetValue() == value {
				match = true
			}
		}
		if match && m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
	}
	return math.NaN()
}
