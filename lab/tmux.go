package lab

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Tmux drives a program in the detached tmux session "w", as a person at a
// terminal would: the wizard and colour tests of cmd and e2e read its
// screen and type into it.
type Tmux struct {
	tb   TB
	tmux func(args ...string) *exec.Cmd
	// KeyPause is the wait after each key, for the program to take it.
	KeyPause time.Duration
	// Poll is how often WaitFor reads the screen.
	Poll time.Duration
}

// StartTmux runs command in a w×h session on a tmux server of its own on
// this machine, killed when the test ends; without tmux the test skips.
func StartTmux(tb TB, w, h int, command string) *Tmux {
	tb.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		tb.Skipf("no tmux: apt install tmux")
	}
	socket := fmt.Sprintf("tsdoctor-test-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	return StartTmuxWith(tb, func(args ...string) *exec.Cmd {
		return exec.Command("tmux", append([]string{"-L", socket}, args...)...)
	}, w, h, command)
}

// StartTmuxWith is StartTmux with tmux run by tmux (e.g. inside a booted
// host), which builds the command for tmux's arguments.
func StartTmuxWith(tb TB, tmux func(args ...string) *exec.Cmd, w, h int, command string) *Tmux {
	tb.Helper()
	s := &Tmux{tb: tb, tmux: tmux, KeyPause: 60 * time.Millisecond, Poll: 10 * time.Millisecond}
	if out, err := tmux("new-session", "-d", "-s", "w", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), command).CombinedOutput(); err != nil {
		tb.Fatalf("tmux: %v %s", err, out)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close kills the session's tmux server (also done when the test ends).
func (s *Tmux) Close() { _ = s.tmux("kill-server").Run() }

// Capture is the screen as text.
func (s *Tmux) Capture() string {
	out, _ := s.tmux("capture-pane", "-p", "-t", "w").Output()
	return string(out)
}

// CaptureEscapes is the screen with its colour escapes.
func (s *Tmux) CaptureEscapes() []byte {
	out, _ := s.tmux("capture-pane", "-e", "-p", "-t", "w").Output()
	return out
}

// Keys types each key (tmux key names: "Enter", "y").
func (s *Tmux) Keys(keys ...string) {
	for _, k := range keys {
		_ = s.tmux("send-keys", "-t", "w", k).Run()
		time.Sleep(s.KeyPause)
	}
}

// WaitFor waits up to d for text on the screen and returns the screen; the
// test fails, showing the screen, when it never comes.
func (s *Tmux) WaitFor(text string, d time.Duration) string {
	s.tb.Helper()
	deadline := time.Now().Add(d)
	for {
		c := s.Capture()
		if strings.Contains(c, text) {
			return c
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("screen never showed %q:\n%s", text, c)
			return c
		}
		time.Sleep(s.Poll)
	}
}
