package fixes

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tsdoctor/tsdoctor/lab"
)

// TestWriteFileFullDisk: on a real file system that fills up (a 16 KiB
// tmpfs in a private mount namespace), a replacement that cannot be written
// whole fails, and the file keeps its old content. The write's error was
// shadowed, so the short temporary file was synced and renamed into place.
func TestWriteFileFullDisk(t *testing.T) {
	lab.NeedRoot(t, "a private mount namespace and a tmpfs")
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The thread is never unlocked: it leaves with its mount
		// namespace when this goroutine ends, so no mount outlives the test.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Errorf("make / private: %v", err)
			return
		}
		h := tempHost(t, nil)
		etc := filepath.Join(h.Root, "etc")
		if err := os.MkdirAll(etc, 0o755); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Mount("tmpfs", etc, "tmpfs", 0, "size=16k"); err != nil {
			t.Errorf("mount tmpfs: %v", err)
			return
		}
		defer unix.Unmount(etc, unix.MNT_DETACH)
		old := []byte("nameserver 100.100.2.136\n")
		if err := h.writeFile("/etc/resolv.conf", old, 0o644); err != nil {
			t.Error(err)
			return
		}
		big := bytes.Repeat([]byte("# a line the disk has no room for\n"), 2048)
		err := h.writeFile("/etc/resolv.conf", big, 0o644)
		if err == nil {
			t.Error("a write to a full file system reported success")
		}
		got, rerr := os.ReadFile(filepath.Join(etc, "resolv.conf"))
		if rerr != nil || !bytes.Equal(got, old) {
			t.Errorf("resolv.conf after the failed write: %d bytes %q… (%v), want the old content", len(got), strings.SplitN(string(got), "\n", 2)[0], rerr)
		}
		left, _ := filepath.Glob(filepath.Join(etc, ".resolv.conf.tsdoctor-*"))
		if len(left) > 0 {
			t.Errorf("temporary files left: %q", left)
		}
	}()
	<-done
}
