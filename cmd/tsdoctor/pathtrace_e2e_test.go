package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// holdLogSilent makes the kernel log silent in namespaces
// (nf_log_all_netns=0) for the test: the packet trace must not need it.
func holdLogSilent(t *testing.T) {
	t.Helper()
	lab.HoldNfLogAllNetns(t, "0")
}

func pathOf(rep wire.Check, src, proto string) *nftrace.Path {
	for i := range rep.Paths {
		if p := rep.Paths[i].Packet; p.Src.String() == src && p.Proto == proto {
			return &rep.Paths[i]
		}
	}
	return nil
}

// TestPathTrace: `check --trace --json` shows each reply's path on both
// nf_tables backends with the kernel log silent: the CGNAT DROP before a
// remedy, remedy 2's ACCEPT after it; iptables-legacy says it has no
// nftables tracing; no trace table is left.
func TestPathTrace(t *testing.T) {
	holdLogSilent(t)
	// ubuntu-stub: resolv.conf names systemd-resolved's 127.0.0.53; the
	// trace follows the stub to its upstreams, the VPC DNS.
	for _, scenario := range []string{"new-order", "nftables", "legacy", "ubuntu-stub"} {
		t.Run(scenario, func(t *testing.T) {
			l := startLab(t, scenario)
			rep, _, raw := check(t, l, "--trace", "--only", "trace,rules")
			assertNoTraceTable(t, l)
			if scenario == "legacy" {
				if len(rep.Paths) != 0 || !strings.Contains(raw, "no nftables tracing") {
					t.Errorf("legacy: paths %+v\n%s", rep.Paths, raw)
				}
				return
			}
			if rep.Culprit == nil || len(rep.Paths) < 4 {
				t.Fatalf("culprit %+v, %d paths\n%s", rep.Culprit, len(rep.Paths), raw)
			}
			for _, p := range rep.Paths {
				h := p.Hops[max(p.Final(), 0)]
				if p.Verdict() != "drop" || h.Chain != rep.Culprit.Chain || h.Position != rep.Culprit.Position || h.Rule != rep.Culprit.Rule {
					t.Errorf("path %s (final %+v), want the culprit %+v", p, h, rep.Culprit)
				}
				if !strings.HasPrefix(p.String(), "INPUT #1 jump ts-input → ") {
					t.Errorf("path %q does not start at INPUT's jump", p)
				}
			}
			if !strings.Contains(raw, "ts-input #5 DROP") {
				t.Errorf("the trace step does not show the path:\n%s", raw)
			}

			fix := l.Command(context.Background(), binary, "fix", "--remedy", "2", "--yes")
			if out, err := fix.CombinedOutput(); err != nil {
				t.Fatalf("fix --remedy 2: %v\n%s", err, out)
			}
			rep, _, raw = check(t, l, "--trace", "--only", "trace")
			assertNoTraceTable(t, l)
			// The whitelist's rules come first in ts-input, one per address
			// and protocol: every reply now ends at one of them.
			for _, p := range rep.Paths {
				h := p.Hops[max(p.Final(), 0)]
				if p.Verdict() != "accept" || h.Chain != "ts-input" || h.Comment != "tsdoctor-whitelist" || h.Position >= 5 {
					t.Errorf("after remedy 2: %s (final %+v)", p, h)
				}
			}
			if p := pathOf(rep, "100.100.2.136", "udp"); p == nil || !strings.HasSuffix(p.String(), "ts-input #1 ACCEPT tsdoctor-whitelist") {
				t.Errorf("100.100.2.136 after remedy 2: %v\n%s", p, raw)
			}
			if len(rep.Paths) < 4 {
				t.Errorf("%d paths after remedy 2, want 4", len(rep.Paths))
			}
		})
	}
}

func assertNoTraceTable(t *testing.T, l *lab.Lab) {
	t.Helper()
	lab.AssertNoNFTable(t, l, nftrace.TablePrefix)
}

// TestPathTraceSIGKILL kills `check --trace` while its trace table is in
// place: the table stays (nothing can remove it then), and the next run
// sweeps it before anything else and says so.
func TestPathTraceSIGKILL(t *testing.T) {
	holdLogSilent(t)
	l := startLab(t, "new-order")
	seen, left := signalMidTrace(t, l, syscall.SIGKILL)
	if left != seen {
		t.Fatalf("SIGKILL while %s was in place left %q", seen, left)
	}
	_, _, raw := check(t, l, "--only", "rules")
	if !strings.Contains(raw, "packet trace table left by an earlier tsdoctor run: "+left) {
		t.Errorf("the next run does not report sweeping %s:\n%s", left, raw)
	}
	assertNoTraceTable(t, l)
}

// TestPathTraceSIGTERM: SIGTERM (and so Ctrl-C, the same cancellation) while
// the trace table is in place: the process removes it before it exits.
func TestPathTraceSIGTERM(t *testing.T) {
	holdLogSilent(t)
	l := startLab(t, "new-order")
	seen, left := signalMidTrace(t, l, syscall.SIGTERM)
	if left != "" {
		t.Errorf("SIGTERM while %s was in place left %s", seen, left)
	}
	assertNoTraceTable(t, l)
}

// signalMidTrace starts `check --trace` in the lab, watches the namespace's
// tables over netlink until the trace table appears, sends sig to the
// tsdoctor process, waits for it to exit and returns the table it saw and
// the one left (if any).
func signalMidTrace(t *testing.T, l *lab.Lab, sig syscall.Signal) (seen, left string) {
	t.Helper()
	ns, err := os.Open(filepath.Join("/run/netns", l.ECS()))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	conn, err := nftables.New(nftables.WithNetNSFd(int(ns.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	traceTable := func() string {
		ts, _ := conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
		for _, tb := range ts {
			if strings.HasPrefix(tb.Name, nftrace.TablePrefix) {
				return tb.Name
			}
		}
		return ""
	}
	// A third resolver whose port 53 is closed: tailscaled's DROP eats the
	// ICMP error too, so its probe (never traced: not a DNS reply) keeps the
	// trace open for its whole window, time enough to signal it.
	resolv := filepath.Join(l.RootDir(), "etc", "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 100.100.2.136\nnameserver 100.100.2.138\nnameserver 100.100.100.200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 10; attempt++ {
		cmd := l.Command(context.Background(), binary, "check", "--trace", "--only", "trace")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		for seen == "" {
			select {
			case <-done:
			default:
				seen = traceTable()
				if seen == "" {
					time.Sleep(100 * time.Microsecond)
				}
				continue
			}
			break
		}
		if seen != "" {
			// ip netns exec and env exec: the child is tsdoctor itself.
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)); !strings.HasPrefix(string(b), binary+"\x00") {
				t.Fatalf("process %d is %q, not tsdoctor", cmd.Process.Pid, b)
			}
			syscall.Kill(cmd.Process.Pid, sig)
			<-done
			return seen, traceTable()
		}
	}
	t.Fatal("never saw check --trace's trace table (10 tries)")
	return "", ""
}

// BenchmarkCheckTrace: the whole `check --trace` against plain `check` on the
// broken host, so the difference is what --trace costs end to end: the
// packet trace plus the LOG trace (with the kernel log on, so LOG returns as
// soon as its lines arrive). The packet trace alone is BenchmarkTrace in
// firewall/nftrace.
//
//	sudo go test ./cmd/tsdoctor -run '^$' -bench CheckTrace -benchtime 40x
func BenchmarkCheckTrace(b *testing.B) {
	lab.HoldNfLogAllNetns(b, "1")
	for _, sc := range []string{"new-order", "nftables"} {
		for _, trace := range []bool{false, true} {
			name := sc + "/check"
			args := []string{"check", "--json", "--ecs"}
			if trace {
				name, args = name+"-trace", append(args, "--trace")
			}
			b.Run(name, func(b *testing.B) {
				l := startLab(b, sc)
				timeRuns(b, l, []int{1}, binary, args...)
			})
		}
	}
}

// TestWizardTmuxPath: the real wizard in tmux inside the lab, kernel log
// silent: after the yes, the trace step draws the replies' path to
// ts-input's DROP; after remedy 2 the verify screen traces again and draws
// the whitelist rule that now lets them in; no trace table is left.
func TestWizardTmuxPath(t *testing.T) {
	holdLogSilent(t)
	l := startLab(t, "new-order")
	s := lab.StartTmux(t, 100, 30, wizardCommand(l))
	s.WaitFor("Blocked by tailscaled", 10*time.Second)
	s.Keys("Enter", "Enter", "Enter")
	s.WaitFor("Run the LOG trace?", 2*time.Second)
	s.Keys("y")
	scrollTo := func(want string) string {
		t.Helper()
		for i := 0; ; i++ {
			if c := s.Capture(); strings.Contains(c, want) {
				return c
			}
			if i > 80 {
				t.Fatalf("never showed %q:\n%s", want, s.Capture())
			}
			s.Keys("j")
			time.Sleep(20 * time.Millisecond)
		}
	}
	s.WaitFor("The replies' path through the firewall", 10*time.Second)
	screen := scrollTo("ts-input #5 DROP  ✗ dropped here")
	if !strings.Contains(screen, "    INPUT #1 jump ts-input\n") {
		t.Errorf("the path lacks INPUT's jump:\n%s", screen)
	}
	assertNoTraceTable(t, l)
	s.Keys("Left", "Right", "Enter")
	s.WaitFor("Rule discovery", 2*time.Second)
	s.Keys("Enter")
	s.WaitFor("Pick a remedy", 2*time.Second)
	s.Keys("k", "Enter")
	s.WaitFor("Apply it?", 5*time.Second)
	s.Keys("y")
	s.WaitFor("Verified: Whitelist", 15*time.Second)
	scrollTo("ts-input #1 ACCEPT tsdoctor-whitelist  ✓ let in here")
	assertNoTraceTable(t, l)
	s.Keys("u")
	s.Keys("q")
}
