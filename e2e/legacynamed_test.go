package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/lab"
)

// TestLegacyNamedRealTailscaled: the real tailscaled 1.102.3 on a host
// whose only iptables is the legacy one under the plain names (CentOS/RHEL
// 7, Alibaba Cloud Linux 2, Ubuntu 18.04) with iptables-services' INPUT:
// tailscaled finds `iptables` on its PATH and writes its legacy rules with
// it; tsdoctor, with the same PATH, names the DROP and applies, verifies and undoes remedies 1, 2
// (its unit's script) and 3 (the running guard) across a real restart.
func TestLegacyNamedRealTailscaled(t *testing.T) {
	needRoot(t)
	for _, remedy := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("remedy-%d", remedy), func(t *testing.T) {
			t.Parallel()
			n := startNodeWith(t, harness.Options{Version: "1.102.3", Mode: lab.ModeIptablesLegacy, Variant: lab.VariantDefault, LegacyNamed: true})
			ctx := context.Background()
			out, err := n.Command(ctx, "sh", "-c", "iptables -V; command -v iptables-legacy iptables-nft || true").CombinedOutput()
			if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "(legacy)") {
				t.Fatalf("the node's PATH is not legacy-named: %v\n%s", err, out)
			}
			if got := n.FirewallModeLogged(); got != "iptables" {
				t.Fatalf("tailscaled logged firewall mode %q, want iptables", got)
			}
			rules, err := lab.ReadInputRules(ctx, n.Lab.ECS(), lab.ModeIptablesLegacy)
			if err != nil || !strings.Contains(strings.Join(rules, "\n"), "-s 100.64.0.0/10 ! -i tailscale0 -j DROP") {
				t.Fatalf("tailscaled's legacy ts-input: %q %v", rules, err)
			}
			// iptables-services' INPUT below tailscaled's jump, as on CentOS 7.
			if err := lab.AppendInput(ctx, n.Lab.ECS(), lab.ModeIptablesLegacy, lab.CentOS7Input); err != nil {
				t.Fatal(err)
			}
			testRemedyReal(t, n, remedy)
		})
	}
}
