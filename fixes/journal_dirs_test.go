package fixes

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestUndoRemovesCreatedDirs: a remedy that writes the first file of a new
// directory (remedy 2's /usr/local/lib/tsdoctor/whitelist.sh) leaves no
// empty directory behind after undo, and a directory that existed before
// stays. Found on a booted Debian 12, where /usr/local/lib/tsdoctor was left.
func TestUndoRemovesCreatedDirs(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/local"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &Host{Root: root, StateDir: filepath.Join(root, "var/lib/tsdoctor"), Run: (&dnsRecorder{root: root}).run}
	p := &Plan{Remedy: WhitelistID}
	p.addFile(FileWrite{Path: "/usr/local/lib/tsdoctor/whitelist.sh", Content: "#!/bin/sh\n", Mode: 0o755})
	ctx := context.Background()
	if _, err := Apply(ctx, h, p); err != nil {
		t.Fatal(err)
	}
	res, err := Undo(ctx, h, false)
	if err != nil || len(res) != 1 || !res[0].Same {
		t.Fatalf("undo: %v %+v", err, res)
	}
	for _, d := range []string{"usr/local/lib/tsdoctor", "usr/local/lib"} {
		if _, err := os.Lstat(filepath.Join(root, d)); err == nil {
			t.Errorf("/%s left after undo", d)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "usr/local")); err != nil {
		t.Errorf("/usr/local existed before and must stay: %v", err)
	}
}
