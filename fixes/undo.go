package fixes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
	"github.com/tsdoctor/tsdoctor/tailscale"
	"github.com/tsdoctor/tsdoctor/tsrules"
)

// OwnCommentPrefix starts the comment of every rule tsdoctor writes (the
// whitelist, the guard, the LOG trace): the rest of a chain is tailscaled's.
const OwnCommentPrefix = "tsdoctor"

func ownRule(r firewall.Rule) bool { return strings.HasPrefix(r.Comment, OwnCommentPrefix) }

// theirState is a chain's rules tsdoctor did not write, normalised; a
// chain its backend cannot read (gone, or now written by another backend
// sharing nf_tables) does not exist.
func (h *Host) theirState(ctx context.Context, ref firewall.ChainRef) (ChainState, error) {
	st := ChainState{Ref: ref}
	if h.Firewall == nil {
		return st, failure(i18n.M("fix.err.noroot.read"))
	}
	c, err := h.Firewall.Reread(ctx, ref)
	if err != nil {
		// Interrupted is not gone: a chain misjudged as gone would keep
		// undo from putting back what it should.
		return st, ctx.Err()
	}
	st.Exists, st.Rules = true, []string{}
	for _, r := range c.Rules {
		if !ownRule(r) {
			st.Rules = append(st.Rules, tsrules.NormalizeRule(r.Text))
		}
	}
	return st, nil
}

// recordTheirs notes tailscaled's rules of the chains a firewall action
// just changed.
func (h *Host) recordTheirs(ctx context.Context, e *Entry, a Action) error {
	for _, c := range a.Firewall {
		st, err := h.theirState(ctx, c.Ref)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(e.Theirs, func(s ChainState) bool { return s.Ref == c.Ref }); i >= 0 {
			e.Theirs[i] = st
		} else {
			e.Theirs = append(e.Theirs, st)
		}
	}
	return nil
}

// replaced finds the chains tailscaled has rebuilt differently or removed
// since the entry was applied (another rule set, backend, node attribute or
// netfilter mode), each with what undo says about it.
func (h *Host) replaced(ctx context.Context, e *Entry) (map[firewall.ChainRef]i18n.Msg, error) {
	out := map[firewall.ChainRef]i18n.Msg{}
	for _, then := range e.Theirs {
		now, err := h.theirState(ctx, then.Ref)
		if err != nil {
			return nil, err
		}
		name := chainName(then.Ref)
		switch {
		case !now.Exists && then.Exists:
			out[then.Ref] = i18n.M("undo.gone", name)
		case now.Exists != then.Exists || !slices.Equal(now.Rules, then.Rules):
			out[then.Ref] = i18n.M("undo.rebuilt", name)
		}
	}
	return out, nil
}

func chainName(ref firewall.ChainRef) string {
	return fmt.Sprintf("%s/%s (%s)", ref.Table, ref.Chain, ref.Backend)
}

// present reports whether the rule c inserted is still in its chain.
func (h *Host) present(ctx context.Context, c firewall.Change) bool {
	chain, err := h.Firewall.Reread(ctx, c.Ref)
	return err == nil && slices.ContainsFunc(chain.Rules, func(r firewall.Rule) bool { return ruleIsSpec(r, c.Spec) })
}

// reverse undoes the entry's completed actions, last first. In a chain
// tailscaled has replaced since (replaced), it puts nothing back: it only
// deletes the rules tsdoctor inserted where they still are. A netfilter
// mode set by the entry is put back only while it is still set. What it
// leaves alone is returned.
func (h *Host) reverse(ctx context.Context, e *Entry, replaced map[firewall.ChainRef]i18n.Msg) ([]i18n.Msg, error) {
	var errs []error
	var left []i18n.Msg
	for i := e.Done - 1; i >= 0; i-- {
		a := e.Actions[i]
		switch {
		case len(a.Firewall) > 0:
			var inv []firewall.Change
			for j := len(a.Firewall) - 1; j >= 0; j-- {
				c := a.Firewall[j]
				if _, ok := replaced[c.Ref]; ok && (c.Delete || !h.present(ctx, c)) {
					continue
				}
				inv = append(inv, c.Inverse())
			}
			if err := h.applyFirewall(ctx, inv); err != nil {
				errs = append(errs, err)
			}
		case a.File != nil:
			i := slices.IndexFunc(e.Before.Files, func(f FileState) bool { return f.Path == a.File.Path })
			if i < 0 {
				errs = append(errs, failure(i18n.M("fix.err.undo.nostate", a.File.Path)))
				continue
			}
			f := e.Before.Files[i]
			var err error
			if f.Exists {
				err = h.writeFileAttrs(f.Path, f.Content, fs.FileMode(f.Mode), &fileAttrs{Owner: f.Owner, Mode: fs.FileMode(f.Mode), Xattrs: f.Xattrs})
			} else {
				err = h.removeFile(f.Path)
				for j := len(f.NewDirs) - 1; j >= 0 && err == nil; j-- {
					// Only if empty: something else may have put a file there since.
					if rerr := os.Remove(h.path(f.NewDirs[j])); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
						break
					}
				}
			}
			if err != nil {
				errs = append(errs, err)
			}
		case a.Command != nil && len(a.Command.Undo) > 0:
			if m := a.Command.Netfilter; m != "" {
				if now := h.netfilterMode(ctx); now != "" && now != m {
					left = append(left, i18n.M("undo.nf.changed", string(now), string(m)))
					continue
				}
			}
			if _, err := h.run(ctx, a.Command.Undo); err != nil {
				errs = append(errs, err)
			}
		case a.Rule != nil:
			if err := h.changeRule(a.Rule.Inverse()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return left, errors.Join(errs...)
}

// netfilterMode is tailscaled's netfilter mode now, "" when it cannot be
// read (tailscaled down): then the undo command runs and says why it fails.
func (h *Host) netfilterMode(ctx context.Context) tailscale.NetfilterMode {
	out, err := h.run(ctx, []string{"tailscale", "debug", "prefs"})
	if err != nil {
		return ""
	}
	p, err := tailscale.ParsePrefsJSON(out)
	if err != nil {
		return ""
	}
	return p.NetfilterMode
}

// UndoResult is what undoing one entry did.
type UndoResult struct {
	Entry *Entry `json:"entry"`
	// Same: everything the entry touched is back as it was, or in the hands
	// of tailscaled again (LeftAlone).
	Same bool `json:"same"`
	// Differences name what is not back as it was.
	Differences []string `json:"differences,omitempty"`
	// LeftAlone is what undo did not put back because it changed since the
	// fix: a chain tailscaled rebuilt differently or removed (its own rules
	// are what it wants now), a netfilter mode someone set since.
	LeftAlone []i18n.Msg `json:"left_alone,omitempty"`
}

// Undo reverses the newest applied entry, or all of them newest first, and
// compares what they touched with the state recorded before. A chain
// tailscaled has rebuilt or replaced since the fix is left as tailscaled
// has it (only tsdoctor's own rules are deleted from it): undo never puts
// back a rule tailscaled no longer wants. Files are always restored.
//
// A file that changed since tsdoctor wrote it stops undo before the entry is
// touched, with an *EditedError holding the differences, unless o.Force.
func Undo(ctx context.Context, h *Host, all bool) ([]UndoResult, error) {
	return UndoWith(ctx, h, UndoOptions{All: all})
}

// UndoWith is Undo with options.
func UndoWith(ctx context.Context, h *Host, o UndoOptions) ([]UndoResult, error) {
	all := o.All
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
		if !o.Force {
			edited, err := h.edited(e)
			if err != nil {
				return out, err
			}
			if len(edited) > 0 {
				ee := &EditedError{Entry: e.ID, Files: edited}
				return out, failureOf(ee, ee.Msg())
			}
		}
		replaced, err := h.replaced(ctx, e)
		if err != nil {
			return out, err
		}
		left, err := h.reverse(ctx, e, replaced)
		if err != nil {
			return out, failureOf(err, i18n.M("fix.err.undo", e.ID, err))
		}
		e.Undone = true
		if err := h.saveEntry(e); err != nil {
			return out, err
		}
		res := UndoResult{Entry: e}
		for _, st := range e.Theirs {
			if m, ok := replaced[st.Ref]; ok {
				res.LeftAlone = append(res.LeftAlone, m)
			}
		}
		res.LeftAlone = append(res.LeftAlone, left...)
		res.Differences, err = h.compare(ctx, e.Before, replaced, len(left) > 0)
		if err != nil {
			return out, err
		}
		for _, a := range e.Actions[:e.Done] {
			if a.Command != nil && a.Command.NotUndone != "" {
				res.Differences = append(res.Differences, a.Command.NotUndone)
			}
		}
		res.Same = len(res.Differences) == 0
		out = append(out, res)
		if !all {
			break
		}
	}
	return out, nil
}

// compare lists how the host differs from a recorded state, chains
// tailscaled has replaced aside.
func (h *Host) compare(ctx context.Context, b Before, replaced map[firewall.ChainRef]i18n.Msg, modeLeftAlone bool) ([]string, error) {
	var diffs []string
	if b.Netfilter != "" && !modeLeftAlone {
		// nodivert must come back as nodivert, not as tailscale's default.
		if now := h.netfilterMode(ctx); now != b.Netfilter {
			if now == "" {
				now = "unknown"
			}
			diffs = append(diffs, fmt.Sprintf("tailscaled's netfilter mode: now %s, before %s", now, b.Netfilter))
		}
	}
	for _, want := range b.Chains {
		if _, ok := replaced[want.Ref]; ok {
			continue
		}
		got, err := h.chainState(ctx, want.Ref)
		if err != nil {
			return nil, err
		}
		if got.Exists != want.Exists || !slices.Equal(tsrules.NormalizeRules(got.Rules), tsrules.NormalizeRules(want.Rules)) {
			diffs = append(diffs, fmt.Sprintf("%s: now %q, before %q", want.Ref, got.Rules, want.Rules))
		}
	}
	if b.PolicyRules != nil {
		got, err := h.policyRulesState()
		if err != nil {
			return nil, err
		}
		if !slices.Equal(got, b.PolicyRules) {
			diffs = append(diffs, fmt.Sprintf("policy rules: now %q, before %q", got, b.PolicyRules))
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
		case exists && want.Owner != nil:
			if d := attrsDiffer(h.path(want.Path), want); d != "" {
				diffs = append(diffs, fmt.Sprintf("%s: %s differ from before", want.Path, d))
			}
		}
		for _, d := range want.NewDirs {
			if _, err := os.Lstat(h.path(d)); err == nil && !exists {
				diffs = append(diffs, fmt.Sprintf("%s: a directory now, absent before", d))
			}
		}
	}
	return diffs, nil
}
