package fixes

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestUndoEditedFiles: on real files, undo stops at a file changed since
// tsdoctor wrote it (edited, removed), with a diff and nothing changed,
// unless forced; a file back as it was before, or one another program
// regenerates (resolv.conf under dhclient), is restored without a word.
func TestUndoEditedFiles(t *testing.T) {
	const path = "/etc/tsd-test.conf"
	for _, c := range []struct {
		name        string
		regenerated bool
		change      func(fp string) error
		refuse      bool
		diff        string
	}{
		{"untouched", false, func(string) error { return nil }, false, ""},
		{"edited", false, func(fp string) error { return os.WriteFile(fp, []byte("ours\nadmin\n"), 0o644) }, true, "+admin"},
		{"removed", false, os.Remove, true, "has been removed since"},
		{"back as before", false, func(fp string) error { return os.WriteFile(fp, []byte("before\n"), 0o644) }, false, ""},
		{"regenerated", true, func(fp string) error { return os.WriteFile(fp, []byte("dhclient\n"), 0o644) }, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := tempHost(t, nil)
			if err := h.writeFile(path, []byte("before\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			p := &Plan{Remedy: PublicDNSID}
			p.addFile(FileWrite{Path: path, Content: "ours\n", Mode: 0o644, Regenerated: c.regenerated})
			if _, err := Apply(context.Background(), h, p); err != nil {
				t.Fatal(err)
			}
			if err := c.change(h.path(path)); err != nil {
				t.Fatal(err)
			}
			now, _ := os.ReadFile(h.path(path))
			_, err := Undo(context.Background(), h, false)
			var ee *EditedError
			if errors.As(err, &ee) != c.refuse {
				t.Fatalf("undo: %v, want a refusal: %v", err, c.refuse)
			}
			if c.refuse {
				if len(ee.Files) != 1 || !strings.Contains(ee.Files[0].Diff, c.diff) {
					t.Errorf("diff %+v, want %q in it", ee.Files, c.diff)
				}
				if b, _ := os.ReadFile(h.path(path)); string(b) != string(now) {
					t.Errorf("the refused undo changed the file to %q", b)
				}
				if _, err = UndoWith(context.Background(), h, UndoOptions{Force: true}); err != nil {
					t.Fatalf("undo --force: %v", err)
				}
			}
			if b, _ := os.ReadFile(h.path(path)); string(b) != "before\n" {
				t.Errorf("after undo: %q", b)
			}
		})
	}
}
