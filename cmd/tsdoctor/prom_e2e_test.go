package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
)

// TestCheckPrometheus: `check --json --prometheus FILE` on the blocked lab
// host and on the healthy one. The JSON output is unchanged, the file
// replaces an old one atomically (a reader polling it all along sees the old
// file or the whole new one), Prometheus's own parser accepts it (promtool,
// when installed) and its series say what the JSON says.
func TestCheckPrometheus(t *testing.T) {
	for _, c := range []struct{ host, scenario string }{{"blocked", "new-order"}, {"healthy", "nodeattr"}} {
		t.Run(c.host, func(t *testing.T) {
			l := startLab(t, c.scenario)
			dir := t.TempDir()
			path := filepath.Join(dir, "tsdoctor.prom")
			const old = "# an older run's file\ntsdoctor_build_info{version=\"old\"} 1\n"
			if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
				t.Fatal(err)
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			var seen []string
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					if b, err := os.ReadFile(path); err == nil && (len(seen) == 0 || seen[len(seen)-1] != string(b)) {
						seen = append(seen, string(b))
					}
				}
			}()
			rep, code, _ := check(t, l, "--prometheus", path)
			stop.Store(true)
			wg.Wait()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out := string(b)
			t.Logf("the reader saw %d version(s) of the file; the last:\n%s", len(seen), out)
			for _, s := range seen {
				if s != old && s != out {
					t.Errorf("a reader saw a partial file:\n%s", s)
				}
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("left in the directory: %v", ents)
			}
			if want := map[string]checks.Verdict{"blocked": checks.Blocked, "healthy": checks.Healthy}[c.host]; rep.Verdict != want || code != rep.Verdict.ExitCode() {
				t.Fatalf("verdict %s, exit %d; want %s", rep.Verdict, code, want)
			}
			lines := strings.Split(out, "\n")
			want := []string{fmt.Sprintf("tsdoctor_blocked_services %d", len(rep.Blocked))}
			for _, v := range []checks.Verdict{checks.Healthy, checks.Blocked, checks.Degraded, checks.Error} {
				want = append(want, fmt.Sprintf(`tsdoctor_verdict{verdict=%q} %d`, v, map[bool]int{true: 1}[v == rep.Verdict]))
			}
			for _, s := range rep.Blocked {
				want = append(want, fmt.Sprintf(`tsdoctor_blocked{address="%s",port="%d",service=%q,cause=%q} 1`, s.Address, s.Port, s.Service, s.Cause))
			}
			if cu := rep.Culprit; cu != nil {
				want = append(want, fmt.Sprintf(`tsdoctor_culprit_info{kind=%q,backend=%q,table=%q,chain=%q,device=""} 1`, cu.Kind, cu.Backend, cu.Table, cu.Chain))
			} else if strings.Contains(out, "tsdoctor_culprit_info{") {
				t.Errorf("a culprit series without a culprit:\n%s", out)
			}
			if c.host == "blocked" && (len(rep.Blocked) == 0 || rep.Culprit == nil) {
				t.Fatalf("the blocked host reports nothing blocked: %+v", rep)
			}
			for _, w := range want {
				if !slices.Contains(lines, w) {
					t.Errorf("no line %q in\n%s", w, out)
				}
			}
			for _, p := range []string{"tsdoctor_check_duration_seconds ", "tsdoctor_last_check_timestamp_seconds "} {
				if !strings.Contains(out, "\n"+p) {
					t.Errorf("no %s in\n%s", p, out)
				}
			}
			if pt, err := exec.LookPath("promtool"); err == nil {
				cmd := exec.Command(pt, "check", "metrics")
				cmd.Stdin = strings.NewReader(out)
				if b, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(b))) > 0 {
					t.Errorf("promtool check metrics: %v\n%s", err, b)
				}
			} else {
				t.Log("no promtool here (apt-get install prometheus): the file's format is not checked by Prometheus's parser")
			}
		})
	}
}

// TestCheckPrometheusBadPath: a missing directory is a one-line usage error
// before any check runs.
func TestCheckPrometheusBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "nope", "x.prom"), "does not exist"},
		{dir, "is a directory"},
	} {
		var stdout, stderr strings.Builder
		code := run([]string{"check", "--prometheus", c.path}, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) || strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 || stdout.Len() > 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", c.path, code, stdout.String(), stderr.String())
		}
	}
}

// guardMetricsAtLeast waits up to 2 s for the guard's metrics file to hold
// each series at least at its value, then has promtool check the file.
func guardMetricsAtLeast(t *testing.T, path string, want map[string]float64) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(path)
		out = string(b)
		ok := true
		for name, min := range want {
			if v, found := sampleValue(out, name); !found || v < min {
				ok = false
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("guard metrics %s: want at least %v, got:\n%s", path, want, out)
		}
	}
	if v, _ := sampleValue(out, "tsdoctor_guard_last_outage_seconds"); v <= 0 || v > 5 {
		t.Errorf("last outage %v s, want a few milliseconds:\n%s", v, out)
	}
	t.Logf("guard metrics:\n%s", out)
	if pt, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(pt, "check", "metrics")
		cmd.Stdin = strings.NewReader(out)
		if b, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(b))) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, b)
		}
	}
}

// sampleValue is the value of an unlabelled series in a text exposition.
func sampleValue(out, name string) (float64, bool) {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}
