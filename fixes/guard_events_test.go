package fixes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/lab"
)

// expectEvent waits for an event containing want.
func expectEvent(t *testing.T, ch <-chan string, want string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	var got []string
	for {
		select {
		case ev := <-ch:
			if strings.Contains(ev, want) {
				return
			}
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("no %q event within %s (got %q)", want, within, got)
		}
	}
}

// fakeIPNBus serves watch-ipn-bus on a unix socket the way tailscaled does:
// one JSON Notify per line, the initial state first, then changes.
func fakeIPNBus(t *testing.T, socket string, lines ...string) (stop func()) {
	t.Helper()
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/localapi/v0/watch-ipn-bus" || r.Host != "local-tailscaled.sock" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		for _, l := range lines {
			fmt.Fprintln(w, l)
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	})}
	go srv.Serve(ln)
	return func() { srv.Close() }
}

// TestIPNBusEvents: the bus's first message, a state change, a prefs change
// and the node attribute each give an event; the bus closing gives one; a
// new socket is noticed at once (inotify), not after the backoff.
func TestIPNBusEvents(t *testing.T) {
	dir := t.TempDir()
	socket := filepath.Join(dir, "tailscaled.sock")
	ch := make(chan string, 64)
	send := func(ev string) { ch <- ev }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ipnEvents(ctx, socket, send, t.Logf) }()
	defer func() { cancel(); <-done }()

	// No tailscaled yet: the backoff grows to seconds meanwhile.
	time.Sleep(1500 * time.Millisecond)
	stop := fakeIPNBus(t, socket,
		`{"Version":"1.102.3","State":6}`,
		`{"Health":{}}`,
		`{"State":5}`,
		`{"Prefs":{"NetfilterMode":2}}`,
		`{"SelfChange":{"CapMap":{"disable-linux-cgnat-drop-rule":null}}}`)
	expectEvent(t, ch, "socket tailscaled.sock created", 300*time.Millisecond)
	expectEvent(t, ch, "ipn bus connected", 300*time.Millisecond)
	expectEvent(t, ch, "ipn state Starting", time.Second)
	expectEvent(t, ch, "ipn prefs changed", time.Second)
	expectEvent(t, ch, "ipn node attribute granted", time.Second)
	expectEvent(t, ch, "ipn bus closed", time.Second)
	stop()
}

// TestLinkEvents: tailscale0 appearing, getting its address and going away,
// in a network namespace of the test's own; other links say nothing.
func TestLinkEvents(t *testing.T) {
	lab.NeedRoot(t, "a network namespace")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := "tsdlink-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	ch := make(chan string, 64)
	ctx, cancel := context.WithCancel(context.Background())
	var stopped <-chan struct{}
	if err := lab.InNetns(ns, func() (err error) {
		stopped, err = linkEvents(ctx, "tailscale0", func(ev string) { ch <- ev }, t.Logf)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-stopped }()
	ip := func(args ...string) {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("tuntap", "add", "dev", "other0", "mode", "tun")
	ip("tuntap", "add", "dev", "tailscale0", "mode", "tun")
	expectEvent(t, ch, "link tailscale0 new", time.Second)
	ip("addr", "add", "100.101.102.103/32", "dev", "tailscale0")
	expectEvent(t, ch, "link tailscale0 address added", time.Second)
	ip("link", "del", "tailscale0")
	expectEvent(t, ch, "link tailscale0 gone", time.Second)
	ip("link", "set", "other0", "up")
	select {
	case ev := <-ch:
		if !strings.Contains(ev, "tailscale0") {
			t.Errorf("event about another link: %q", ev)
		}
	case <-time.After(100 * time.Millisecond):
	}
}
