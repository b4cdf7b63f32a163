// Package tailscale reads Tailscale's state on this host through the local
// `tailscale` CLI: the daemon's version, backend state, prefs (netfilter mode,
// accept-dns) and node attributes. It never changes anything.
package tailscale

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// NodeAttrDisableCGNATDrop is the node attribute (tailscaled ≥ 1.98) that turns
// the CGNAT DROP rule into RETURN.
const NodeAttrDisableCGNATDrop = "disable-linux-cgnat-drop-rule"

// Runner runs the tailscale CLI; tests substitute a fake.
type Runner interface {
	Run(ctx context.Context, args ...string) (stdout []byte, err error)
}

// ExecRunner runs the real CLI found on PATH (or at Path). Socket is
// tailscaled's LocalAPI socket the CLI talks to (DefaultSocket under the
// host's root), probed directly before asking the CLI anything that needs
// the daemon; "" skips the probe.
type ExecRunner struct{ Path, Socket string }

// DefaultSocket is where tailscaled listens on Linux, as the CLI expects it
// (paths.DefaultTailscaledSocket; /run/tailscale under systemd is the same
// directory).
const DefaultSocket = "/var/run/tailscale/tailscaled.sock"

// Socket is what a connect to tailscaled's LocalAPI socket says.
type Socket string

const (
	SocketListening Socket = "listening"
	// SocketStale: the file is there but nobody accepts connections:
	// tailscaled died without cleaning up (kill -9, OOM, a crash).
	SocketStale  Socket = "stale"
	SocketAbsent Socket = "absent"
	SocketNone   Socket = "" // not probed, or nothing certain
)

// SocketProber is a Runner that can probe tailscaled's socket itself. The
// CLI cannot be asked instead: against a dead daemon it retries for two
// seconds after its own start (safesocket's "tailscaled still starting"),
// so every check of a crashed tailscaled would cost 2 s.
type SocketProber interface {
	ProbeSocket() Socket
}

// ProbeSocket connects to the socket at path once. A refused connection on
// an existing socket file is certain death (the kernel answers at once), and
// no file means the CLI, which dials that path, can reach no tailscaled;
// anything else leaves the judgement to the CLI.
func ProbeSocket(path string) Socket {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return SocketAbsent
	}
	if err != nil || fi.Mode()&fs.ModeSocket == 0 {
		return SocketNone
	}
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err == nil {
		c.Close()
		return SocketListening
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return SocketStale
	}
	return SocketNone
}

func (r ExecRunner) ProbeSocket() Socket {
	if r.Socket == "" {
		return SocketNone
	}
	return ProbeSocket(r.Socket)
}

// CallTimeout bounds each CLI call: a hung tailscaled (or CLI) must not hold
// the diagnosis for the whole check's deadline. The CLI normally answers in
// tens of milliseconds.
var CallTimeout = time.Second

// ErrNoAnswer: a CLI call did not finish within CallTimeout.
var ErrNoAnswer = errors.New("no answer")

// ErrDaemonAbsent means tailscaled's socket does not exist: the CLI, which
// talks to it, can reach no tailscaled, and was not asked.
var ErrDaemonAbsent = errors.New("tailscaled is not running: its socket does not exist")

// ErrDaemonDead means tailscaled's socket refused the connection: the daemon
// is not running, and the CLI was not asked.
var ErrDaemonDead = errors.New("tailscaled is not running: its socket is there but nobody listens (it was killed or crashed)")

// ErrNotInstalled means there is no tailscale CLI on this host.
var ErrNotInstalled = errors.New("tailscale CLI not found")

func (r ExecRunner) Run(ctx context.Context, args ...string) ([]byte, error) {
	path := r.Path
	if path == "" {
		p, err := exec.LookPath("tailscale")
		if err != nil {
			return nil, ErrNotInstalled
		}
		path = p
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.Bytes(), fmt.Errorf("tailscale %s: %s", strings.Join(args, " "), firstLine(msg))
	}
	return out.Bytes(), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// NetfilterMode is tailscaled's netfilter mode pref.
type NetfilterMode string

const (
	NetfilterOff      NetfilterMode = "off"
	NetfilterNoDivert NetfilterMode = "nodivert"
	NetfilterOn       NetfilterMode = "on"
)

// State is what the CLI says about Tailscale on this host. Fields the CLI
// could not provide stay at their zero value and the reason is in Errors.
type State struct {
	Installed     bool
	Version       string        // daemon (or CLI) version, "1.102.3"
	CLIVersion    string        // the CLI's own version
	BackendState  string        // Running, NeedsLogin, Stopped, Starting
	NetfilterMode NetfilterMode // "" when unknown
	NetfilterKind string        // "", "iptables" or "nftables"
	AcceptDNS     *bool
	// NodeAttr: the tailnet grants disable-linux-cgnat-drop-rule (the key
	// is in Self.CapMap). CGNATDropOff: and this tailscaled honours it
	// (1.98.0 and later, or a version that could not be read).
	NodeAttr     bool
	CGNATDropOff bool
	// Socket is what a direct probe of tailscaled's socket found.
	Socket          Socket
	TailscaleIPs    []string
	HostName        string
	DNSName         string
	Tags            []string
	LoginName       string // the node owner's login`
	AdvertiseRoutes []string
	ExitNode        bool
	// Routing is what brings routes into table 52 (routes.go).
	Routing Routing
	Errors  []string
}

// Read asks the CLI for version, status and prefs concurrently. It does not
// fail: what could not be read is recorded in State.Errors.
func Read(ctx context.Context, r Runner) State {
	var (
		st               State
		wg               sync.WaitGroup
		vOut, sOut, pOut []byte
		vErr, sErr, pErr error
	)
	if p, ok := r.(SocketProber); ok {
		st.Socket = p.ProbeSocket()
	}
	run := func(out *[]byte, e *error, args ...string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, CallTimeout)
			defer cancel()
			*out, *e = r.Run(cctx, args...)
			if *e != nil && cctx.Err() != nil && ctx.Err() == nil {
				*e = fmt.Errorf("tailscale %s: %w within %v (tailscaled or its CLI hangs)", strings.Join(args, " "), ErrNoAnswer, CallTimeout)
			}
		}()
	}
	// `version` needs no daemon; status and prefs do, and are not asked of a
	// dead one.
	run(&vOut, &vErr, "version", "--json")
	switch st.Socket {
	case SocketStale:
		sErr, pErr = ErrDaemonDead, ErrDaemonDead
	case SocketAbsent:
		// The CLI talks to this socket: with none there it can reach no
		// tailscaled, and would only retry for seconds before saying so.
		sErr, pErr = ErrDaemonAbsent, ErrDaemonDead
	default:
		run(&sOut, &sErr, "status", "--json")
		run(&pOut, &pErr, "debug", "prefs")
	}
	wg.Wait()

	if errors.Is(vErr, ErrNotInstalled) {
		return State{Installed: false, Socket: st.Socket}
	}
	st.Installed = true
	note := func(err error) {
		if err != nil {
			st.Errors = append(st.Errors, err.Error())
		}
	}
	if vErr == nil {
		v, err := ParseVersionJSON(vOut)
		note(err)
		st.CLIVersion = v
	} else {
		note(vErr)
	}
	if sErr == nil || len(sOut) > 0 {
		// `tailscale status --json` prints JSON even when it exits non-zero
		// (e.g. NeedsLogin), so parse whatever came out.
		s, err := ParseStatusJSON(sOut)
		if err != nil {
			note(sErr)
			note(err)
		} else {
			st.BackendState = s.BackendState
			st.Version = s.Version
			st.NodeAttr = s.NodeAttr
			st.TailscaleIPs, st.HostName, st.DNSName, st.Tags = s.TailscaleIPs, s.HostName, s.DNSName, s.Tags
			st.LoginName = s.LoginName
			st.Routing.Peers, _ = ParsePeersJSON(sOut)
		}
	} else {
		note(sErr)
		if errors.Is(sErr, ErrDaemonDead) || errors.Is(sErr, ErrDaemonAbsent) || strings.Contains(sErr.Error(), "doesn't appear to be running") || strings.Contains(sErr.Error(), "connect") {
			st.BackendState = NotRunning
		}
	}
	if errors.Is(pErr, ErrDaemonDead) {
		pErr = nil // said once, with status
	} else if pErr == nil {
		p, err := ParsePrefsJSON(pOut)
		note(err)
		if err == nil {
			st.NetfilterMode, st.NetfilterKind = p.NetfilterMode, p.NetfilterKind
			st.AcceptDNS = p.CorpDNS
			st.AdvertiseRoutes, st.ExitNode = p.Routes, p.ExitNode
			note(parseRoutePrefs(pOut, &st.Routing))
		}
	} else if pErr != nil {
		note(pErr)
	}
	if st.Version == "" {
		st.Version = st.CLIVersion
	}
	st.CGNATDropOff = st.NodeAttr && st.HonoursNodeAttr()
	return st
}

// NotRunning is State.BackendState when tailscaled does not answer at all.
const NotRunning = "NotRunning"

// DaemonDown reports whether tailscaled is known not to run: its CLI could
// not reach it, or its socket refused the connection.
func (st State) DaemonDown() bool { return st.Installed && st.BackendState == NotRunning }

// HonoursNodeAttr reports whether this tailscaled knows the node attribute
// disable-linux-cgnat-drop-rule (since 1.98.0). An unreadable version counts
// as knowing it: the rules step still sees what the firewall really holds.
func (st State) HonoursNodeAttr() bool {
	v, ok := ParseVersion(st.Version)
	return !ok || !v.Less(CGNATAttrSince)
}

// ParseVersionJSON reads `tailscale version --json`.
func ParseVersionJSON(b []byte) (string, error) {
	var v struct {
		MajorMinorPatch string `json:"majorMinorPatch"`
		Short           string `json:"short"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("tailscale version --json: unexpected output: %v", err)
	}
	if v.MajorMinorPatch != "" {
		return v.MajorMinorPatch, nil
	}
	if ver, ok := ParseVersion(v.Short); ok {
		return ver.String(), nil
	}
	return "", errors.New("tailscale version --json: no version in output")
}

// Status is the part of `tailscale status --json` tsdoctor uses.
type Status struct {
	Version      string
	BackendState string
	TailscaleIPs []string
	HostName     string
	DNSName      string
	Tags         []string
	LoginName    string
	NodeAttr     bool // disable-linux-cgnat-drop-rule is in Self.CapMap
}

// ParseStatusJSON reads `tailscale status --json`.
func ParseStatusJSON(b []byte) (Status, error) {
	var raw struct {
		Version      string
		BackendState string
		TailscaleIPs []string
		User         map[string]struct{ LoginName string }
		Self         *struct {
			UserID       json.Number
			HostName     string
			DNSName      string
			TailscaleIPs []string
			Tags         []string
			CapMap       map[string]json.RawMessage
			Capabilities []string
		}
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Status{}, fmt.Errorf("tailscale status --json: unexpected output: %v", err)
	}
	s := Status{BackendState: raw.BackendState, TailscaleIPs: raw.TailscaleIPs}
	if v, ok := ParseVersion(raw.Version); ok {
		s.Version = v.String()
	}
	if raw.Self != nil {
		s.HostName, s.DNSName, s.Tags = raw.Self.HostName, raw.Self.DNSName, raw.Self.Tags
		s.LoginName = raw.User[raw.Self.UserID.String()].LoginName
		if len(s.TailscaleIPs) == 0 {
			s.TailscaleIPs = raw.Self.TailscaleIPs
		}
		_, s.NodeAttr = raw.Self.CapMap[NodeAttrDisableCGNATDrop]
		for _, c := range raw.Self.Capabilities {
			if c == NodeAttrDisableCGNATDrop {
				s.NodeAttr = true
			}
		}
	}
	if s.BackendState == "" {
		return s, errors.New("tailscale status --json: no BackendState in output")
	}
	return s, nil
}

// Prefs is the part of `tailscale debug prefs` tsdoctor uses.
type Prefs struct {
	NetfilterMode NetfilterMode
	NetfilterKind string
	CorpDNS       *bool
	Routes        []string
	ExitNode      bool
}

// ParsePrefsJSON reads `tailscale debug prefs`.
func ParsePrefsJSON(b []byte) (Prefs, error) {
	var raw struct {
		NetfilterMode   *int
		NetfilterKind   string
		CorpDNS         *bool
		AdvertiseRoutes []string
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Prefs{}, fmt.Errorf("tailscale debug prefs: unexpected output: %v", err)
	}
	p := Prefs{NetfilterKind: raw.NetfilterKind, CorpDNS: raw.CorpDNS}
	if raw.NetfilterMode != nil {
		switch *raw.NetfilterMode {
		case 0:
			p.NetfilterMode = NetfilterOff
		case 1:
			p.NetfilterMode = NetfilterNoDivert
		case 2:
			p.NetfilterMode = NetfilterOn
		default:
			return p, fmt.Errorf("tailscale debug prefs: unknown NetfilterMode %d", *raw.NetfilterMode)
		}
	}
	for _, r := range raw.AdvertiseRoutes {
		// An exit node advertises the two default routes.
		if r == "0.0.0.0/0" || r == "::/0" {
			p.ExitNode = true
		} else {
			p.Routes = append(p.Routes, r)
		}
	}
	return p, nil
}

// Version is a parsed Tailscale version; suffixes are ignored.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// ParseVersion reads "1.102.3", "1.96.5-ERR-BuildInfo", "1.102.3-t4a5b6c7d8-g..."
// and "v1.80.0" leniently.
func ParseVersion(s string) (Version, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(s, "-+ \n"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || x > 1_000_000 {
			return Version{}, false
		}
		n[i] = x
	}
	return Version{n[0], n[1], n[2]}, true
}

// CGNATAttrSince is the first version that honours the node attribute.
var CGNATAttrSince = Version{1, 98, 0}
