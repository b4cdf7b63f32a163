package fixes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestRollbackAfterCancel: Ctrl-C (the context cancelled) makes the second
// action fail; the rollback of the first, a real command, still runs. It
// used the cancelled context, so exec refused to start anything and the
// file the first action created stayed.
func TestRollbackAfterCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := tempHost(t, func(c context.Context, name string, args ...string) ([]byte, error) {
		if name == "false" {
			cancel() // Ctrl-C while this action runs
			<-c.Done()
			return nil, c.Err()
		}
		return ExecRun(c, name, args...)
	})
	marker := filepath.Join(h.Root, "marker")
	p := &Plan{Remedy: WhitelistID}
	p.addCommand([]string{"touch", marker}, []string{"rm", "-f", marker})
	p.addCommand([]string{"false"}, nil)
	e, err := Apply(ctx, h, p)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("apply: %v", err)
	}
	if _, serr := os.Stat(marker); serr == nil {
		t.Errorf("the first action's file is still there after the rollback: %v", err)
	}
	if e == nil || !e.Undone {
		t.Errorf("journal entry not rolled back: %+v (%v)", e, err)
	}
}

// TestRollbackHalfDoneCommand: a command that fails may have done part of
// its work (`systemctl enable --now` creates the .wants link, then the
// start fails); the rollback runs its undo too.
func TestRollbackHalfDoneCommand(t *testing.T) {
	h := tempHost(t, func(c context.Context, name string, args ...string) ([]byte, error) {
		return ExecRun(c, name, args...)
	})
	link := filepath.Join(h.Root, "wants-link")
	p := &Plan{Remedy: WhitelistID}
	// Links, then fails: as enable --now whose start fails.
	p.addCommand([]string{"sh", "-c", "ln -s /dev/null " + link + " && exit 1"}, []string{"rm", "-f", link})
	if _, err := Apply(context.Background(), h, p); err == nil {
		t.Fatal("apply succeeded")
	}
	if _, err := os.Lstat(link); err == nil {
		t.Error("the half-done command's link stayed after the rollback")
	}
}
