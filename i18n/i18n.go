// Package i18n holds every user-facing string of tsdoctor in English and
// Simplified Chinese. Each entry carries both languages side by side, so a
// string cannot be added in one language only; a test checks the two agree
// on their format verbs.
package i18n

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Lang is a supported language.
type Lang string

const (
	EN Lang = "en"
	ZH Lang = "zh"
)

// ParseLang accepts "en", "zh", "zh_CN.UTF-8", "zh-Hans", "C", ...
func ParseLang(s string) (Lang, bool) {
	s = strings.ToLower(s)
	switch {
	case strings.HasPrefix(s, "zh"):
		return ZH, true
	case strings.HasPrefix(s, "en"), s == "c", s == "posix", strings.HasPrefix(s, "c."):
		return EN, true
	}
	return EN, false
}

// FromEnv picks the language from LC_ALL, LC_MESSAGES, LANG (in that order).
func FromEnv() Lang {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := os.Getenv(v); s != "" {
			l, _ := ParseLang(s)
			return l
		}
	}
	return EN
}

// Msg is a message key with its arguments, rendered late in the user's language.
type Msg struct {
	Key  string
	Args []any
}

// M builds a Msg.
func M(key string, args ...any) Msg { return Msg{Key: key, Args: args} }

// Raw wraps text that needs no translation (rule text, addresses).
func Raw(s string) Msg { return Msg{Key: rawKey, Args: []any{s}} }

const rawKey = "raw"

// String renders m in l.
func (m Msg) String(l Lang) string { return T(l, m.Key, m.Args...) }

// T renders key in l. An unknown key renders as itself, visibly.
func T(l Lang, key string, args ...any) string {
	if key == rawKey && len(args) == 1 {
		return fmt.Sprint(args[0])
	}
	e, ok := catalog[key]
	if !ok {
		return "!" + key
	}
	f := e.en
	if l == ZH {
		f = e.zh
	}
	if len(args) == 0 {
		return f
	}
	return fmt.Sprintf(f, localized(l, args)...)
}

// localized renders in l the arguments that can render themselves in a
// language (a Msg, an error from fixes), so a message nested in another
// is not left in English.
func localized(l Lang, args []any) []any {
	var out []any
	for i, a := range args {
		if s, ok := a.(interface{ String(Lang) string }); ok {
			if out == nil {
				out = slices.Clone(args)
			}
			out[i] = s.String(l)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// Has reports whether key exists.
func Has(key string) bool { _, ok := catalog[key]; return ok || key == rawKey }

type entry struct{ en, zh string }

// merge adds a part of the catalog kept in its own file; a key defined
// twice is a programming error caught at start.
func merge(part map[string]entry) {
	for k, v := range part {
		if _, dup := catalog[k]; dup {
			panic("i18n: duplicate key " + k)
		}
		catalog[k] = v
	}
}
