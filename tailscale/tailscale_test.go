package tailscale

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.102.3": "1.102.3", "1.96.5-ERR-BuildInfo": "1.96.5", "1.102.3-t4a5b6c7d8-gabc": "1.102.3",
		"v1.80.0": "1.80.0", " 1.98 ": "1.98.0",
	} {
		v, ok := ParseVersion(in)
		if !ok || v.String() != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %s", in, v, ok, want)
		}
	}
	for _, bad := range []string{"", "x.y.z", "1", "1.2.3.4", "-1.2.3"} {
		if _, ok := ParseVersion(bad); ok {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	if !(Version{1, 96, 5}).Less(CGNATAttrSince) || (Version{1, 102, 3}).Less(CGNATAttrSince) {
		t.Error("Less is wrong")
	}
}

func TestParseStatusAndPrefs(t *testing.T) {
	b, _ := os.ReadFile("testdata/status-nodeattr.json")
	s, err := ParseStatusJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.102.3" || s.BackendState != "Running" || !s.NodeAttr || s.TailscaleIPs[0] != "100.101.102.103" || s.Tags[0] != "tag:aliyun" {
		t.Errorf("status = %+v", s)
	}
	p, err := ParsePrefsJSON(mustRead(t, "testdata/prefs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p.NetfilterMode != NetfilterOn || p.CorpDNS == nil || !*p.CorpDNS || !p.ExitNode || !slices.Equal(p.Routes, []string{"10.0.0.0/24"}) {
		t.Errorf("prefs = %+v", p)
	}
	for _, bad := range []string{"", "{", "[]", `{"NetfilterMode": 7}`} {
		if _, err := ParsePrefsJSON([]byte(bad)); err == nil {
			t.Errorf("ParsePrefsJSON(%q): want error", bad)
		}
	}
	if _, err := ParseStatusJSON([]byte(`{"Version":"1.2.3"}`)); err == nil {
		t.Error("status without BackendState: want error")
	}
}

func mustRead(t *testing.T, name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type fakeRunner map[string]struct {
	out string
	err error
}

func (f fakeRunner) Run(_ context.Context, args ...string) ([]byte, error) {
	r, ok := f[strings.Join(args, " ")]
	if !ok {
		return nil, errors.New("unexpected call")
	}
	return []byte(r.out), r.err
}

func TestRead(t *testing.T) {
	status, _ := os.ReadFile("testdata/status-nodeattr.json")
	prefs, _ := os.ReadFile("testdata/prefs.json")
	st := Read(context.Background(), fakeRunner{
		"version --json": {out: `{"majorMinorPatch":"1.102.3","short":"1.102.3"}`},
		"status --json":  {out: string(status)},
		"debug prefs":    {out: string(prefs)},
	})
	if !st.Installed || st.Version != "1.102.3" || st.NetfilterMode != NetfilterOn || !st.CGNATDropOff || !st.NodeAttr || len(st.Errors) != 0 {
		t.Errorf("state = %+v", st)
	}

	// tailscaled stopped: the CLI works, the daemon does not answer.
	down := errors.New("tailscale status --json: failed to connect to local tailscaled; it doesn't appear to be running")
	st = Read(context.Background(), fakeRunner{
		"version --json": {out: `{"majorMinorPatch":"1.96.5"}`},
		"status --json":  {err: down},
		"debug prefs":    {err: errors.New("tailscale debug prefs: failed to connect")},
	})
	if !st.Installed || st.Version != "1.96.5" || st.BackendState != "NotRunning" || len(st.Errors) != 2 {
		t.Errorf("stopped state = %+v", st)
	}

	// Not installed.
	st = Read(context.Background(), fakeRunner{
		"version --json": {err: ErrNotInstalled}, "status --json": {err: ErrNotInstalled}, "debug prefs": {err: ErrNotInstalled},
	})
	if st.Installed {
		t.Error("want not installed")
	}

	// A CLI that prints something unexpected.
	st = Read(context.Background(), fakeRunner{
		"version --json": {out: "1.102.3\n  tailscale commit: abc"},
		"status --json":  {out: "<html>"},
		"debug prefs":    {out: "null"},
	})
	if !st.Installed || len(st.Errors) < 2 {
		t.Errorf("garbage state = %+v", st)
	}
}

func FuzzParseCLIJSON(f *testing.F) {
	f.Add([]byte(`{"majorMinorPatch":"1.102.3"}`))
	f.Add(mustReadF(f, "testdata/status-nodeattr.json"))
	f.Add(mustReadF(f, "testdata/prefs.json"))
	f.Add([]byte(statusWithPeers))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseVersionJSON(b)
		_, _ = ParseStatusJSON(b)
		_, _ = ParsePrefsJSON(b)
		_, _ = ParsePeersJSON(b)
		var r Routing
		_ = parseRoutePrefs(b, &r)
		_, _ = ParseVersion(string(b))
	})
}

func mustReadF(f *testing.F, name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// staleSocket leaves a socket file nobody listens on, as a tailscaled killed
// with SIGKILL does.
func staleSocket(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tailscaled.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	return path
}

func TestProbeSocket(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	ln, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for path, want := range map[string]Socket{
		live: SocketListening, staleSocket(t): SocketStale, filepath.Join(dir, "none"): SocketAbsent, file: SocketNone,
	} {
		if got := ProbeSocket(path); got != want {
			t.Errorf("ProbeSocket(%s) = %q, want %q", filepath.Base(path), got, want)
		}
	}
}

// probingRunner is a CLI whose daemon calls behave as the real CLI's do
// against a dead tailscaled (it keeps retrying for seconds), and which
// records what it was asked.
type probingRunner struct {
	socket string
	mu     sync.Mutex
	calls  []string
}

func (p *probingRunner) ProbeSocket() Socket { return ProbeSocket(p.socket) }

func (p *probingRunner) Run(ctx context.Context, args ...string) ([]byte, error) {
	p.mu.Lock()
	p.calls = append(p.calls, strings.Join(args, " "))
	p.mu.Unlock()
	if args[0] == "version" {
		return []byte(`{"majorMinorPatch":"1.102.3"}`), nil
	}
	<-ctx.Done() // the real CLI: "tailscaled still starting", retrying
	return nil, ctx.Err()
}

// TestReadCrashedDaemon: with tailscaled's socket stale, Read does not ask
// the CLI anything that needs the daemon (each such call costs the real CLI
// 2 s) and says the daemon is down. Before the socket probe, status and
// prefs were asked and waited.
func TestReadCrashedDaemon(t *testing.T) {
	r := &probingRunner{socket: staleSocket(t)}
	st := Read(context.Background(), r)
	if !st.DaemonDown() || st.Socket != SocketStale || st.Version != "1.102.3" {
		t.Errorf("state = %+v; want installed, daemon down, socket stale", st)
	}
	if !slices.Equal(r.calls, []string{"version --json"}) {
		t.Errorf("CLI asked %q; want only the version (no daemon call)", r.calls)
	}
}

// TestReadHungCLI: a CLI (or tailscaled) that never answers costs at most
// CallTimeout per call, not the whole check's deadline, and is not mistaken
// for a dead daemon.
func TestReadHungCLI(t *testing.T) {
	old := CallTimeout
	CallTimeout = 50 * time.Millisecond
	t.Cleanup(func() { CallTimeout = old })
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "tailscaled.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := &probingRunner{socket: filepath.Join(dir, "tailscaled.sock")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := Read(ctx, r)
	if st.DaemonDown() || st.Socket != SocketListening || !strings.Contains(strings.Join(st.Errors, "|"), "no answer within") {
		t.Errorf("state = %+v; want a listening socket, not down, and the hang named", st)
	}
	if ctx.Err() != nil {
		t.Error("Read waited for the whole deadline")
	}
}

// TestReadAbsentSocket: no socket file is a stopped tailscaled: the CLI,
// which dials that socket, is not asked anything that needs the daemon (the
// real one retries for seconds before it says so).
func TestReadAbsentSocket(t *testing.T) {
	r := &probingRunner{socket: filepath.Join(t.TempDir(), "tailscaled.sock")}
	st := Read(context.Background(), r)
	if !st.DaemonDown() || st.Socket != SocketAbsent || strings.Contains(strings.Join(st.Errors, "|"), "hangs") {
		t.Errorf("state = %+v; want daemon down, socket absent, not called a hang", st)
	}
	if !slices.Equal(r.calls, []string{"version --json"}) {
		t.Errorf("CLI asked %q; want only the version", r.calls)
	}
}
