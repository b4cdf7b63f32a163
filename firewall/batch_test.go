package firewall

import (
	"context"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// tailscaled's iptables rules (v1.102.3), for iptables-restore.
const iptTailscaleRules = `*filter
:ts-input - [0:0]
-A INPUT -j ts-input
-A ts-input -s 100.64.0.1/32 -i lo -j ACCEPT
-A ts-input -i tailscale0 -j ACCEPT
-A ts-input -p udp -m udp --dport 43075 -j ACCEPT
-A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN
-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP
COMMIT
`

// inNetnsThread runs fn on a thread inside namespace ns; commands fn starts
// inherit it.
func inNetnsThread(t *testing.T, ns string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			t.Error(err)
			return
		}
		fn()
	}()
	<-done
}

// TestApplyBatch: the whitelist and the deletion of the DROP in one batch,
// then the inverses in reverse order, on every backend; afterwards the chain
// is exactly what it was.
func TestApplyBatch(t *testing.T) {
	for _, backend := range []Backend{IptablesNFT, IptablesLegacy, NFTables} {
		t.Run(string(backend), func(t *testing.T) {
			ns, fd := nftNetns(t)
			ref := ChainRef{Backend: backend, Family: IPv4, Table: "filter", Chain: "ts-input"}
			var b interface {
				Batcher
				Reader
			}
			var list func() []string
			switch backend {
			case NFTables:
				nftNeedTool(t, "nft")
				nftIn(t, ns, nftTailscaleRules, "nft", "-f", "-")
				b = NewNFTables(fd)
				list = func() []string { return nftListed(t, ns, "filter", "ts-input") }
			default:
				bin := map[Backend]string{IptablesNFT: "iptables-nft", IptablesLegacy: "iptables-legacy"}[backend]
				nftNeedTool(t, bin+"-restore")
				nftIn(t, ns, iptTailscaleRules, bin+"-restore", "--noflush")
				if backend == IptablesNFT {
					b = NewIptablesNFT()
				} else {
					b = NewIptablesLegacy()
				}
				list = func() []string {
					var out []string
					for _, l := range strings.Split(nftIn(t, ns, "", bin, "-S", "ts-input"), "\n") {
						if strings.HasPrefix(l, "-A ") {
							out = append(out, l)
						}
					}
					return out
				}
			}
			before := list()
			drop := Spec{Source: netip.MustParsePrefix("100.64.0.0/10"), InIface: "tailscale0", InIfaceNegated: true, Verdict: Drop}
			if backend == NFTables {
				drop.InIface = "tailscale0+"
			}
			allow := func(a string) Spec {
				return Spec{Source: netip.MustParsePrefix(a + "/32"), Protocol: "udp", SrcPort: 53, Comment: "tsdoctor-whitelist", Verdict: Accept}
			}
			changes := []Change{
				{Delete: true, Ref: ref, Pos: 5, Spec: drop},
				{Ref: ref, Pos: 1, Spec: allow("100.100.2.138")},
				{Ref: ref, Pos: 1, Spec: allow("100.100.2.136")},
			}
			var err error
			inNetnsThread(t, ns, func() { err = b.Apply(context.Background(), changes) })
			if err != nil {
				t.Fatal(err)
			}
			mid := list()
			if len(mid) != len(before)+1 || !strings.Contains(mid[0], "100.100.2.136") || !strings.Contains(mid[1], "100.100.2.138") ||
				slices.ContainsFunc(mid, func(r string) bool { return strings.Contains(r, "100.64.0.0/10") }) {
				t.Fatalf("after apply:\n%s", strings.Join(mid, "\n"))
			}
			if backend == NFTables {
				// What the plan shows is what nft lists.
				if got, want := StripCounters(mid[0]), allow("100.100.2.136").NFT(); got != want {
					t.Errorf("nft lists %q, Spec.NFT says %q", got, want)
				}
			} else if got, want := mid[0], "-A ts-input "+strings.Join(allow("100.100.2.136").IptablesArgs(), " "); got != want {
				t.Errorf("iptables lists %q, Spec.IptablesArgs says %q", got, want)
			}
			// Applying the deletion again is a no-op, not an error.
			inNetnsThread(t, ns, func() { err = b.Apply(context.Background(), []Change{changes[0]}) })
			if err != nil {
				t.Errorf("second delete: %v", err)
			}

			var undo []Change
			for i := len(changes) - 1; i >= 0; i-- {
				undo = append(undo, changes[i].Inverse())
			}
			inNetnsThread(t, ns, func() { err = b.Apply(context.Background(), undo) })
			if err != nil {
				t.Fatal(err)
			}
			after := list()
			for i := range after {
				after[i] = StripCounters(after[i])
			}
			for i := range before {
				before[i] = StripCounters(before[i])
			}
			if !slices.Equal(after, before) {
				t.Errorf("after undo\n got %q\nwant %q", after, before)
			}
		})
	}
}

// A failing batch changes nothing: the second line refers to a missing chain.
func TestApplyAtomic(t *testing.T) {
	for _, backend := range []Backend{IptablesNFT, NFTables} {
		t.Run(string(backend), func(t *testing.T) {
			ns, fd := nftNetns(t)
			var b Batcher
			var list func() string
			if backend == NFTables {
				nftNeedTool(t, "nft")
				nftIn(t, ns, nftTailscaleRules, "nft", "-f", "-")
				b = NewNFTables(fd)
			} else {
				nftNeedTool(t, "iptables-nft-restore")
				nftIn(t, ns, iptTailscaleRules, "iptables-nft-restore", "--noflush")
				b = NewIptablesNFT()
			}
			list = func() string { return StripCounters(nftIn(t, ns, "", "nft", "list", "ruleset")) }
			before := list()
			ok := ChainRef{Backend: backend, Family: IPv4, Table: "filter", Chain: "ts-input"}
			missing := ok
			missing.Chain = "no-such-chain"
			spec := Spec{Source: netip.MustParsePrefix("100.100.2.136/32"), Verdict: Accept}
			var err error
			inNetnsThread(t, ns, func() {
				err = b.Apply(context.Background(), []Change{{Ref: ok, Pos: 1, Spec: spec}, {Ref: missing, Pos: 1, Spec: spec}})
			})
			if err == nil {
				t.Fatal("batch with a missing chain: no error")
			}
			if after := list(); after != before {
				t.Errorf("a failed batch left changes:\n%s", after)
			}
		})
	}
}
