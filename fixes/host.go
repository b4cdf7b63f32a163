package fixes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// Host is the machine as the remedies see it. Every change goes through it.
type Host struct {
	// Firewall reads and writes every backend.
	Firewall *firewall.Host
	// Run runs a command (tailscale, systemctl, netplan, nmcli) and returns
	// its combined output.
	Run func(ctx context.Context, name string, args ...string) ([]byte, error)
	// Root is where absolute paths live: "/" on a real host, a lab's
	// directory in tests (as `systemctl --root`).
	Root string
	// StateDir holds the journal and the lock; default
	// Root/var/lib/tsdoctor.
	StateDir string
	// Diagnose re-runs the check, for verification.
	Diagnose func(ctx context.Context) checks.Report
	// Systemd: systemd runs this machine, so units can be enabled.
	Systemd bool
	// Now is the clock.
	Now func() time.Time
	// Routing reads and changes the policy rules; nil: the kernel's.
	Routing PolicyRouting
	// StubLookup asks systemd-resolved's stub (127.0.0.53) for a name, as
	// every client on a resolved host does; nil where it cannot be asked
	// (the lab). Remedy 4's verification on such a host judges this answer,
	// not each upstream server resolved lists (per-link servers stay listed
	// while ~. sends every query elsewhere).
	StubLookup func(ctx context.Context) (answered bool, took time.Duration, detail string)
}

// ExecRun runs a real command.
func ExecRun(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", firewall.ShellJoin(append([]string{name}, args...)), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// SystemdRunning reports whether systemd is PID 1 (sd_booted).
func SystemdRunning() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

func (h *Host) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Host) stateDir() string {
	if h.StateDir != "" {
		return h.StateDir
	}
	return h.path("/var/lib/tsdoctor")
}

// path maps an absolute path of the host to where it lives under Root.
func (h *Host) path(p string) string {
	if h.Root == "" || h.Root == "/" {
		return p
	}
	return filepath.Join(h.Root, p)
}

// readFile returns a file's content and mode; exists is false when it is
// not there.
func (h *Host) readFile(p string) (content []byte, mode fs.FileMode, exists bool, err error) {
	fp := h.path(p)
	fi, err := os.Stat(fp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	b, err := os.ReadFile(fp)
	return b, fi.Mode().Perm(), err == nil, err
}

// writeFile replaces a file's content and sets its mode (the plan's). A
// file that exists keeps its owner, ACLs, extended attributes and SELinux
// label; a new one gets, where SELinux is on, the label the policy wants
// for its path.
func (h *Host) writeFile(p string, content []byte, mode fs.FileMode) error {
	return h.writeFileAttrs(p, content, mode, nil)
}

// writeFileAttrs writes content with the attributes want (undo restores
// those recorded before the fix); nil keeps the existing file's. A regular
// file is replaced whole (temporary file, fsync, rename, fsync of the
// directory), so a crash leaves the old or the new content, never half. A
// symlink or a bind mount (resolv.conf often is one) is written through in
// place, since renaming over it would break it.
func (h *Host) writeFileAttrs(p string, content []byte, mode fs.FileMode, want *fileAttrs) error {
	fp := h.path(p)
	if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
		return err
	}
	if mode == 0 {
		mode = 0o644
	}
	cur, err := readAttrs(fp)
	if err != nil {
		return err
	}
	if inPlace(fp) {
		f, err := os.OpenFile(fp, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return err
		}
		if _, err := f.Write(content); err != nil {
			f.Close()
			return err
		}
		// The inode stays, and with it owner, ACLs and label.
		if want != nil {
			mode = want.Mode
		}
		if err := f.Chmod(mode); err != nil && !errors.Is(err, syscall.EROFS) {
			f.Close()
			return err
		}
		return f.Close()
	}
	attrs := want
	created := want == nil && cur == nil
	switch {
	case created:
		attrs = &fileAttrs{Mode: mode}
	case want == nil:
		attrs = &fileAttrs{Owner: cur.Owner, Mode: mode, Xattrs: cur.Xattrs}
	case want.Owner == nil && cur != nil:
		attrs.Owner = cur.Owner // a journal from before owners were recorded
	}
	tmp, err := os.CreateTemp(filepath.Dir(fp), "."+filepath.Base(fp)+".tsdoctor-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(content); err == nil {
		err = attrs.apply(tmp)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), fp); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(fp)); err != nil {
		return err
	}
	if created || (want != nil && want.Xattrs["security.selinux"] == nil) {
		return h.relabel(fp)
	}
	return nil
}

// inPlace: a symlink, or a file mounted over (its device differs from its
// directory's).
func inPlace(fp string) bool {
	li, err := os.Lstat(fp)
	if err != nil {
		return false
	}
	if li.Mode()&fs.ModeSymlink != 0 {
		return true
	}
	var st, dst syscall.Stat_t
	if syscall.Stat(fp, &st) != nil || syscall.Stat(filepath.Dir(fp), &dst) != nil {
		return false
	}
	return st.Dev != dst.Dev
}

func (h *Host) removeFile(p string) error {
	err := os.Remove(h.path(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(h.path(p)))
}

// backend returns the writable backend holding ref.
func (h *Host) backend(ref firewall.ChainRef) (firewall.Backendish, error) {
	if h.Firewall == nil {
		return nil, failure(i18n.M("fix.err.noroot.change"))
	}
	b := h.Firewall.Backend(ref.Backend)
	if b == nil {
		return nil, failure(i18n.M("fix.err.nobackend", ref.Backend))
	}
	return b, nil
}

// applyFirewall runs one batch; every change must be on one backend.
func (h *Host) applyFirewall(ctx context.Context, batch []firewall.Change) error {
	if len(batch) == 0 {
		return nil
	}
	b, err := h.backend(batch[0].Ref)
	if err != nil {
		return err
	}
	for _, c := range batch[1:] {
		if c.Ref.Backend != batch[0].Ref.Backend {
			return fmt.Errorf("one batch spans %s and %s", batch[0].Ref.Backend, c.Ref.Backend)
		}
	}
	return b.Apply(ctx, batch)
}

func (h *Host) run(ctx context.Context, args []string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}
	run := h.Run
	if run == nil {
		run = ExecRun
	}
	return run(ctx, args[0], args[1:]...)
}
