package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/wire"
)

// TestUndoRefusesEditedFiles: in the lab, remedy 2 writes its script and
// unit; the admin then edits the unit. `undo` shows the difference (a
// unified diff), changes nothing and exits 1; `undo --json` carries the same
// diff; `undo --force` restores the host as it was before the fix. Undo used
// to restore the file's old bytes over the admin's edit without a word.
func TestUndoRefusesEditedFiles(t *testing.T) {
	l := startLab(t, "new-order")
	if fj, code, raw := runFix(t, l, "--remedy", "2"); code != 0 || !fj.Changed {
		t.Fatalf("fix 2: exit %d\n%s", code, raw)
	}
	unit := rootFile(l, fixes.WhitelistUnit)
	wrote, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(wrote), "[Service]\n", "[Service]\nEnvironment=ADMIN=edit\n", 1)
	if edited == string(wrote) {
		t.Fatalf("no [Service] in the unit:\n%s", wrote)
	}
	if err := os.WriteFile(unit, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr strings.Builder
	cmd := l.Command(context.Background(), binary, "undo")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("undo of an edited file: %v, want exit 1\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"changed since tsdoctor wrote it", "--force", "--- " + fixes.WhitelistUnit + " (as tsdoctor wrote it)", "+Environment=ADMIN=edit"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("undo's stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if b, _ := os.ReadFile(unit); string(b) != edited {
		t.Errorf("undo changed the edited unit:\n%s", b)
	}
	if _, err := os.Stat(rootFile(l, fixes.WhitelistScript)); err != nil {
		t.Errorf("undo removed the script though it stopped: %v", err)
	}

	out, _ := l.Command(context.Background(), binary, "undo", "--json").Output()
	var uj wire.Undo
	if err := json.Unmarshal(out, &uj); err != nil || len(uj.Edited) != 1 || uj.Edited[0].Path != fixes.WhitelistUnit ||
		!strings.Contains(uj.Edited[0].Diff, "+Environment=ADMIN=edit") || len(uj.Undone) != 0 {
		t.Errorf("undo --json: %v\n%s", err, out)
	}

	out, err = l.Command(context.Background(), binary, "undo", "--force").CombinedOutput()
	if err != nil {
		t.Fatalf("undo --force: %v\n%s", err, out)
	}
	for _, f := range []string{fixes.WhitelistUnit, fixes.WhitelistScript} {
		if _, err := os.Stat(rootFile(l, f)); err == nil {
			t.Errorf("%s still there after undo --force\n%s", f, out)
		}
	}
}
