package fixes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tsdoctor/tsdoctor/firewall"
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
	Undone bool   `json:"undone,omitempty"`
	// Failed: applying stopped with this error and was rolled back.
	Failed string `json:"failed,omitempty"`
}

// Before is the state of what a remedy touches, taken before it runs.
type Before struct {
	Chains []ChainState `json:"chains,omitempty"`
	Files  []FileState  `json:"files,omitempty"`
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
}

// ErrLocked is returned when another tsdoctor is changing this host.
var ErrLocked = errors.New("another tsdoctor is changing this host right now: wait for it to finish, then run this again")

// lock takes the host-wide change lock (flock on StateDir/lock). The kernel
// drops it if the process dies.
func (h *Host) lock() (unlock func(), err error) {
	dir := h.stateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
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
				return nil, fmt.Errorf("%w (pid %s)", ErrLocked, p)
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
			return nil, fmt.Errorf("journal entry %s is damaged (%v): move it aside to continue", n, err)
		}
		out = append(out, e)
	}
	return out, nil
}

var counterRE = regexp.MustCompile(` packets \d+ bytes \d+`)

// magicsockRE finds tailscaled's rule accepting WireGuard on its magicsock
// port, which tailscaled picks anew at every start.
var magicsockRE = regexp.MustCompile(`^(-A \S+ -p udp -m udp --dport |udp dport )\d+( -j ACCEPT| counter accept)$`)

// ownPortless hides the magicsock port: a restart of tailscaled between
// apply and undo changes it, and it is tailscaled's state, not ours.
func ownPortless(rules []string) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = magicsockRE.ReplaceAllString(r, "${1}PORT${2}")
	}
	return out
}

// chainState reads a chain as its backend prints it, without counters.
func (h *Host) chainState(ctx context.Context, ref firewall.ChainRef) (ChainState, error) {
	st := ChainState{Ref: ref}
	if h.Firewall == nil {
		return st, errors.New("the firewall cannot be read without root: rerun with sudo")
	}
	c, err := h.Firewall.Reread(ctx, ref)
	if err != nil {
		// A chain that is gone is a state too (tailscaled may be down).
		return st, nil
	}
	st.Exists = true
	st.Rules = []string{}
	for _, r := range c.Rules {
		st.Rules = append(st.Rules, counterRE.ReplaceAllString(r.Text, ""))
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
		if a.File != nil && !slices.ContainsFunc(b.Files, func(s FileState) bool { return s.Path == a.File.Path }) {
			content, mode, exists, err := h.readFile(a.File.Path)
			if err != nil {
				return b, fmt.Errorf("read %s before changing it: %w", a.File.Path, err)
			}
			b.Files = append(b.Files, FileState{Path: a.File.Path, Exists: exists, Mode: uint32(mode), Content: content})
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
		return nil, fmt.Errorf("write the journal in %s (nothing was changed): %w", h.journalDir(), err)
	}
	for _, a := range p.Actions {
		if err := h.do(ctx, a); err != nil {
			rerr := h.reverse(ctx, e)
			e.Failed = err.Error()
			e.Undone = rerr == nil
			_ = h.saveEntry(e)
			if rerr != nil {
				return e, fmt.Errorf("%w; rolling back also failed: %v (run `tsdoctor undo`)", err, rerr)
			}
			return e, fmt.Errorf("%w (the changes made before it were rolled back)", err)
		}
		e.Done++
		if err := h.saveEntry(e); err != nil {
			return e, fmt.Errorf("update the journal: %w", err)
		}
	}
	return e, nil
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
	}
	return nil
}

// reverse undoes the entry's completed actions, last first.
func (h *Host) reverse(ctx context.Context, e *Entry) error {
	var errs []error
	for i := e.Done - 1; i >= 0; i-- {
		a := e.Actions[i]
		switch {
		case len(a.Firewall) > 0:
			var inv []firewall.Change
			for j := len(a.Firewall) - 1; j >= 0; j-- {
				inv = append(inv, a.Firewall[j].Inverse())
			}
			if err := h.applyFirewall(ctx, inv); err != nil {
				errs = append(errs, err)
			}
		case a.File != nil:
			i := slices.IndexFunc(e.Before.Files, func(f FileState) bool { return f.Path == a.File.Path })
			if i < 0 {
				errs = append(errs, fmt.Errorf("journal has no earlier state of %s", a.File.Path))
				continue
			}
			f := e.Before.Files[i]
			var err error
			if f.Exists {
				err = h.writeFile(f.Path, f.Content, fs.FileMode(f.Mode))
			} else {
				err = h.removeFile(f.Path)
			}
			if err != nil {
				errs = append(errs, err)
			}
		case a.Command != nil && len(a.Command.Undo) > 0:
			if _, err := h.run(ctx, a.Command.Undo); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// UndoResult is what undoing one entry did.
type UndoResult struct {
	Entry *Entry `json:"entry"`
	// Same: everything the entry touched is back as it was.
	Same bool `json:"same"`
	// Differences name what is not back as it was (e.g. tailscaled rebuilt
	// its chains in between).
	Differences []string `json:"differences,omitempty"`
}

// Undo reverses the newest applied entry, or all of them newest first, and
// compares what they touched with the state recorded before.
func Undo(ctx context.Context, h *Host, all bool) ([]UndoResult, error) {
	unlock, err := h.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	entries, err := h.Journal()
	if err != nil {
		return nil, err
	}
	var out []UndoResult
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Undone || e.Done == 0 {
			continue
		}
		if err := h.reverse(ctx, e); err != nil {
			return out, fmt.Errorf("undo %s: %w", e.ID, err)
		}
		e.Undone = true
		if err := h.saveEntry(e); err != nil {
			return out, err
		}
		res := UndoResult{Entry: e}
		res.Differences, err = h.compare(ctx, e.Before)
		if err != nil {
			return out, err
		}
		res.Same = len(res.Differences) == 0
		out = append(out, res)
		if !all {
			break
		}
	}
	return out, nil
}

// compare lists how the host differs from a recorded state.
func (h *Host) compare(ctx context.Context, b Before) ([]string, error) {
	var diffs []string
	for _, want := range b.Chains {
		got, err := h.chainState(ctx, want.Ref)
		if err != nil {
			return nil, err
		}
		if got.Exists != want.Exists || !slices.Equal(ownPortless(got.Rules), ownPortless(want.Rules)) {
			diffs = append(diffs, fmt.Sprintf("%s: now %q, before %q", want.Ref, got.Rules, want.Rules))
		}
	}
	for _, want := range b.Files {
		content, mode, exists, err := h.readFile(want.Path)
		if err != nil {
			return nil, err
		}
		switch {
		case exists != want.Exists:
			diffs = append(diffs, fmt.Sprintf("%s: exists %v, before %v", want.Path, exists, want.Exists))
		case exists && (string(content) != string(want.Content) || uint32(mode) != want.Mode):
			diffs = append(diffs, fmt.Sprintf("%s: content or mode differ from before", want.Path))
		}
	}
	return diffs, nil
}
