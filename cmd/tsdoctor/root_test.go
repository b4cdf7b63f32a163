package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// TestResolveRoot: --root wins over TSDOCTOR_ROOT, which wins over "/", and
// the check reads its files under the root it was given.
func TestResolveRoot(t *testing.T) {
	flagDir, envDir := t.TempDir(), t.TempDir()
	for _, c := range []struct{ flag, env, want string }{
		{"", "", "/"}, {"", envDir, envDir}, {flagDir, envDir, flagDir}, {flagDir, "", flagDir},
	} {
		t.Setenv("TSDOCTOR_ROOT", c.env)
		got, err := resolveRoot("check", c.flag)
		if err != nil || got != c.want {
			t.Errorf("resolveRoot(flag %q, env %q) = %q, %v; want %q", c.flag, c.env, got, err, c.want)
		}
	}
	p := rootPaths(flagDir)
	if p.ResolvConf != filepath.Join(flagDir, "etc/resolv.conf") || !strings.HasPrefix(p.ResolvedUpstream, flagDir) {
		t.Errorf("paths under %s: %+v", flagDir, p)
	}
	if rootPaths("/").ResolvConf != "/etc/resolv.conf" {
		t.Errorf("paths under /: %+v", rootPaths("/"))
	}
}

// TestOneRootLab: in the lab, whose root (TSDOCTOR_ROOT) has both VPC
// resolvers in resolv.conf, a second root Y lists only 100.100.2.138.
// `check --root Y`, TSDOCTOR_ROOT=Y and `fix --root Y` must all diagnose Y:
// before, `fix --root Y` wrote Y's files but diagnosed TSDOCTOR_ROOT's, so
// its whitelist allowed a resolver Y does not even use.
func TestOneRootLab(t *testing.T) {
	l := startLab(t, "new-order")
	y := t.TempDir()
	if err := os.MkdirAll(filepath.Join(y, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(y, "etc/resolv.conf"), []byte("nameserver "+lab.InternalDNS2+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dnsStep := func(rep wire.Check) string {
		for _, s := range rep.Steps {
			if s.ID == "dns" {
				return string(s.Status) + " " + s.Summary + " " + strings.Join(s.Evidence, " | ")
			}
		}
		return ""
	}
	onlyY := func(d string) bool {
		return strings.Contains(d, lab.InternalDNS2) && !strings.Contains(d, lab.InternalDNS1)
	}
	// The lab's own root: both VPC resolvers.
	rep, _, raw := check(t, l, "--only", "dns")
	if d := dnsStep(rep); !strings.Contains(d, lab.InternalDNS1) || !strings.Contains(d, lab.InternalDNS2) {
		t.Fatalf("lab root: dns step %q, want both VPC resolvers\n%s", d, raw)
	}
	// --root Y wins over the lab's TSDOCTOR_ROOT.
	rep, _, raw = check(t, l, "--only", "dns", "--root", y)
	if d := dnsStep(rep); !onlyY(d) {
		t.Errorf("check --root Y: dns step %q, want Y's one resolver only\n%s", d, raw)
	}
	// TSDOCTOR_ROOT=Y alone does the same.
	out, _ := l.Command(context.Background(), "env", "TSDOCTOR_ROOT="+y, binary, "check", "--json", "--only", "dns").Output()
	var envRep wire.Check
	if err := json.Unmarshal(out, &envRep); err != nil || !onlyY(dnsStep(envRep)) {
		t.Errorf("TSDOCTOR_ROOT=Y: %v %q", err, dnsStep(envRep))
	}
	// fix --root Y diagnoses Y: the whitelist it plans is Y's resolver (and
	// the metadata service), not the one only the lab's root uses.
	fj, _, rawFix := runFix(t, l, "--remedy", "2", "--dry-run", "--root", y)
	if fj.Plan == nil || !slices.Contains(fj.Plan.Allow, lab.InternalDNS2) || slices.Contains(fj.Plan.Allow, lab.InternalDNS1) {
		t.Errorf("fix --root Y: whitelist %v; want %s and not %s\n%s", fj.Plan, lab.InternalDNS2, lab.InternalDNS1, rawFix)
	}
	fj, _, rawFix = runFix(t, l, "--remedy", "2", "--dry-run")
	if fj.Plan == nil || !slices.Contains(fj.Plan.Allow, lab.InternalDNS1) || !slices.Contains(fj.Plan.Allow, lab.InternalDNS2) {
		t.Errorf("fix under the lab's root: whitelist %v; want both VPC resolvers\n%s", fj.Plan, rawFix)
	}
}
