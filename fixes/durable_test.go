package fixes

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestReplaceIsDurable watches, with the real strace, the system calls of a
// file replacement and a removal: the new content is fsynced before the
// rename, and the directory is fsynced after the rename and after the
// unlink, so a crash leaves the old name or the new one, never a name that
// points at nothing. The helper process (the test binary itself, in the
// mode below) does the writes.
func TestReplaceIsDurable(t *testing.T) {
	if dir := os.Getenv("TSDOCTOR_DURABLE_HELPER"); dir != "" {
		h := &Host{Root: dir}
		if err := h.writeFile("/etc/resolv.conf", []byte("nameserver 223.5.5.5\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := h.removeFile("/etc/gone.conf"); err != nil {
			t.Fatal(err)
		}
		return
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("no strace: apt install strace")
	}
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"resolv.conf", "gone.conf"} {
		if err := os.WriteFile(filepath.Join(etc, f), []byte("nameserver 100.100.2.136\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// One file per thread (-ff), so no call is split into "unfinished" and
	// "resumed" halves by another thread's; their lines, time-stamped
	// (-ttt), are merged in order.
	out := filepath.Join(t.TempDir(), "trace")
	cmd := exec.Command(strace, "-ff", "-ttt", "-qq", "-o", out, "-e", "trace=openat,fsync,rename,renameat,renameat2,unlink,unlinkat",
		os.Args[0], "-test.run=^TestReplaceIsDurable$")
	cmd.Env = append(os.Environ(), "TSDOCTOR_DURABLE_HELPER="+root)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("strace: %v\n%s", err, b)
	}
	files, _ := filepath.Glob(out + ".*")
	var lines []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	sort.Strings(lines) // by the time stamp each line starts with
	b := []byte(strings.Join(lines, "\n"))
	// What each fd was opened as, then the order of the calls that matter.
	opened := map[string]string{}
	openRE := regexp.MustCompile(`openat\([^,]+, "([^"]+)",.*\) = (\d+)$`)
	fsyncRE := regexp.MustCompile(`fsync\((\d+)\)\s+= 0`)
	var events []string
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case openRE.MatchString(line):
			m := openRE.FindStringSubmatch(line)
			opened[m[2]] = m[1]
		case fsyncRE.MatchString(line):
			fd := fsyncRE.FindStringSubmatch(line)[1]
			switch p := opened[fd]; {
			case p == etc:
				events = append(events, "fsync dir")
			case strings.Contains(p, ".resolv.conf.tsdoctor-"):
				events = append(events, "fsync tmp")
			}
		case strings.Contains(line, "rename") && strings.Contains(line, etc+"/resolv.conf\""):
			events = append(events, "rename")
		case strings.Contains(line, "unlink") && strings.Contains(line, etc+"/gone.conf\""):
			events = append(events, "unlink")
		}
	}
	want := "fsync tmp, rename, fsync dir, unlink, fsync dir"
	if got := strings.Join(events, ", "); got != want {
		t.Errorf("system calls: %s\nwant: %s\ntrace:\n%s", got, want, b)
	}
}
