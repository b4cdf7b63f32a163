package fixes

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/tsdoctor/tsdoctor/lab"
)

// TestFileAttrsKept: on a real file system, with the real setfacl and
// setfattr, a file tsdoctor replaces keeps its owner, POSIX ACL and
// extended attributes, and undo puts back those recorded before the fix
// even when they were changed since. Both were lost: the new file was
// root's, without ACL or xattrs.
func TestFileAttrsKept(t *testing.T) {
	lab.NeedRoot(t, "chown")
	for _, tool := range []string{"setfacl", "getfacl", "setfattr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: apt install acl attr", tool)
		}
	}
	h := tempHost(t, nil)
	const path = "/etc/tsd-acl.conf"
	fp := h.path(path)
	if err := h.writeFile(path, []byte("before\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	sh := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if err := os.Chown(fp, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	sh("setfacl", "-m", "u:daemon:r", fp)
	sh("setfattr", "-n", "user.tsdoctor-test", "-v", "kept", fp)
	want := func(when string) {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Stat(fp, &st); err != nil || st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("%s: owner %d:%d (%v), want 65534:65534", when, st.Uid, st.Gid, err)
		}
		if acl := sh("getfacl", "-p", "--omit-header", fp); !strings.Contains(acl, "user:daemon:r--") {
			t.Errorf("%s: ACL lost:\n%s", when, acl)
		}
		if x := sh("getfattr", "--absolute-names", "-n", "user.tsdoctor-test", "--only-values", fp); x != "kept" {
			t.Errorf("%s: xattr %q, want kept", when, x)
		}
	}
	p := &Plan{Remedy: PublicDNSID}
	p.addFile(FileWrite{Path: path, Content: "ours\n", Mode: 0o640})
	if _, err := Apply(context.Background(), h, p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(fp); string(b) != "ours\n" {
		t.Fatalf("after the fix: %q", b)
	}
	want("after the fix")

	// Someone changes the attributes (not the bytes) in between.
	if err := os.Chown(fp, 0, 0); err != nil {
		t.Fatal(err)
	}
	sh("setfacl", "-b", fp)
	sh("setfattr", "-x", "user.tsdoctor-test", fp)
	res, err := Undo(context.Background(), h, false)
	if err != nil || len(res) != 1 || !res[0].Same {
		t.Fatalf("undo: %v %+v", err, res)
	}
	if b, _ := os.ReadFile(fp); string(b) != "before\n" {
		t.Errorf("after undo: %q", b)
	}
	want("after undo")
}

// TestRelabelNewFiles: where SELinux is on and restorecon exists, a file
// tsdoctor creates is relabelled for its path; a replaced one keeps its
// own label (copied with its xattrs) and is not.
func TestRelabelNewFiles(t *testing.T) {
	defer func(on func() bool, lp func(string) (string, error)) { selinuxOn, lookPath = on, lp }(selinuxOn, lookPath)
	selinuxOn = func() bool { return true }
	lookPath = func(string) (string, error) { return "/usr/sbin/restorecon", nil }
	var ran [][]string
	h := tempHost(t, func(ctx context.Context, name string, args ...string) ([]byte, error) {
		ran = append(ran, append([]string{name}, args...))
		return nil, nil
	})
	if err := h.writeFile("/etc/new.conf", []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.writeFile("/etc/new.conf", []byte("y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"restorecon", h.path("/etc/new.conf")}}; !slices.EqualFunc(ran, want, slices.Equal) {
		t.Errorf("ran %q, want %q", ran, want)
	}
}
