package fixes

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// Entry is one applied remedy in the journal: what it changed, and the
// state of everything it touched before, so Undo can restore it exactly.
// It is written before the first change and after each one.
type Entry struct {
	ID      string   `json:"id"`
	Time    string   `json:"time"`
	Remedy  ID       `json:"remedy"`
	Name    string   `json:"name"`
	Actions []Action `json:"actions"`
	// Done counts the actions completed; Undo reverses exactly those.
	Done   int    `json:"done"`
	Before Before `json:"before"`
	// Theirs are tailscaled's own rules (every rule tsdoctor did not write,
	// normalised by tsrules.NormalizeRule) of each chain a firewall action
	// touched, as the action left it. Undo compares them with the chain
	// then: one tailscaled has rebuilt or replaced since is left alone.
	Theirs []ChainState `json:"theirs,omitempty"`
	Undone bool         `json:"undone,omitempty"`
	// Failed: applying stopped with this error and was rolled back.
	Failed string `json:"failed,omitempty"`
}

// Before is the state of what a remedy touches, taken before it runs.
type Before struct {
	Chains []ChainState `json:"chains,omitempty"`
	Files  []FileState  `json:"files,omitempty"`
	// PolicyRules are the policy rules as `ip rule` prints them (remedy 7).
	PolicyRules []string `json:"policy_rules,omitempty"`
	// Netfilter is tailscaled's netfilter mode before a command that sets
	// it (remedy 5): undo must end with exactly this mode again.
	Netfilter tailscale.NetfilterMode `json:"netfilter,omitempty"`
}

// ChainState is a chain's rules as its backend prints them, counters aside.
type ChainState struct {
	Ref    firewall.ChainRef `json:"chain"`
	Exists bool              `json:"exists"`
	Rules  []string          `json:"rules"`
}

// FileState is a file's bytes and mode.
type FileState struct {
	Path    string `json:"path"`
	Exists  bool   `json:"exists"`
	Mode    uint32 `json:"mode,omitempty"`
	Content []byte `json:"content,omitempty"`
	// Owner and Xattrs (ACLs as system.posix_acl_*, the SELinux label as
	// security.selinux, any other) are put back with the bytes; nil Owner:
	// a journal from before they were recorded.
	Owner  *Owner            `json:"owner,omitempty"`
	Xattrs map[string][]byte `json:"xattrs,omitempty"`
	// NewDirs are the directories writing the file creates (outermost
	// first): undo removes them again, or /usr/local/lib/tsdoctor stays.
	NewDirs []string `json:"new_dirs,omitempty"`
}

// missingDirs lists p's parent directories that do not exist yet,
// outermost first.
func (h *Host) missingDirs(p string) []string {
	var dirs []string
	for d := filepath.Dir(p); d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Lstat(h.path(d)); err == nil {
			break
		}
		dirs = append([]string{d}, dirs...)
	}
	return dirs
}

// ErrLocked is returned when another tsdoctor is changing this host.
var ErrLocked error = &Error{Msg: i18n.M("fix.err.locked")}

// lock takes the host-wide change lock (flock on StateDir/lock). The kernel
// drops it if the process dies.
func (h *Host) lock() (unlock func(), err error) {
	dir := h.stateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, failureOf(err, i18n.M("fix.err.create", dir, err))
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			if p := strings.TrimSpace(string(pid)); p != "" {
				return nil, failureOf(ErrLocked, i18n.M("fix.err.locked.pid", p))
			}
			return nil, ErrLocked
		}
		return nil, err
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

func (h *Host) journalDir() string { return filepath.Join(h.stateDir(), "journal") }

func (h *Host) saveEntry(e *Entry) error {
	dir := h.journalDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+e.ID+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		_ = f.Sync()
		f.Close()
	}
	return os.Rename(tmp, filepath.Join(dir, e.ID+".json"))
}

// Journal lists the entries, oldest first.
func (h *Host) Journal() ([]*Entry, error) {
	names, err := filepath.Glob(filepath.Join(h.journalDir(), "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names) // IDs start with a sortable time
	var out []*Entry
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		e := new(Entry)
		if err := json.Unmarshal(b, e); err != nil {
			return nil, failureOf(err, i18n.M("fix.err.journal.damaged", n, err))
		}
		out = append(out, e)
	}
	return out, nil
}

// chainState reads a chain as its backend prints it, without counters.
func (h *Host) chainState(ctx context.Context, ref firewall.ChainRef) (ChainState, error) {
	st := ChainState{Ref: ref}
	if h.Firewall == nil {
		return st, failure(i18n.M("fix.err.noroot.read"))
	}
	c, err := h.Firewall.Reread(ctx, ref)
	if err != nil {
		// A chain that is gone is a state too (tailscaled may be down);
		// an interrupted read is not.
		return st, ctx.Err()
	}
	st.Exists = true
	st.Rules = []string{}
	for _, r := range c.Rules {
		st.Rules = append(st.Rules, firewall.StripCounters(r.Text))
	}
	return st, nil
}

// before records the state of everything the actions touch.
func (h *Host) before(ctx context.Context, actions []Action) (Before, error) {
	var b Before
	for _, a := range actions {
		for _, c := range a.Firewall {
			if slices.ContainsFunc(b.Chains, func(s ChainState) bool { return s.Ref == c.Ref }) {
				continue
			}
			st, err := h.chainState(ctx, c.Ref)
			if err != nil {
				return b, err
			}
			b.Chains = append(b.Chains, st)
		}
		if a.Rule != nil && b.PolicyRules == nil {
			var err error
			if b.PolicyRules, err = h.policyRulesState(); err != nil {
				return b, failureOf(err, i18n.M("fix.err.readrules.before", err))
			}
		}
		if a.Command != nil && a.Command.Netfilter != "" && b.Netfilter == "" {
			b.Netfilter = h.netfilterMode(ctx)
		}
		if a.File != nil && !slices.ContainsFunc(b.Files, func(s FileState) bool { return s.Path == a.File.Path }) {
			content, mode, exists, err := h.readFile(a.File.Path)
			if err != nil {
				return b, failureOf(err, i18n.M("fix.err.readfile.before", a.File.Path, err))
			}
			st := FileState{Path: a.File.Path, Exists: exists, Mode: uint32(mode), Content: content}
			if !exists {
				st.NewDirs = h.missingDirs(a.File.Path)
			} else {
				attrs, err := readAttrs(h.path(a.File.Path))
				if err != nil {
					return b, failureOf(err, i18n.M("fix.err.readfile.before", a.File.Path, err))
				}
				if attrs != nil {
					st.Owner, st.Xattrs = attrs.Owner, attrs.Xattrs
				}
			}
			b.Files = append(b.Files, st)
		}
	}
	return b, nil
}

// Apply makes the plan's changes: under the host lock, after recording the
// state they touch in the journal, one action at a time with the journal
// updated after each. If an action fails, the ones done are reversed and
// the error returned. A plan with nothing to do returns a nil entry.
func Apply(ctx context.Context, h *Host, p *Plan) (*Entry, error) {
	if p.Nothing() {
		return nil, nil
	}
	unlock, err := h.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, err := ByID(p.Remedy)
	if err != nil {
		return nil, err
	}
	before, err := h.before(ctx, p.Actions)
	if err != nil {
		return nil, err
	}
	now := h.now().UTC()
	e := &Entry{
		ID:      now.Format("20060102T150405.000000000Z") + "-" + r.Info().Name,
		Time:    now.Format("2006-01-02T15:04:05Z"),
		Remedy:  p.Remedy,
		Name:    r.Info().Name,
		Actions: p.Actions,
		Before:  before,
	}
	if err := h.saveEntry(e); err != nil {
		return nil, failureOf(err, i18n.M("fix.err.journal.write", h.journalDir(), err))
	}
	for _, a := range p.Actions {
		if err := h.do(ctx, a); err != nil {
			// A command can fail halfway (`systemctl enable --now` links
			// the unit into .wants, then fails to start it): its undo runs
			// too, so the link does not start it at the next boot.
			if a.Command != nil && len(a.Command.Undo) > 0 {
				e.Done++
			}
			// The failure may be the cancellation itself (Ctrl-C): the
			// rollback gets a context of its own, bounded, or every step of
			// it would fail at once.
			rctx, cancel := rollbackContext(ctx)
			_, rerr := h.reverse(rctx, e, nil)
			cancel()
			e.Failed = err.Error()
			e.Undone = rerr == nil
			_ = h.saveEntry(e)
			if rerr != nil {
				return e, failureOf(err, i18n.M("fix.err.rollback.failed", err, rerr))
			}
			return e, failureOf(err, i18n.M("fix.err.rolledback", err))
		}
		e.Done++
		if err := h.recordTheirs(ctx, e, a); err != nil {
			return e, err
		}
		if err := h.saveEntry(e); err != nil {
			return e, failureOf(err, i18n.M("fix.err.journal.update", err))
		}
	}
	return e, nil
}

// RollbackTimeout bounds a rollback: long enough for iptables-restore's
// lock wait and systemctl, short enough that a hung tool cannot keep the
// admin waiting after Ctrl-C.
var RollbackTimeout = 30 * time.Second

// rollbackContext keeps ctx's values but not its cancellation.
func rollbackContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), RollbackTimeout)
}

func (h *Host) do(ctx context.Context, a Action) error {
	switch {
	case len(a.Firewall) > 0:
		return h.applyFirewall(ctx, a.Firewall)
	case a.File != nil && a.File.Remove:
		return h.removeFile(a.File.Path)
	case a.File != nil:
		return h.writeFile(a.File.Path, []byte(a.File.Content), fs.FileMode(a.File.Mode))
	case a.Command != nil:
		_, err := h.run(ctx, a.Command.Do)
		return err
	case a.Rule != nil:
		return h.changeRule(*a.Rule)
	}
	return nil
}
