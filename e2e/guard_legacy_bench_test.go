package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tsdoctor/tsdoctor/e2e/harness"
	"github.com/tsdoctor/tsdoctor/lab"
)

// On iptables-legacy there are no change events to timestamp, and a read of
// the chain costs the whole table (about 70 ms with 100,000 rules), so the
// outage is measured where it hurts: by packets. The VPC's DNS address
// (100.100.2.136, source port 53, what the narrow whitelist lets in) sends
// one UDP datagram to the ECS server every millisecond; a receiver there
// records which arrive. A datagram is lost exactly while tailscaled's DROP
// stands in ts-input without the whitelist above it.

// dnsStream sends and receives the datagrams.
type dnsStream struct {
	mu    sync.Mutex
	sent  []time.Time // by sequence number
	got   map[uint64]bool
	rawFD int
	conn  net.PacketConn
	stop  chan struct{}
	done  sync.WaitGroup
}

const streamPort = 40053

func startDNSStream(b *testing.B, n *harness.Node) *dnsStream {
	s := &dnsStream{got: map[uint64]bool{}, stop: make(chan struct{})}
	if err := lab.InNetns(n.Lab.ECS(), func() (err error) {
		s.conn, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", streamPort))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	// A raw socket: the lab's DNS server holds 100.100.2.136:53.
	if err := lab.InNetns(n.Lab.VPC(), func() (err error) {
		s.rawFD, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	s.done.Add(2)
	go func() {
		defer s.done.Done()
		buf := make([]byte, 64)
		for {
			k, _, err := s.conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if k == 8 {
				s.mu.Lock()
				s.got[binary.BigEndian.Uint64(buf)] = true
				s.mu.Unlock()
			}
		}
	}()
	go func() {
		defer s.done.Done()
		src, dst := netip.MustParseAddr(lab.InternalDNS1).As4(), netip.MustParseAddr(lab.ECSAddr).As4()
		pkt := make([]byte, 20+8+8)
		pkt[0], pkt[8], pkt[9] = 0x45, 64, unix.IPPROTO_UDP // IPv4, TTL, UDP; the kernel fills length, id and checksum
		copy(pkt[12:16], src[:])
		copy(pkt[16:20], dst[:])
		binary.BigEndian.PutUint16(pkt[20:], 53)
		binary.BigEndian.PutUint16(pkt[22:], streamPort)
		binary.BigEndian.PutUint16(pkt[24:], 16) // UDP length; checksum 0: none
		to := &unix.SockaddrInet4{Addr: dst}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for seq := uint64(0); ; seq++ {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			binary.BigEndian.PutUint64(pkt[28:], seq)
			s.mu.Lock()
			s.sent = append(s.sent, time.Now())
			s.mu.Unlock()
			_ = unix.Sendto(s.rawFD, pkt, 0, to)
		}
	}()
	return s
}

func (s *dnsStream) Close() {
	close(s.stop)
	s.conn.Close()
	s.done.Wait()
	unix.Close(s.rawFD)
}

// lostBetween sums, over the runs of lost datagrams sent in [from, to), the
// time from the first lost one to the one after the last: the outage.
func (s *dnsStream) lostBetween(from, to time.Time) (time.Duration, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total time.Duration
	lost := 0
	var runStart time.Time
	for seq, t := range s.sent {
		if t.Before(from) || !t.Before(to) {
			continue
		}
		if !s.got[uint64(seq)] {
			lost++
			if runStart.IsZero() {
				runStart = t
			}
			continue
		}
		if !runStart.IsZero() {
			total += t.Sub(runStart)
			runStart = time.Time{}
		}
	}
	if !runStart.IsZero() {
		total += to.Sub(runStart)
	}
	return total, lost
}

// cpuTicks is the CPU time (clock ticks of 10 ms) a process and the
// children it has waited for have used: /proc/PID/stat utime, stime,
// cutime, cstime.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	var sum int64
	for _, i := range []int{11, 12, 13, 14} { // fields 14-17 of stat(5)
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkGuardLegacy: `tsdoctor guard` against the real tailscaled 1.102.3
// in iptables-legacy mode, with the legacy filter table empty and with
// 100,000 kube-proxy rules in 1,000 chains: the guard's idle CPU (itself
// and its children, over 61 s: one safety poll), and the DNS outage after
// each of 20 real restarts (median / p90 / max). Run:
//
//	cd e2e && sudo go test -run '^$' -bench GuardLegacy -benchtime 1x -timeout 60m
//
// TSDOCTOR_BENCH_IDLE_SECONDS and TSDOCTOR_BENCH_RESTARTS shorten it.
func BenchmarkGuardLegacy(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	idle := time.Duration(envInt("TSDOCTOR_BENCH_IDLE_SECONDS", 61)) * time.Second
	restarts := envInt("TSDOCTOR_BENCH_RESTARTS", 20)
	for _, load := range []string{"empty", "100k-filter"} {
		b.Run(load, func(b *testing.B) {
			for range b.N {
				benchGuardLegacy(b, load, idle, restarts)
			}
		})
	}
}

func benchGuardLegacy(b *testing.B, load string, idle time.Duration, restarts int) {
	ctx := context.Background()
	n, err := harness.Start(ctx, harness.Options{Version: "1.102.3", Mode: lab.ModeIptablesLegacy, Variant: lab.VariantDefault,
		Prefix: fmt.Sprintf("tslg%d", os.Getpid()%10000)})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	if load != "empty" {
		f := filepath.Join(b.TempDir(), "kube.rules")
		if err := os.WriteFile(f, []byte(lab.KubeProxyRules("filter")), 0o644); err != nil {
			b.Fatal(err)
		}
		if out, err := n.Command(ctx, "iptables-legacy-restore", "--noflush", f).CombinedOutput(); err != nil {
			b.Fatalf("load kube rules: %v\n%s", err, out)
		}
	}
	if out, err := n.Command(ctx, tsdoctor, "fix", "--json", "--yes", "--remedy", "3").CombinedOutput(); err != nil {
		b.Fatalf("fix 3: %v\n%s", err, out)
	}
	args := []string{"guard", "--allow", lab.InternalDNS1 + "," + lab.InternalDNS2, "-v"}
	if help, _ := exec.Command(tsdoctor, "guard", "-h").CombinedOutput(); strings.Contains(string(help), "-socket") {
		args = append(args, "--socket", n.Socket())
	}
	logf, err := os.Create(filepath.Join(b.TempDir(), "guard.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	pctx, pcancel := context.WithCancel(ctx)
	guard := n.Command(pctx, tsdoctor, args...)
	guard.Stderr = logf
	if err := guard.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { pcancel(); guard.Wait() }()
	// The start check and the bursts after the first events (at most
	// BurstMin once the chain is whole) are over before the idle window.
	time.Sleep(5 * time.Second)

	b.ResetTimer()
	c0, err := cpuTicks(guard.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(idle)
	c1, err := cpuTicks(guard.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	cpu := float64(c1-c0) * 10 * float64(time.Millisecond) / float64(time.Since(t0))
	b.ReportMetric(100*cpu, "idle-cpu-%")

	s := startDNSStream(b, n)
	defer s.Close()
	time.Sleep(300 * time.Millisecond)
	if w, lost := s.lostBetween(time.Now().Add(-250*time.Millisecond), time.Now().Add(-50*time.Millisecond)); lost > 0 {
		b.Fatalf("%d datagrams (%s) lost before any restart: the stream does not measure the firewall", lost, w)
	}
	var windows []time.Duration
	killed := 0
	for i := range restarts {
		from := time.Now()
		// As n.Restart, but a stop that needed SIGKILL is counted, not fatal:
		// a guard that reads the table every second holds the xtables lock
		// so often that tailscaled's cleanup can outlast systemd's 10 s.
		if err := n.StopDaemon(); err != nil {
			killed++
			b.Logf("restart %d: %v", i+1, err)
		}
		if err := n.StartDaemon(ctx); err != nil {
			b.Fatal(err)
		}
		if err := n.WaitReady(ctx); err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Second) // let a late guard finish, and the last datagrams land
		to := time.Now().Add(-100 * time.Millisecond)
		w, lost := s.lostBetween(from, to)
		b.Logf("restart %d: %d datagrams lost, outage %s", i+1, lost, w)
		windows = append(windows, w)
	}
	b.StopTimer()
	reportWindows(b, windows)
	b.ReportMetric(float64(killed), "stops-killed")
	// The stream must see the DROP at this scale, or zeros above mean
	// nothing: one more restart without the guard leaves DNS blocked.
	pcancel()
	guard.Wait()
	from := time.Now()
	if err := n.Restart(ctx); err != nil {
		b.Fatal(err)
	}
	time.Sleep(time.Second)
	if w, lost := s.lostBetween(from, time.Now().Add(-100*time.Millisecond)); lost == 0 {
		b.Fatalf("without the guard no datagram was lost after a restart: the stream does not see the DROP")
	} else {
		b.Logf("without the guard: %d datagrams lost (%s) in the second after the restart: the stream sees the DROP", lost, w)
	}
	if log, _ := os.ReadFile(logf.Name()); len(log) > 0 {
		// What the guard reacted to and what it did (not its no-op checks).
		var lines []string
		for _, l := range strings.Split(string(log), "\n") {
			if l != "" && !strings.Contains(l, "whitelist in place") {
				lines = append(lines, l)
			}
		}
		b.Logf("guard log (events and restores, last %d):\n%s", min(len(lines), 60), strings.Join(lines[max(0, len(lines)-60):], "\n"))
	}
}
