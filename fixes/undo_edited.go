package fixes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// EditedFile is a file tsdoctor wrote that has changed since.
type EditedFile struct {
	Path string `json:"path"`
	// Diff is unified, from what tsdoctor wrote to what is there now.
	Diff string `json:"diff"`
}

// EditedError: undo stopped before touching an entry, because files it
// would restore have changed since tsdoctor wrote them (an admin's edit
// would be lost). UndoOptions.Force restores them anyway.
type EditedError struct {
	Entry string
	Files []EditedFile
}

func (e *EditedError) Error() string { return e.Msg().String(i18n.EN) }

// Msg is the one-line reason, in any language.
func (e *EditedError) Msg() i18n.Msg {
	var paths []string
	for _, f := range e.Files {
		paths = append(paths, f.Path)
	}
	return i18n.M("undo.edited", e.Entry, strings.Join(paths, ", "))
}

// UndoOptions tune Undo.
type UndoOptions struct {
	// All undoes every entry, newest first; else only the newest.
	All bool
	// Force restores files that changed since tsdoctor wrote them.
	Force bool
}

// edited lists the entry's files that differ from what its done actions
// left there (the last write of each path wins).
func (h *Host) edited(e *Entry) ([]EditedFile, error) {
	var out []EditedFile
	seen := map[string]bool{}
	for i := e.Done - 1; i >= 0; i-- {
		a := e.Actions[i]
		if a.File == nil || seen[a.File.Path] {
			continue
		}
		seen[a.File.Path] = true
		if a.File.Regenerated {
			continue
		}
		content, _, exists, err := h.readFile(a.File.Path)
		if err != nil {
			return nil, failureOf(err, i18n.M("fix.err.readfile.before", a.File.Path, err))
		}
		want := a.File.Content
		switch {
		case a.File.Remove && !exists, !a.File.Remove && exists && string(content) == want:
			continue
		case a.File.Remove:
			want = ""
		}
		now := string(content)
		if i := slices.IndexFunc(e.Before.Files, func(f FileState) bool { return f.Path == a.File.Path }); i >= 0 &&
			e.Before.Files[i].Exists == exists && string(e.Before.Files[i].Content) == now {
			continue // back as it was before: restoring it loses nothing
		}
		diff := udiff.Unified(a.File.Path+" (as tsdoctor wrote it)", a.File.Path+" (now)", want, now)
		switch {
		case !exists:
			diff += fmt.Sprintf("(%s has been removed since)\n", a.File.Path)
		case a.File.Remove:
			diff += fmt.Sprintf("(tsdoctor removed %s; it is there again)\n", a.File.Path)
		}
		out = append(out, EditedFile{Path: a.File.Path, Diff: diff})
	}
	return out, nil
}
