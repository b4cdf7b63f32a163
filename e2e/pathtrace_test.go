package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/lab"
)

// TestPathTraceRealDaemon: against the real tailscaled, on both nf_tables
// backends and with the kernel log silent in namespaces
// (nf_log_all_netns=0), `check --trace --json` shows each DNS reply dying at
// the daemon's own CGNAT DROP, and after remedy 2 being accepted by the
// whitelist; no trace table is left.
func TestPathTraceRealDaemon(t *testing.T) {
	needRoot(t)
	restore, err := lab.SetNfLogAllNetns("0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(restore)
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

func traceCheck(t *testing.T, n *harness.Node) (checks.CheckJSON, string) {
	t.Helper()
	cmd := n.Command(context.Background(), tsdoctor, "check", "--json", "--trace", "--only", "trace")
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	var rep checks.CheckJSON
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check --json --trace: %v\n%s", err, out)
	}
	return rep, string(out)
}

func assertNoTraceTable(t *testing.T, n *harness.Node) {
	t.Helper()
	out, err := n.Command(context.Background(), "nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables: %v\n%s", err, out)
	}
	if strings.Contains(string(out), nftrace.TablePrefix) {
		t.Errorf("a trace table is left:\n%s", out)
	}
}
