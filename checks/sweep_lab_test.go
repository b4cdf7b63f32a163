package checks

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// sweepChild, set, makes TestSweepLab the sweep itself, run by the test in
// a network namespace of its own (`ip netns exec`), so every firewall tool
// and netlink socket of the process is there and none on the host.
const sweepChild = "TSDOCTOR_SWEEP_CHILD"

// TestSweepLab: on each backend, tailscaled's rules as the lab installs them,
// a trace LOG rule left by a killed tsdoctor at the top of INPUT, as that
// backend's writer puts it (on nftables also a killed run's trace table),
// and the LOG rule of a run still tracing (this test's own pid). Sweep, the
// first step of every run, removes exactly the leftovers, says what it
// removed, and leaves tailscaled's rules and the live run's trace alone.
func TestSweepLab(t *testing.T) {
	if os.Getenv(sweepChild) != "" {
		sweepChildMain(t)
		return
	}
	lab.NeedRoot(t, "network namespaces")
	for _, c := range []struct {
		scenario string
		backend  firewall.Backend
	}{
		{"new-order", firewall.IptablesNFT},
		{"legacy", firewall.IptablesLegacy},
		{"nftables", firewall.NFTables},
	} {
		t.Run(string(c.backend), func(t *testing.T) {
			s, err := lab.ParseScenario(c.scenario)
			if err != nil {
				t.Fatal(err)
			}
			ns := sweepNetns(t)
			ctx := context.Background()
			if err := lab.InstallRules(ctx, ns, s); err != nil {
				t.Fatal(err)
			}
			// pid 999999999 is above any pid_max: that run is gone.
			spec, live := tsrules.TraceSpec("999999999-9"), tsrules.TraceSpec(fmt.Sprintf("%d-1", os.Getpid()))
			var plant [][]string
			for _, sp := range []firewall.Spec{live, spec} {
				switch c.backend {
				case firewall.NFTables:
					plant = append(plant, append([]string{"nft", "insert", "rule", "ip", "filter", "INPUT"}, strings.Fields(sp.NFT())...))
				case firewall.IptablesLegacy:
					plant = append(plant, append([]string{"iptables-legacy", "-w", "10", "-I", "INPUT", "1"}, sp.IptablesArgs()...))
				default:
					plant = append(plant, append([]string{"iptables-nft", "-w", "-I", "INPUT", "1"}, sp.IptablesArgs()...))
				}
			}
			if c.backend == firewall.NFTables {
				plant = append(plant, []string{"nft", "add", "table", "ip", nftrace.TablePrefix + "999999999-1"})
			}
			for _, args := range plant {
				if out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput(); err != nil {
					t.Fatalf("plant the leftover: %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}

			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("ip", "netns", "exec", ns, self, "-test.run=^TestSweepLab$", "-test.count=1")
			cmd.Env = append(os.Environ(), sweepChild+"=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the sweep: %v\n%s", err, out)
			}
			var got sweptJSON
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if j, ok := strings.CutPrefix(sc.Text(), "SWEPT "); ok {
					if err := json.Unmarshal([]byte(j), &got); err != nil {
						t.Fatal(err)
					}
				}
			}
			if len(got.Rules) != 1 || got.Rules[0].Backend != c.backend || got.Rules[0].Chain != "INPUT" || got.Rules[0].Comment != spec.Comment {
				t.Errorf("swept rules %+v, want the one trace rule in %s INPUT\n%s", got.Rules, c.backend, out)
			}
			if want := []string(nil); c.backend == firewall.NFTables {
				want = []string{nftrace.TablePrefix + "999999999-1"}
				if !slices.Equal(got.Tables, want) {
					t.Errorf("swept tables %q, want %q", got.Tables, want)
				}
			} else if len(got.Tables) != 0 {
				t.Errorf("swept tables %q, want none", got.Tables)
			}
			var left string
			for _, args := range [][]string{{"iptables-nft-save"}, {"iptables-legacy-save"}, {"nft", "list", "ruleset"}} {
				out, _ := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
				if strings.Contains(string(out), spec.Comment) || strings.Contains(string(out), nftrace.TablePrefix) {
					t.Errorf("%s still shows a leftover:\n%s", args[0], out)
				}
				left += string(out)
			}
			if strings.Count(left, live.Comment) != 1 {
				t.Errorf("the live run's trace rule %q is gone or doubled:\n%s", live.Comment, left)
			}
			rules, err := lab.ReadInputRules(ctx, ns, s.Mode)
			if err != nil {
				t.Fatal(err)
			}
			if want := s.InputRules(); !slices.Equal(rules, want) {
				t.Errorf("tailscaled's ts-input after the sweep:\n%s\nwant:\n%s", strings.Join(rules, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

type sweptJSON struct {
	Rules  []firewall.Rule
	Tables []string
}

// sweepChildMain is the child: the real firewall of its namespace, root.
func sweepChildMain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := Sweep(ctx, Env{Firewall: firewall.Default(), NFTrace: nftrace.Namespace{}, Root: true})
	b, err := json.Marshal(sweptJSON{s.Rules, s.Tables})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("SWEPT " + string(b))
}

// sweepNetns is a fresh, empty network namespace, deleted after the test.
func sweepNetns(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := "tsdrh-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("ip netns add %s failed (%v): %s", ns, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	return ns
}
