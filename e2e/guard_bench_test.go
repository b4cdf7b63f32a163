package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
)

// outageWindows restarts the real tailscaled `restarts` times while a
// restorer (the guard, or the polling script) runs, and measures for each
// restart how long tailscaled's CGNAT DROP stood in ts-input without the
// whitelist above it: the time the VPC DNS was blocked. It watches
// nf_tables change events in the ECS namespace and re-reads the chain over
// netlink on each (about 0.2 ms a read), so the resolution is about a
// millisecond. A whitelist already in place when the DROP appears counts 0.
func outageWindows(b *testing.B, n *harness.Node, restarts int) []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := os.Open(filepath.Join("/run/netns", n.Lab.ECS()))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	nb := firewall.NewNFTables(int(f.Fd()))
	events, err := nb.Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ref := firewall.ChainRef{Backend: firewall.NFTables, Family: firewall.IPv4, Table: "filter", Chain: "ts-input"}
	allow := netip.MustParsePrefix(lab.InternalDNS1 + "/32")
	// exposed: the chain has the DROP and no whitelist above it.
	exposed := func() bool {
		c, err := nb.Chain(ctx, ref)
		if err != nil {
			return false
		}
		for _, r := range c.Rules {
			if r.Source == allow && r.Verdict == firewall.Accept {
				return false
			}
			if r.Source.Bits() == 10 && r.Verdict == firewall.Drop {
				return true
			}
		}
		return false
	}
	var windows []time.Duration
	for i := 0; i < restarts; i++ {
		done := make(chan time.Duration, 1)
		wctx, wcancel := context.WithCancel(ctx)
		go func() {
			var start time.Time
			for {
				select {
				case <-wctx.Done():
					return
				case <-events:
				}
				now := time.Now()
				switch e := exposed(); {
				case e && start.IsZero():
					start = now
				case !e && !start.IsZero():
					done <- now.Sub(start)
					return
				}
			}
		}()
		if err := n.Restart(ctx); err != nil {
			b.Fatal(err)
		}
		select {
		case w := <-done:
			windows = append(windows, w)
		case <-time.After(2 * time.Second):
			if exposed() {
				b.Fatalf("restart %d: DNS still blocked 2 s after tailscaled came back", i+1)
			}
			windows = append(windows, 0) // never exposed
		}
		wcancel()
	}
	return windows
}

func reportWindows(b *testing.B, w []time.Duration) {
	s := slices.Clone(w)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(s[len(s)/2]), "ms-median")
	b.ReportMetric(ms(s[len(s)*9/10]), "ms-p90")
	b.ReportMetric(ms(s[len(s)-1]), "ms-max")
	b.Logf("outage windows over %d real tailscaled restarts: %v", len(w), w)
}

// BenchmarkGuardOutage: the DNS outage window after each of 20 real
// tailscaled restarts, with `tsdoctor guard` (nftables events) restoring the
// whitelist, beside the article's polling script at a 1 s interval. Run:
//
//	cd e2e && sudo go test -run '^$' -bench GuardOutage -benchtime 1x
func BenchmarkGuardOutage(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	const restarts = 20
	for _, mode := range []string{lab.ModeIptablesNFT, lab.ModeNFTables} {
		for _, restorer := range []string{"guard", "script-1s"} {
			b.Run(mode+"/"+restorer, func(b *testing.B) {
				for range b.N {
					ctx := context.Background()
					n, err := harness.Start(ctx, harness.Options{Version: "1.102.3", Mode: mode, Variant: lab.VariantDefault,
						Prefix: fmt.Sprintf("tsmb%d", os.Getpid()%10000)})
					if err != nil {
						b.Fatal(err)
					}
					defer n.Close()
					// Install the remedy (3, daemon or script) as a user would.
					args := []string{"fix", "--json", "--yes", "--remedy", "3"}
					if restorer != "guard" {
						args = append(args, "--script", "--interval", "1s")
					}
					if out, err := n.Command(ctx, tsdoctor, args...).CombinedOutput(); err != nil {
						b.Fatalf("fix 3: %v\n%s", err, out)
					}
					var proc []string
					if restorer == "guard" {
						proc = []string{tsdoctor, "guard", "--allow", lab.InternalDNS1 + "," + lab.InternalDNS2}
					} else {
						proc = []string{"sh", filepath.Join(n.Lab.RootDir(), fixes.GuardScript), "loop", "1"}
					}
					pctx, pcancel := context.WithCancel(ctx)
					cmd := n.Command(pctx, proc[0], proc[1:]...)
					if err := cmd.Start(); err != nil {
						b.Fatal(err)
					}
					time.Sleep(300 * time.Millisecond)
					b.ResetTimer()
					w := outageWindows(b, n, restarts)
					b.StopTimer()
					pcancel()
					cmd.Wait()
					reportWindows(b, w)
				}
			})
		}
	}
}
