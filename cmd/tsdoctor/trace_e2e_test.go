package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// TestTraceSilentLog: with net.netfilter.nf_log_all_netns=0 the LOG rule in
// the lab's namespace matches the replies but the kernel prints nothing. The
// trace must say so from the LOG rule's own counter, on every backend, both
// in a plain namespace and in a container: a PID namespace whose PID 1 (a
// shell) shares the network namespace, with /proc/1/ns hidden as a
// container may hide it. It must never claim the replies did not reach
// INPUT while the DROP counter proves they did.
func TestTraceSilentLog(t *testing.T) {
	lab.HoldNfLogAllNetns(t, "0")
	for _, scenario := range []string{"new-order", "legacy", "nftables"} {
		t.Run(scenario, func(t *testing.T) {
			l := startLab(t, scenario)
			for _, shape := range []string{"namespace", "container"} {
				t.Run(shape, func(t *testing.T) {
					rep, raw := traceCheck(t, l, shape == "container")
					if rep.Verdict != checks.Blocked || rep.Culprit == nil || rep.Culprit.Chain != "ts-input" {
						t.Fatalf("verdict %s culprit %+v\n%s", rep.Verdict, rep.Culprit, raw)
					}
					tr := stepEvidence(rep, "trace")
					for _, want := range []string{"but no kernel log line arrived", "not the host's initial network namespace", "nf_log_all_netns=1", "temporary LOG rule was removed"} {
						if !strings.Contains(tr, want) {
							t.Errorf("trace evidence lacks %q:\n%s", want, tr)
						}
					}
					if strings.Contains(tr, "did not reach INPUT") {
						t.Errorf("the trace contradicts the DROP counter:\n%s", tr)
					}
					assertNoTraceRule(t, l)
				})
			}
		})
	}
	// The other side: replies dropped before INPUT (in raw PREROUTING) do
	// not reach the LOG rule, and only then does the trace say so. All of
	// 100.64.0.0/10 is dropped there: the LOG rule matches any packet from
	// it, e.g. the SYN-ACKs the servers retransmit to the check's cancelled
	// TCP probes.
	t.Run("before-input", func(t *testing.T) {
		l := startLab(t, "new-order")
		if out, err := l.Command(context.Background(), "iptables-nft", "-t", "raw", "-I", "PREROUTING", "-s", "100.64.0.0/10", "-j", "DROP").CombinedOutput(); err != nil {
			t.Fatalf("raw DROP: %v %s", err, out)
		}
		rep, raw := traceCheck(t, l, true)
		tr := stepEvidence(rep, "trace")
		if !strings.Contains(tr, "matched no packet (its counter stayed at 0)") || !strings.Contains(tr, "did not reach INPUT") || strings.Contains(tr, "Why:") {
			t.Errorf("trace evidence with the replies dropped before INPUT:\n%s\n%s", tr, raw)
		}
		assertNoTraceRule(t, l)
	})
}

// traceCheck runs `check --json --trace` in the lab, in a container when
// asked: its own PID namespace and /proc, PID 1 a shell in the same network
// namespace, /proc/1/ns hidden under a tmpfs.
func traceCheck(t *testing.T, l *lab.Lab, container bool) (wire.Check, string) {
	t.Helper()
	args := []string{"check", "--json", "--trace", "--only", "trace,rules"}
	var cmd *exec.Cmd
	if container {
		script := `mount -t tmpfs none /proc/1/ns && ! readlink /proc/1/ns/net >/dev/null || exit 97; "$@"`
		cmd = l.Command(context.Background(), "unshare", append([]string{"--pid", "--fork", "--mount-proc", "sh", "-c", script, "sh", binary}, args...)...)
	} else {
		cmd = l.Command(context.Background(), binary, args...)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 97 {
		t.Fatalf("could not hide /proc/1/ns in the container: %s", stderr.String())
	}
	var rep wire.Check
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		t.Fatalf("check: %v %v\n%s\nstderr: %s", err, jerr, out, stderr.String())
	}
	return rep, string(out)
}

// stepEvidence is one step's evidence lines, one per line.
func stepEvidence(rep wire.Check, id string) string {
	for _, s := range rep.Steps {
		if s.ID == id {
			return strings.Join(s.Evidence, "\n")
		}
	}
	return ""
}
