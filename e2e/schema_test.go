package e2e

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tsdoctor/tsdoctor/lab"
)

var updateExamples = flag.Bool("update-examples", false, "rewrite docs/examples from this run")

// compileSchemas loads docs/schema/*.schema.json (JSON Schema 2020-12,
// formats asserted).
func compileSchemas(t *testing.T) (check, fix *jsonschema.Schema) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	base := "https://github.com/tsdoctor/tsdoctor/docs/schema/"
	for _, name := range []string{"check-v1.schema.json", "fix-v1.schema.json"} {
		f, err := os.Open(filepath.Join("..", "docs", "schema", name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(base+name, strict(doc)); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if check, err = c.Compile(base + "check-v1.schema.json"); err != nil {
		t.Fatal(err)
	}
	if fix, err = c.Compile(base + "fix-v1.schema.json"); err != nil {
		t.Fatal(err)
	}
	return check, fix
}

// strict closes every object of a schema (additionalProperties: false).
// The published schemas stay open, since fields may be added in a version;
// the tests hold the real output to exactly what is documented, so a field
// added to the code but not to the schema fails here.
func strict(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for _, sub := range x {
			strict(sub)
		}
		if _, ok := x["properties"]; ok {
			if _, set := x["additionalProperties"]; !set {
				x["additionalProperties"] = false
			}
		}
	case []any:
		for _, sub := range x {
			strict(sub)
		}
	}
	return v
}

func validate(t *testing.T, s *jsonschema.Schema, name string, out []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, out)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s does not match its schema: %v\n%s", name, err, out)
	}
}

// TestJSONSchemas: real output of check, fix (dry run, apply, node
// attribute pending) and undo against the real tailscaled validates against
// the documented schemas (check --trace with its paths too), and so do the
// examples in docs/examples. The schemas can fail: a document missing a required field is rejected.
func TestJSONSchemas(t *testing.T) {
	checkS, fixS := compileSchemas(t)
	if err := checkS.Validate(map[string]any{"schema": "tsdoctor.check/v1"}); err == nil {
		t.Fatal("the check schema accepts a document without a verdict")
	}
	n := startNode(t, "1.102.3", lab.ModeIptablesNFT, lab.VariantDefault)
	ctx := context.Background()
	run := func(args ...string) []byte {
		out, _ := n.Command(ctx, tsdoctor, args...).Output()
		return out
	}
	type doc struct {
		name string
		s    *jsonschema.Schema
		out  []byte
	}
	docs := []doc{
		{"check-blocked", checkS, run("check", "--json")},
		{"check-trace-blocked", checkS, run("check", "--json", "--trace", "--only", "trace")},
		{"fix-whitelist-dry-run", fixS, run("fix", "--json", "--remedy", "2", "--dry-run")},
		{"fix-whitelist", fixS, run("fix", "--json", "--yes", "--remedy", "2")},
		{"check-healthy", checkS, run("check", "--json")},
		{"check-trace-whitelisted", checkS, run("check", "--json", "--trace", "--only", "trace")},
		{"undo", fixS, run("undo", "--json")},
		{"fix-node-attr-pending", fixS, run("fix", "--json", "--yes", "--remedy", "6")},
	}
	// tailscaled killed: its rules orphaned, its socket stale.
	if err := n.KillDaemon(); err != nil {
		t.Fatal(err)
	}
	docs = append(docs, doc{"check-orphaned", checkS, run("check", "--json")})
	for _, d := range docs {
		validate(t, d.s, d.name, d.out)
		if strings.HasPrefix(d.name, "check-trace") && !strings.Contains(string(d.out), `"paths"`) {
			t.Errorf("%s has no paths:\n%s", d.name, d.out)
		}
		path := filepath.Join("..", "docs", "examples", d.name+".json")
		if *updateExamples {
			if err := os.WriteFile(path, d.out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	examples, _ := filepath.Glob(filepath.Join("..", "docs", "examples", "*.json"))
	if len(examples) < len(docs) {
		t.Errorf("docs/examples has %d examples, want %d (run with -update-examples)", len(examples), len(docs))
	}
	for _, e := range examples {
		b, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		s := fixS
		if strings.HasPrefix(filepath.Base(e), "check") {
			s = checkS
		}
		validate(t, s, e, b)
	}
}
