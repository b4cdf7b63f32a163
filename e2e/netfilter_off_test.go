package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// nodeCLI runs the node's real tailscale CLI, as tsdoctor on that host
// would; oldSet makes `tailscale set --help` answer as a CLI from before
// `set --netfilter-mode`, so remedy 5 takes its `tailscale up` fallback.
type nodeCLI struct {
	n      *harness.Node
	oldSet bool
}

func (c nodeCLI) Run(ctx context.Context, args ...string) ([]byte, error) {
	if c.oldSet && slices.Equal(args, []string{"set", "--help"}) {
		return []byte("USAGE\n  tailscale set [flags]\n\nFLAGS\n  --accept-dns, --accept-dns=false\n"), nil
	}
	out, err := c.n.Command(ctx, "tailscale", args...).Output()
	if err != nil {
		return out, fmt.Errorf("tailscale %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

func (c nodeCLI) host(t *testing.T) *fixes.Host {
	return &fixes.Host{Root: t.TempDir(), Run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
		if name != "tailscale" {
			return nil, fmt.Errorf("unexpected command %s", name)
		}
		return c.Run(ctx, args...)
	}}
}

// userPrefs are the prefs a person sets, as `tailscale debug prefs` prints
// them, NetfilterMode apart.
func userPrefs(ctx context.Context, t *testing.T, n *harness.Node) (map[string]any, string) {
	t.Helper()
	out, err := n.CLI(ctx, "debug", "prefs")
	var all map[string]any
	if err != nil || json.Unmarshal(out, &all) != nil {
		t.Fatalf("tailscale debug prefs: %v\n%s", err, out)
	}
	keep := map[string]any{}
	for _, k := range []string{"ControlURL", "RouteAll", "CorpDNS", "Hostname", "AdvertiseRoutes", "AdvertiseTags", "ShieldsUp",
		"RunSSH", "ExitNodeID", "ExitNodeIP", "NoSNAT", "NoStatefulFiltering", "OperatorUser", "WantRunning"} {
		keep[k] = all[k]
	}
	return keep, []string{"off", "nodivert", "on"}[int(all["NetfilterMode"].(float64))]
}

// TestNetfilterOffUpFallbackReal: remedy 5 through `tailscale up` (a CLI
// whose `set` has no --netfilter-mode) against the real tailscaled, on a
// node whose hostname pref is unset and whose login server is not the
// default: fix and undo change the netfilter mode and nothing else. The
// hostname stays unset (the OS's name was pinned as --hostname), the login
// server stays (up refused without it), and undo puts back exactly the
// mode the node had, nodivert included.
func TestNetfilterOffUpFallbackReal(t *testing.T) {
	needRoot(t)
	for _, c := range []struct{ version, mode string }{
		{"1.102.3", "on"}, {"1.102.3", "nodivert"}, {"1.96.5", "nodivert"},
	} {
		t.Run(c.version+"/"+c.mode, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			n := startNode(t, c.version, lab.ModeIptablesNFT, lab.VariantDefault)
			cli(ctx, t, n, "set", "--hostname=")
			if c.mode != "on" {
				cli(ctx, t, n, "set", "--netfilter-mode="+c.mode)
			}
			before, mode := userPrefs(ctx, t, n)
			if mode != c.mode || before["Hostname"] != "" {
				t.Fatalf("node not prepared: mode %s, prefs %v", mode, before)
			}
			run := nodeCLI{n: n, oldSet: true}
			h := run.host(t)
			rep := checks.Report{Tailscale: tailscale.Read(ctx, run)}
			p, err := fixes.NetfilterOff{}.Plan(ctx, h, rep, fixes.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if do := p.Actions[0].Command.Do; do[1] != "up" {
				t.Fatalf("not the up fallback: %q", do)
			}
			if _, err := fixes.Apply(ctx, h, p); err != nil {
				t.Fatalf("fix: %v\nplan %q", err, p.Actions[0].Command.Do)
			}
			after, mode := userPrefs(ctx, t, n)
			if mode != "off" || !reflect.DeepEqual(after, before) {
				t.Errorf("after the fix: mode %s, prefs\n %v\nwant off and\n %v\n(ran %q)", mode, after, before, p.Actions[0].Command.Do)
			}
			res, err := fixes.Undo(ctx, h, false)
			if err != nil || len(res) != 1 || !res[0].Same {
				t.Fatalf("undo: %v %+v", err, res)
			}
			after, mode = userPrefs(ctx, t, n)
			if mode != c.mode || !reflect.DeepEqual(after, before) {
				t.Errorf("after undo: mode %s, prefs\n %v\nwant %s and\n %v\n(ran %q)", mode, after, c.mode, before, p.Actions[0].Command.Undo)
			}
		})
	}
}
