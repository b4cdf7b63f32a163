package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
)

// appendCentOS7Input appends CentOS 7's INPUT rules (lab.CentOS7Input) to
// the lab's backend.
func appendCentOS7Input(t *testing.T, l *lab.Lab) {
	t.Helper()
	if err := lab.AppendInput(context.Background(), l.ECS(), l.Scenario.Mode, lab.CentOS7Input); err != nil {
		t.Fatal(err)
	}
}

// startLegacyNamed is the legacy lab on a host whose only iptables is the
// legacy one under the plain names (CentOS/RHEL 7, Alibaba Cloud Linux 2,
// Ubuntu 18.04). It checks that the lab's PATH really is that, so the tests
// cannot pass on a PATH that still has iptables-legacy.
func startLegacyNamed(t *testing.T) *lab.Lab {
	t.Helper()
	l := startLabWith(t, "legacy", lab.Options{LegacyNamed: true})
	out, err := l.Command(context.Background(), "sh", "-c", "iptables -V; command -v iptables-legacy iptables-nft iptables-legacy-restore || true").CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "(legacy)") {
		t.Fatalf("the lab's PATH is not legacy-named: %v\n%s", err, out)
	}
	return l
}

// TestLegacyNamedCheck: on a CentOS 7 host (legacy `iptables`, no
// iptables-legacy, iptables-services' INPUT and an admin's multiport rule,
// which the table reader leaves to the iptables command) the check names
// tailscaled's DROP and exits 1. It said "COULD NOT CHECK … iptables-legacy
// not found", exit 2, after the 1.5 s probe timeout. The trace (a LOG rule
// written and removed with the same tools) leaves nothing behind.
func TestLegacyNamedCheck(t *testing.T) {
	l := startLegacyNamed(t)
	appendCentOS7Input(t, l)
	web := [][]string{{"-p", "tcp", "-m", "multiport", "--dports", "80,443", "-j", "ACCEPT"}}
	if err := lab.AppendInput(context.Background(), l.ECS(), l.Scenario.Mode, web); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"--trace"}} {
		rep, code, raw := check(t, l, args...)
		if code != 1 || rep.Verdict != checks.Blocked || rep.Culprit == nil || rep.Culprit.Backend != firewall.IptablesLegacy || rep.Culprit.Chain != "ts-input" {
			t.Fatalf("check %v: exit %d verdict %s\n%s", args, code, rep.Verdict, raw)
		}
		if strings.Contains(raw, "iptables-legacy -S") {
			t.Errorf("the commands to try name iptables-legacy, which this host has not:\n%s", raw)
		}
	}
	assertNoTraceRule(t, l)
}

// TestLegacyNamedRemedies: remedies 1, 2 and 3 on the legacy-named host:
// plan, apply, verify, idempotence, tailscaled's rebuild, the unit's script
// (which names `iptables`), the guard, and undo. Each failed with
// "iptables-legacy not found" and rolled back.
func TestLegacyNamedRemedies(t *testing.T) {
	for _, remedy := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("remedy-%d", remedy), func(t *testing.T) {
			l := startLegacyNamed(t)
			if remedy == 2 {
				fj, code, raw := runFix(t, l, "--remedy", "2", "--dry-run")
				script, inserts := "", 0
				for _, s := range fj.Plan.Steps {
					if s.File == fixes.WhitelistScript {
						script = s.Content
					}
					if strings.HasPrefix(s.Command, "iptables -t filter -I ts-input 1 ") {
						inserts++
					}
				}
				if code != 0 || inserts == 0 || strings.Contains(raw, "iptables-legacy -t") {
					t.Fatalf("plan on a legacy-named host should say `iptables`: exit %d\n%s", code, raw)
				}
				if !strings.Contains(script, "\nIPT=iptables\n") {
					t.Fatalf("the whitelist script should run `iptables`:\n%s", script)
				}
			}
			testRemedyInLab(t, l, remedy)
		})
	}
}
