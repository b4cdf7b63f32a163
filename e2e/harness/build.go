// Package harness runs the real tailscaled, built from its Go module, inside
// the lab's network namespaces, logged in to an in-process control server
// (tailscale.com/tstest/integration/testcontrol) with a DERP relay beside it.
// Nothing leaves the namespaces: the VPC namespace has no uplink.
package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Versions of tailscaled the matrix runs: 1.96.5 has the old rule order and
// no node attribute, 1.102.3 the new order and the attribute.
var Versions = []string{"1.96.5", "1.102.3"}

// CacheDir is where built tailscaled/tailscale binaries are kept between
// runs, outside the repository. TSDOCTOR_E2E_CACHE overrides it.
func CacheDir() string {
	if d := os.Getenv("TSDOCTOR_E2E_CACHE"); d != "" {
		return d
	}
	return "/var/cache/tsdoctor-e2e"
}

// Binaries returns the directory holding tailscaled and tailscale of this
// version, building them with `go install` the first time. Concurrent
// callers (parallel tests, two test binaries) build once: a lock file in the
// cache serialises them, and a finished build is renamed into place whole.
func Binaries(ctx context.Context, version string) (string, error) {
	dir := filepath.Join(CacheDir(), "v"+version)
	if complete(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(CacheDir(), 0o755); err != nil {
		return "", fmt.Errorf("tailscale build cache: %w", err)
	}
	err := Locked(filepath.Join(CacheDir(), ".lock"), func() error {
		if complete(dir) { // built by someone else while we waited
			return nil
		}
		tmp, err := os.MkdirTemp(CacheDir(), ".build-"+version+"-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cmd := exec.CommandContext(ctx, "go", "install",
			"tailscale.com/cmd/tailscaled@v"+version, "tailscale.com/cmd/tailscale@v"+version)
		// Outside any module, with the local toolchain: `go install pkg@version`
		// reads only tailscale's own go.mod.
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOTOOLCHAIN=local", "GOFLAGS=", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build tailscale %s (go install): %w\n%s", version, err, Tail(out, 40))
		}
		_ = os.RemoveAll(dir)
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		if !complete(dir) {
			return errors.New("tailscale build finished but the binaries are missing in " + dir)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return dir, nil
}

// Locked runs f holding an exclusive flock on path (created if need be), so
// parallel tests and test binaries that build one cached thing take turns.
func Locked(path string, f func() error) error {
	lock, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	return f()
}

func complete(dir string) bool {
	for _, b := range []string{"tailscaled", "tailscale"} {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// Tail is the last n lines of a command's output, for an error message that
// shows why a build or a boot failed without the whole log.
func Tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
