package i18n

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

// TestKeysInCatalog walks the syntax of every non-test Go file of the module
// for every i18n key it passes to i18n (M, T, Msg{Key: …}, and every wrapper
// that forwards a parameter to them, found to a fixpoint) and checks each
// against the catalog, so a mistyped key fails here instead of showing as
// "!key" at run time. A key must be something the test can enumerate: a
// literal, a constant, a local variable or struct field only ever set to
// such, an index into a table of them, or a call to a function whose every
// result is one. A key built by concatenation or Sprintf fails the test.
// It also fails on a catalog key nothing uses.
func TestKeysInCatalog(t *testing.T) {
	u := loadUniverse(t, "..")
	used := map[string]bool{}
	for _, site := range u.sinkSites() {
		keys, err := u.eval(site.ctx, site.arg, map[string]bool{})
		if err != nil {
			t.Errorf("%s: %v", u.fset.Position(site.arg.Pos()), err)
			continue
		}
		for _, k := range keys {
			used[k] = true
			if k == rawKey {
				continue
			}
			if e, ok := catalog[k]; !ok {
				t.Errorf("%s: key %q is not in the catalog", u.fset.Position(site.arg.Pos()), k)
			} else if e.en == "" || e.zh == "" {
				t.Errorf("%s: key %q lacks a language", u.fset.Position(site.arg.Pos()), k)
			}
		}
	}
	var unused []string
	for k := range catalog {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	for _, k := range unused {
		t.Errorf("catalog key %q is used by no Go file: delete it", k)
	}
	t.Logf("%d key sites, %d keys in use, %d in the catalog", len(u.sinkSites()), len(used), len(catalog))
	if len(used) < 100 {
		// The walk itself is broken if it finds so few.
		t.Fatalf("found only %d keys in use", len(used))
	}
}

// TestKeyWalkCatchesBuiltKeys proves the walk fails on what it must: a
// concatenated key, a Sprintf key, an unknown literal, and one through a
// wrapper.
func TestKeyWalkCatchesBuiltKeys(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "i18n"), 0o755)
	os.WriteFile(filepath.Join(dir, "i18n", "i18n.go"), []byte(`package i18n
type Msg struct{ Key string }
func M(key string, args ...any) Msg { return Msg{Key: key} }
func T(l int, key string, args ...any) string { return key }
`), 0o644)
	os.MkdirAll(filepath.Join(dir, "p"), 0o755)
	os.WriteFile(filepath.Join(dir, "p", "p.go"), []byte(`package p
import ("fmt"; "example.com/m/i18n")
type F struct{}
func (f *F) add(key string) { _ = i18n.M(key) }
func g(id string, n int) {
	var f F
	_ = i18n.M("step." + id)
	_ = i18n.T(0, fmt.Sprintf("fix.%d.title", n))
	f.add("step.nope")
	f.add("step.dns")
	k := "step.dns"
	if n > 0 {
		k = id
	}
	_ = i18n.M(k)
}
`), 0o644)
	u := loadUniverse(t, dir)
	var got []string
	for _, site := range u.sinkSites() {
		keys, err := u.eval(site.ctx, site.arg, map[string]bool{})
		if err != nil {
			got = append(got, "error")
			continue
		}
		got = append(got, keys...)
	}
	want := []string{"error", "error", "step.nope", "step.dns", "error"}
	if !slices.Equal(got, want) {
		t.Errorf("walk found %q, want %q", got, want)
	}
}
