package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// openPTY opens a pseudo-terminal: the side a person types into and the
// side tsdoctor reads, a terminal as isTerminal sees it.
func openPTY(t *testing.T) (typist, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("cannot unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("no pseudo-terminal number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func exitOf(err error) int { return finish(err, i18n.EN, new(bytes.Buffer)) }

// TestFixConfirm: the confirm step asks only before a plan that changes
// something and only without --yes; without a terminal it fails (exit 1,
// the error in the document); on a terminal only yes (y, yes, 是) goes on,
// anything else, or no answer, cancels with exit 1.
func TestFixConfirm(t *testing.T) {
	changes := &fixes.Plan{Actions: []fixes.Action{{Command: &fixes.CommandPair{}}}}
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	pipeW.Close()
	for _, c := range []struct {
		name   string
		plan   *fixes.Plan
		yes    bool
		tty    bool
		answer string // typed on the terminal; "" closes it unanswered
		code   int
		out    string // what stdout says
	}{
		{name: "nothing to change", plan: &fixes.Plan{}},
		{name: "--yes", plan: changes, yes: true},
		{name: "no terminal", plan: changes, code: 1},
		{name: "y", plan: changes, tty: true, answer: "y\n"},
		{name: "YES", plan: changes, tty: true, answer: " YES \n"},
		{name: "是", plan: changes, tty: true, answer: "是\n"},
		{name: "n", plan: changes, tty: true, answer: "n\n", code: 1, out: "Cancelled"},
		{name: "empty", plan: changes, tty: true, answer: "\n", code: 1, out: "Cancelled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			f := &fixRun{fixJob: fixJob{lang: i18n.EN, yes: c.yes}, stdout: &stdout, stderr: &stderr}
			stdin := pipeR
			if c.tty {
				typist, tty := openPTY(t)
				if _, err := typist.WriteString(c.answer); err != nil {
					t.Fatal(err)
				}
				stdin = tty
			}
			err := f.confirm(c.plan, stdin)
			if code := exitOf(err); code != c.code || (c.code == 0) != (err == nil) {
				t.Fatalf("confirm: %v (exit %d), want exit %d", err, code, c.code)
			}
			if c.name == "no terminal" && (f.out.Error == "" || !strings.Contains(err.Error(), "--yes")) {
				t.Errorf("no terminal: error %v, document's error %q; want both to say --yes", err, f.out.Error)
			}
			if asked := strings.Contains(stderr.String(), "?"); asked != c.tty {
				t.Errorf("asked %v (stderr %q), want %v", asked, stderr.String(), c.tty)
			}
			if !strings.Contains(stdout.String(), c.out) || (c.out == "") != (stdout.Len() == 0) {
				t.Errorf("stdout %q, want %q", stdout.String(), c.out)
			}
		})
	}
}

// TestFixPlanWhenNotApplies: a remedy that does not apply ends the run at
// the plan step: with nothing blocked that is nothing to do (exit 0, the
// reason in the document); with services still blocked it is the wrong
// remedy (exit 1). Neither plans.
func TestFixPlanWhenNotApplies(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("as an ordinary user fix is a dry run that cannot read the firewall: another path")
	}
	r, err := fixes.ByID(fixes.DeleteDropID)
	if err != nil {
		t.Fatal(err)
	}
	blocked := []checks.BlockedService{{Address: netip.MustParseAddr("100.100.2.136"), Port: 53, Service: "dns"}}
	for _, c := range []struct {
		name    string
		blocked []checks.BlockedService
		code    int
	}{{"healthy", nil, 0}, {"still blocked", blocked, 1}} {
		t.Run(c.name, func(t *testing.T) {
			var stdout bytes.Buffer
			rep := checks.Report{Verdict: checks.Healthy, Blocked: c.blocked}
			f := &fixRun{fixJob: fixJob{remedy: r, lang: i18n.EN}, stdout: &stdout, stderr: new(bytes.Buffer),
				host: &fixes.Host{Diagnose: func(context.Context) checks.Report { return rep }}}
			plan, err := f.plan(context.Background())
			if plan != nil || err == nil || exitOf(err) != c.code {
				t.Fatalf("plan %+v, %v (exit %d); want no plan, exit %d", plan, err, exitOf(err), c.code)
			}
			if c.code == 0 && !errors.Is(err, errDone) {
				t.Errorf("nothing to do ended with %v, want errDone", err)
			}
			if f.out.Applies || f.out.Reason == "" || f.out.Plan != nil || !strings.Contains(stdout.String(), f.out.Reason) {
				t.Errorf("document %+v, stdout %q", f.out, stdout.String())
			}
		})
	}
}
