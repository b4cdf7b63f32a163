package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/fixes"
)

// TestGuardBinaryCheckedFirstInLab: remedy 3 refuses a guard binary that
// is not there or cannot run, before anything changes, with a translated
// message: the unit would only fail after the fix had claimed success
// (issue 15: `fix --remedy 3 --binary /nonexistent --yes` reported
// success).
func TestGuardBinaryCheckedFirstInLab(t *testing.T) {
	l := startLab(t, "new-order")
	notExec := filepath.Join(t.TempDir(), "tsdoctor")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := tsInput(t, l)
	for _, c := range []struct {
		binary, lang, want string
	}{
		{"/nonexistent", "en", "the guard's binary /nonexistent does not exist or is not executable"},
		{"/nonexistent", "zh", "守护进程的程序 /nonexistent 不存在或不可执行"},
		{notExec, "en", "the guard's binary " + notExec + " does not exist or is not executable"},
		{"tsdoctor", "en", `the guard's binary "tsdoctor" is not an absolute path`},
	} {
		fj, code, raw := runFix(t, l, "--remedy", "3", "--binary", c.binary, "--lang", c.lang)
		if code != 1 || fj.Changed || fj.Verification != nil || !strings.Contains(fj.Error, c.want) {
			t.Errorf("--binary %s --lang %s: exit %d, want 1 and the error %q\n%s", c.binary, c.lang, code, c.want, raw)
		}
		if got := tsInput(t, l); !slices.Equal(got, before) {
			t.Fatalf("--binary %s changed the firewall: %q", c.binary, got)
		}
		for _, f := range []string{fixes.GuardUnit, "/var/lib/tsdoctor/journal"} {
			if _, err := os.Stat(rootFile(l, f)); err == nil {
				t.Errorf("--binary %s: %s written", c.binary, f)
			}
		}
	}
}
