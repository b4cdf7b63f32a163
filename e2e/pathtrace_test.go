package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// TestPathTraceRealDaemon: against the real tailscaled, on both nf_tables
// backends and with the kernel log silent in namespaces
// (nf_log_all_netns=0), `check --trace --json` shows each DNS reply dying at
// the daemon's own CGNAT DROP, and after remedy 2 being accepted by the
// whitelist; no trace table is left.
func TestPathTraceRealDaemon(t *testing.T) {
	needRoot(t)
	lab.HoldNfLogAllNetns(t, "0")
	for _, mode := range []string{lab.ModeIptablesNFT, lab.ModeNFTables} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			n := startNode(t, "1.102.3", mode, lab.VariantDefault)
			rep, raw := traceCheck(t, n)
			if rep.Culprit == nil || len(rep.Paths) < 4 {
				t.Fatalf("culprit %+v, %d paths:\n%s", rep.Culprit, len(rep.Paths), raw)
			}
			for _, p := range rep.Paths {
				h := p.Hops[max(p.Final(), 0)]
				if p.Verdict() != "drop" || h.Chain != "ts-input" || h.Position != rep.Culprit.Position || h.Rule != rep.Culprit.Rule || h.Backend != rep.Culprit.Backend {
					t.Errorf("path %s, final %+v; want the culprit %+v", p, h, rep.Culprit)
				}
			}
			t.Logf("before: %s", rep.Paths[0])
			assertNoTraceTable(t, n)

			if fo, code, out := fix(t, n, "--remedy", "2"); code != 0 || !fo.Verification.Passed {
				t.Fatalf("remedy 2: exit %d\n%s", code, out)
			}
			rep, raw = traceCheck(t, n)
			if len(rep.Paths) < 4 {
				t.Fatalf("%d paths after remedy 2:\n%s", len(rep.Paths), raw)
			}
			for _, p := range rep.Paths {
				h := p.Hops[max(p.Final(), 0)]
				if p.Verdict() != "accept" || h.Chain != "ts-input" || h.Comment != "tsdoctor-whitelist" {
					t.Errorf("after remedy 2: %s, final %+v", p, h)
				}
			}
			t.Logf("after: %s", rep.Paths[0])
			assertNoTraceTable(t, n)
		})
	}
}

func traceCheck(t *testing.T, n *harness.Node) (wire.Check, string) {
	t.Helper()
	cmd := n.Command(context.Background(), tsdoctor, "check", "--json", "--trace", "--only", "trace")
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	var rep wire.Check
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check --json --trace: %v\n%s", err, out)
	}
	return rep, string(out)
}

func assertNoTraceTable(t *testing.T, n *harness.Node) {
	t.Helper()
	lab.AssertNoNFTable(t, n, nftrace.TablePrefix)
}

// TestPathTraceSIGKILLRealDaemon: against the real tailscaled, `check
// --trace` killed with SIGKILL while its trace table is in place leaves the
// table; the next run sweeps it and says so, and nothing is left.
func TestPathTraceSIGKILLRealDaemon(t *testing.T) {
	needRoot(t)
	n := startNode(t, "1.102.3", lab.ModeIptablesNFT, lab.VariantDefault)
	ctx := context.Background()
	// A third resolver whose port 53 is closed: the daemon's DROP eats the
	// ICMP error too, so that probe keeps the trace open for its whole
	// window (300 ms), time enough to kill it.
	resolv := filepath.Join(n.Lab.RootDir(), "etc", "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 100.100.2.136\nnameserver 100.100.2.138\nnameserver 100.100.100.200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	table := func() string {
		out, _ := n.Command(ctx, "nft", "list", "tables").Output()
		for _, f := range strings.Fields(string(out)) {
			if strings.HasPrefix(f, nftrace.TablePrefix) {
				return f
			}
		}
		return ""
	}
	var killed string
	for attempt := 0; attempt < 5 && killed == ""; attempt++ {
		cmd := n.Command(ctx, tsdoctor, "check", "--trace", "--only", "trace")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			if name := table(); name != "" {
				// ip netns exec and env exec: the child is tsdoctor itself.
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				if table() == name {
					killed = name
				}
				break
			}
		}
		if killed == "" {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	if killed == "" {
		t.Fatal("could not kill check --trace while its table was in place (5 tries)")
	}
	out, _ := n.Command(ctx, tsdoctor, "check", "--json", "--only", "rules").Output()
	if !strings.Contains(string(out), "packet trace table left by an earlier tsdoctor run: "+killed) {
		t.Errorf("the rerun does not report sweeping %s:\n%s", killed, out)
	}
	assertNoTraceTable(t, n)
}
