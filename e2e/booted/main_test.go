// Package booted tests tsdoctor on a booted Debian 12 (systemd as PID 1,
// systemd-nspawn in the lab's ECS namespace) with upstream's
// tailscaled.service, the resolver managers really installed, and tsdoctor
// installed from the .deb goreleaser builds. See e2e/host.
package booted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/host"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// debs are the packages built for this run by goreleaser: the current
// snapshot, and a newer one for the upgrade test.
var debs struct {
	deb, rpm   string // this snapshot
	newer      string // the next snapshot's .deb
	version    string // the .deb's version
	newVersion string
}

var unavailable string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if err := host.Available(); err != nil {
			unavailable = err.Error()
			return m.Run() // every test skips and says why
		}
		host.SweepStale(owner)
		sweepLabs()
		dir, err := os.MkdirTemp("", "tsdoctor-booted")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		start := time.Now()
		// TSDOCTOR_BOOTED_PACKAGES: while working on the tests, packages
		// built by an earlier run (kept there) instead of a new build.
		if keep := os.Getenv("TSDOCTOR_BOOTED_PACKAGES"); keep != "" {
			dir = keep
		}
		if err := buildPackages(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "booted: packages built in %s\n", time.Since(start).Round(100*time.Millisecond))
		// Build every root up front (cached), so no test's time includes
		// debootstrap, and report how long each took.
		for _, v := range host.Variants {
			start := time.Now()
			if _, err := host.Root(context.Background(), v, func(f string, a ...any) { fmt.Fprintf(os.Stderr, "booted: "+f+"\n", a...) }); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			if d := time.Since(start); d > time.Second {
				fmt.Fprintf(os.Stderr, "booted: root %s ready in %s\n", v, d.Round(100*time.Millisecond))
			}
		}
		for k, d := range host.BuildTimes {
			fmt.Fprintf(os.Stderr, "booted: built root %s in %s\n", k, d.Round(100*time.Millisecond))
		}
		return m.Run()
	}())
}

// owner: machines are named tsh<pid>-<n>.
func owner(name string) (int, bool) {
	var pid, n int
	if _, err := fmt.Sscanf(name, "tsh%d-%d", &pid, &n); err != nil {
		return 0, false
	}
	return pid, true
}

// sweepLabs removes the lab namespaces of runs that are gone.
func sweepLabs() {
	dirs, _ := filepath.Glob("/run/tsdoctor-lab/tsh*")
	for _, d := range dirs {
		pid, ok := owner(filepath.Base(d))
		if !ok {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		_ = lab.Down(filepath.Base(d))
		// The route tests' second tailscaled (harness.Router) runs in
		// its own namespace, in its own process group: it outlives a
		// killed run.
		rtr := filepath.Base(d) + "-rtr"
		if pids, err := exec.Command("ip", "netns", "pids", rtr).Output(); err == nil {
			for _, f := range strings.Fields(string(pids)) {
				if p, err := strconv.Atoi(f); err == nil && p > 1 {
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}
			_ = exec.Command("ip", "netns", "del", rtr).Run()
		}
	}
}

var seq atomic.Int32

// boot starts a booted host of this variant with tsdoctor installed from
// the .deb, and removes it when the test ends.
func boot(t *testing.T, variant string, setup func(*host.Machine) error) *host.Host {
	t.Helper()
	return bootWith(t, variant, false, setup)
}

// bootWith is boot, with DHCP from the VPC when dhcp is set.
func bootWith(t *testing.T, variant string, dhcp bool, setup func(*host.Machine) error, opts ...func(*host.Options)) *host.Host {
	t.Helper()
	if unavailable != "" {
		t.Skip(unavailable)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	o := host.Options{
		Variant: variant, Prefix: fmt.Sprintf("tsh%d-%d", os.Getpid(), seq.Add(1)),
		Setup: setup, Deb: debs.deb, DHCP: dhcp, Logf: t.Logf,
	}
	for _, f := range opts {
		f(&o)
	}
	h, err := host.Start(ctx, o)
	var missing host.ErrUnavailable
	if errors.As(err, &missing) {
		t.Skip(missing.Reason)
	}
	if err != nil {
		t.Fatalf("boot a %s host: %v", variant, err)
	}
	t.Logf("%s host up in %s (boot %s)", variant, time.Since(start).Round(10*time.Millisecond), h.Boots[0].Round(10*time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := h.Exec(context.Background(), "journalctl", "-b", "--no-pager", "-n", "60")
			t.Logf("journal:\n%s", out)
		}
		if err := h.Close(); err != nil {
			t.Errorf("remove the host: %v", err)
		}
	})
	return h
}

// sh runs a shell line in the host and fails the test on error.
func sh(t *testing.T, h *host.Host, script string) string {
	t.Helper()
	out, err := h.Sh(context.Background(), script)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// check runs the installed tsdoctor's check in the host.
func check(t *testing.T, h *host.Host) (wire.Check, string) {
	t.Helper()
	cmd := h.Command(context.Background(), "tsdoctor", "check", "--json", "--ecs")
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run tsdoctor: %v", err)
	}
	var rep wire.Check
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	return rep, string(out)
}

// lookup is what a client gets: `getent hosts NAME` through the host's
// resolver (libc, and systemd-resolved's stub where it is used), timed.
func lookup(t *testing.T, h *host.Host, name string) (bool, time.Duration) {
	t.Helper()
	start := time.Now()
	// An answer later than this is not working DNS anyway: no need to wait
	// out the VPC DNS's 2 s × 3 attempts × 2 servers.
	ctx, cancel := context.WithTimeout(context.Background(), 2*fastLookup)
	defer cancel()
	out, err := h.Command(ctx, "getent", "hosts", name).CombinedOutput()
	return err == nil && strings.Contains(string(out), name), time.Since(start)
}

// fastLookup: DNS answers well inside one resolver timeout (the VPC DNS
// costs 2 s per try and resolved's fallback seconds).
const fastLookup = 1500 * time.Millisecond

// mustResolveFast: a lookup answers within fastLookup. A quick failure is
// retried for a few seconds (right after netplan apply or a manager's
// restart the stub says SERVFAIL while the link is configured again); a
// slow one is not: that is a resolver that never answers being asked.
func mustResolveFast(t *testing.T, h *host.Host, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, d := lookup(t, h, "example.com")
		if ok && d <= fastLookup {
			return
		}
		if d > fastLookup || time.Now().After(deadline) {
			t.Errorf("%s: getent hosts example.com: answered %v in %s, want an answer within %s", when, ok, d.Round(time.Millisecond), fastLookup)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
