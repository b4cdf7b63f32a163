package main

import (
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/lab"
)

// TestFinalRejectCountsAsDefaultDeny: remedy 5 warns that Tailscale traffic
// is turned away once tailscaled's `-i tailscale0 -j ACCEPT` is gone, when
// INPUT's policy is DROP and also when the policy is ACCEPT but INPUT ends in
// an unconditional REJECT (CentOS 7's iptables-services, firewalld's
// iptables backend). The REJECT went unnoticed.
func TestFinalRejectCountsAsDefaultDeny(t *testing.T) {
	lab.NeedRoot(t, "network namespaces")
	warning := "Tailscale traffic (including SSH over Tailscale)"
	for _, scenario := range []string{"legacy", "new-order"} {
		t.Run(scenario, func(t *testing.T) {
			l := startLab(t, scenario)
			if _, _, raw := runFix(t, l, "--remedy", "5", "--dry-run"); strings.Contains(raw, warning) {
				t.Fatalf("policy ACCEPT and no final REJECT: no warning expected\n%s", raw)
			}
			appendCentOS7Input(t, l)
			fj, code, raw := runFix(t, l, "--remedy", "5", "--dry-run")
			if code != 0 || fj.Changed || !strings.Contains(strings.Join(fj.Plan.Notes, "\n"), warning) {
				t.Fatalf("final REJECT under policy ACCEPT: want the warning (exit %d)\n%s", code, raw)
			}
		})
	}
}
