package lab

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

type fatalTB struct{ msg string }

func (*fatalTB) Helper()                             {}
func (*fatalTB) Skipf(string, ...any)                {}
func (*fatalTB) Cleanup(func())                      {}
func (f *fatalTB) Errorf(format string, args ...any) { f.Fatalf(format, args...) }
func (f *fatalTB) Fatalf(format string, args ...any) {
	if f.msg == "" {
		f.msg = fmt.Sprintf(format, args...)
	}
}

// TestRunJSON: a non-zero exit is a document like any other; output that
// is not JSON, or a command that cannot start, fails the test.
func TestRunJSON(t *testing.T) {
	var v struct{ A int }
	code, out := RunJSON(t, exec.Command("sh", "-c", `echo '{"A":7}'; echo warn >&2; exit 3`), &v)
	if code != 3 || v.A != 7 || out != "{\"A\":7}\nwarn\n" {
		t.Errorf("exit %d, %+v, %q", code, v, out)
	}
	for _, cmd := range []*exec.Cmd{exec.Command("sh", "-c", "echo not json; echo why >&2"), exec.Command("/nonexistent/tsdoctor")} {
		f := &fatalTB{}
		RunJSON(f, cmd, &v)
		if f.msg == "" || !strings.Contains(f.msg, cmd.Args[0]) {
			t.Errorf("%v: want a failure naming the command, got %q", cmd.Args, f.msg)
		}
	}
}

// TestTmux: what is typed shows on the screen; a screen that never shows
// the text fails the test, showing the screen.
func TestTmux(t *testing.T) {
	s := StartTmux(t, 40, 5, "cat")
	s.Keys("h", "i")
	if c := s.WaitFor("hi", 5*time.Second); !strings.Contains(c, "hi") {
		t.Errorf("screen %q", c)
	}
	f := &fatalTB{}
	s.tb = f
	s.WaitFor("never typed", 50*time.Millisecond)
	if !strings.Contains(f.msg, `screen never showed "never typed"`) || !strings.Contains(f.msg, "hi") {
		t.Errorf("want a failure showing the screen, got %q", f.msg)
	}
}
