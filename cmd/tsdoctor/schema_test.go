package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSchemasStandAlone validates every example in docs/examples with a
// plain validator, as a user would: Debian's python3-jsonschema, each schema
// loaded on its own (no registry, no network), formats asserted. A
// cross-file $ref or a schema that rejects its own examples fails here; so
// does a document with a required field removed.
func TestSchemasStandAlone(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import jsonschema").Run()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 with jsonschema is needed in CI (apt install python3-jsonschema)")
		}
		t.Skip("no python3-jsonschema (apt install python3-jsonschema): the schemas are not checked with a plain validator")
	}
	examples, _ := filepath.Glob("../../docs/examples/*.json")
	if len(examples) == 0 {
		t.Fatal("no examples in docs/examples")
	}
	const script = `
import json, sys, jsonschema
from jsonschema import Draft202012Validator, FormatChecker
def refuse(uri):
    raise Exception("the schema refers outside itself (%s): a plain validator cannot follow that" % uri)
schemas = {}
for name in ("check-v1", "fix-v1"):
    with open("../../docs/schema/%s.schema.json" % name) as f:
        s = json.load(f)
    Draft202012Validator.check_schema(s)
    resolver = jsonschema.RefResolver.from_schema(s, handlers={"http": refuse, "https": refuse})
    schemas[name] = Draft202012Validator(s, format_checker=FormatChecker(), resolver=resolver)
bad = 0
for path in sys.argv[1:]:
    with open(path) as f:
        doc = json.load(f)
    v = schemas["check-v1" if doc.get("schema") == "tsdoctor.check/v1" else "fix-v1"]
    errs = list(v.iter_errors(doc))
    for e in errs:
        print("%s: %s at %s" % (path, e.message, list(e.absolute_path)))
    bad += len(errs)
    # The schema can fail: without its schema field the document is rejected.
    doc.pop("schema")
    if v.is_valid(doc):
        print("%s: still valid without its schema field" % path)
        bad += 1
sys.exit(1 if bad else 0)
`
	out, err := exec.Command(py, append([]string{"-c", script}, examples...)...).CombinedOutput()
	if err != nil {
		t.Errorf("python3 jsonschema: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "" && err == nil {
		t.Logf("%s", out)
	}
}
