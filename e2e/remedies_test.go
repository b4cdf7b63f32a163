package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tsrules"
	"github.com/tsdoctor/tsdoctor/wire"
)

func fix(t *testing.T, n *harness.Node, args ...string) (wire.Fix, int, string) {
	t.Helper()
	var fo wire.Fix
	code, out := lab.RunJSON(t, n.Command(context.Background(), tsdoctor, append([]string{"fix", "--json", "--yes"}, args...)...), &fo)
	return fo, code, out
}

// undo runs `tsdoctor undo` and requires "everything is as it was".
func undo(t *testing.T, n *harness.Node) {
	t.Helper()
	var uo wire.Undo
	if code, out := lab.RunJSON(t, n.Command(context.Background(), tsdoctor, "undo", "--json"), &uo); code != 0 || len(uo.Undone) != 1 || !uo.Undone[0].Same {
		t.Fatalf("undo: exit %d\n%s", code, out)
	}
}

func blocked(rep wire.Check, addr string) bool {
	return slices.ContainsFunc(rep.Blocked, func(b checks.BlockedService) bool { return b.Address.String() == addr })
}

// TestRemediesRealTailscaled: each firewall remedy against the real daemon
// on every backend: broken → fix → DNS answers → restart tailscaled →
// exactly what the remedy promised (1 lost; 2 restored when its unit's
// script runs; 3 restored by the running guard; 5 stays off) → undo → the
// state is as before. Then, on the same daemon, undo after each change
// tailscaled can go through in between (testUndoAfterChanges).
func TestRemediesRealTailscaled(t *testing.T) {
	needRoot(t)
	for _, mode := range backends {
		for _, remedy := range []int{1, 2, 3, 5} {
			t.Run(fmt.Sprintf("%s/remedy-%d", mode, remedy), func(t *testing.T) {
				t.Parallel()
				n := startNode(t, "1.102.3", mode, lab.VariantDefault)
				testRemedyReal(t, n, remedy)
				testUndoAfterChanges(t, n, remedy)
			})
		}
	}
}

func testRemedyReal(t *testing.T, n *harness.Node, remedy int) {
	ctx := context.Background()
	before, err := n.InputRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep, raw := check(t, n); !blocked(rep, lab.InternalDNS1) {
		t.Fatalf("not broken to start with:\n%s", raw)
	}
	fo, code, raw := fix(t, n, "--remedy", fmt.Sprint(remedy))
	if code != 0 || !fo.Changed || fo.Verification == nil || !fo.Verification.Passed || !fo.Verification.DNSAnswers {
		t.Fatalf("fix %d: exit %d\n%s", remedy, code, raw)
	}

	var guard *exec.Cmd
	var guardLog syncBuffer
	if remedy == 3 {
		guard = n.Command(ctx, tsdoctor, "guard", "--allow", strings.Join(fo.Plan.Allow, ","), "--socket", n.Socket(), "-v")
		guard.Stderr = &guardLog
		defer func() {
			if t.Failed() {
				t.Logf("guard log:\n%s", guardLog.String())
			}
		}()
		if err := guard.Start(); err != nil {
			t.Fatal(err)
		}
		defer stopGuard(guard)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if remedy == 2 {
		// What tsdoctor-whitelist.service runs after tailscaled starts.
		script := filepath.Join(n.Lab.RootDir(), fixes.WhitelistScript)
		if out, err := n.Command(ctx, "sh", script, "apply").CombinedOutput(); err != nil {
			t.Fatalf("whitelist.sh apply: %v\n%s", err, out)
		}
	}
	var rep wire.Check
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rep, raw = check(t, n)
		if remedy == 1 || !blocked(rep, lab.InternalDNS1) || time.Now().After(deadline) {
			break
		}
	}
	switch remedy {
	case 1:
		if !blocked(rep, lab.InternalDNS1) {
			t.Errorf("remedy 1 should be lost on restart, but DNS is not blocked:\n%s", raw)
		}
	case 2, 3:
		if blocked(rep, lab.InternalDNS1) {
			t.Errorf("remedy %d did not survive the restart:\n%s", remedy, raw)
		}
	case 5:
		rules, _ := n.InputRules(ctx)
		if len(rules) != 0 || rep.Verdict != checks.Healthy || rep.Tailscale.NetfilterMode != "off" {
			t.Errorf("netfilter off did not stay off across the restart: ts-input %q\n%s", rules, raw)
		}
	}
	if guard != nil {
		stopGuard(guard)
		// The restore came from an event (nf_tables changes; on legacy
		// tailscaled's link and IPN bus events), not the minute's safety poll.
		if !regexp.MustCompile(`guard: (firewall changed|link tailscale0|ipn |socket |after )[^\n]*: restored`).MatchString(guardLog.String()) {
			t.Errorf("no restore by an event in the guard's log:\n%s", guardLog.String())
		}
	}

	undo(t, n)
	if remedy == 5 {
		// tailscaled rebuilds its chains when the mode goes back on.
		if err := n.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := n.InputRules(ctx)
	if !slices.Equal(tsrules.NormalizeRules(after), tsrules.NormalizeRules(before)) {
		t.Errorf("after undo ts-input\n %q\nwant\n %q", after, before)
	}
	if rep, raw := check(t, n); !blocked(rep, lab.InternalDNS1) {
		t.Errorf("after undo the host should be broken as before:\n%s", raw)
	}
}

// syncBuffer is a strings.Builder the guard's output goroutine and the test
// can share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stopGuard ends a guard started with n.Command (ip netns exec execs it, so
// the process is tsdoctor itself); safe to call twice.
func stopGuard(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

// TestNodeAttrRemedyReal: remedy 6 waits for the tailnet admin; it reports
// success only once the attribute is live, and the fix stays across a
// restart. On 1.96.5 it does not apply.
func TestNodeAttrRemedyReal(t *testing.T) {
	n := startNode(t, "1.102.3", lab.ModeIptablesNFT, lab.VariantDefault)
	ctx := context.Background()
	cmd := n.Command(ctx, tsdoctor, "fix", "--json", "--yes", "--remedy", "6", "--wait", "40s")
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	n.Control.SetNodeAttr(true) // the admin saves the policy file
	err := cmd.Wait()
	var fo wire.Fix
	if jerr := json.Unmarshal([]byte(out.String()), &fo); jerr != nil || err != nil || !fo.Verification.Passed {
		t.Fatalf("remedy 6: %v %v\n%s", err, jerr, out.String())
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, raw := check(t, n); rep.Verdict != checks.Healthy {
		t.Errorf("after restart with the attribute: %s\n%s", rep.Verdict, raw)
	}

	old := startNode(t, "1.96.5", lab.ModeIptablesNFT, lab.VariantNodeAttr)
	fo, code, raw := fix(t, old, "--remedy", "6")
	if code == 0 || fo.Applies || !strings.Contains(raw, "predates") {
		t.Errorf("remedy 6 on 1.96.5: exit %d\n%s", code, raw)
	}
}

// TestPublicDNSRealTailscaled: remedy 4 against the real daemon: DNS
// answers through the public resolvers, still after a tailscaled restart;
// undo puts resolv.conf back byte for byte.
func TestPublicDNSRealTailscaled(t *testing.T) {
	n := startNode(t, "1.102.3", lab.ModeIptablesNFT, lab.VariantDefault)
	ctx := context.Background()
	resolv := filepath.Join(n.Lab.RootDir(), "etc", "resolv.conf")
	before, err := os.ReadFile(resolv)
	if err != nil {
		t.Fatal(err)
	}
	fo, code, raw := fix(t, n, "--remedy", "4")
	if code != 0 || !fo.Verification.Passed || !fo.Verification.DNSAnswers {
		t.Fatalf("fix 4: exit %d\n%s", code, raw)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	rep, raw := check(t, n)
	if s := stepStatus(rep, "dns"); s != checks.Pass {
		t.Errorf("after restart the dns step is %s:\n%s", s, raw)
	}
	undo(t, n)
	if after, _ := os.ReadFile(resolv); string(after) != string(before) {
		t.Errorf("resolv.conf after undo %q, want %q", after, before)
	}
}

func stepStatus(rep wire.Check, id string) checks.Status {
	for _, s := range rep.Steps {
		if s.ID == id {
			return s.Status
		}
	}
	return ""
}
