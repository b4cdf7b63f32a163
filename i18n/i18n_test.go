package i18n

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// TestCatalogComplete fails when a string lacks its translation or the two
// languages disagree on their arguments.
func TestCatalogComplete(t *testing.T) {
	for k, e := range catalog {
		if e.en == "" || e.zh == "" {
			t.Errorf("%s: missing %s", k, map[bool]string{true: "en", false: "zh"}[e.en == ""])
			continue
		}
		if e.en == e.zh && len(e.en) > 12 {
			t.Errorf("%s: zh is a copy of en", k)
		}
		if a, b := countVerbs(e.en), countVerbs(e.zh); a != b {
			t.Errorf("%s: en has %d arguments, zh %d", k, a, b)
		}
	}
}

func countVerbs(s string) int {
	n, idx := 0, 0
	for _, m := range verb.FindAllStringSubmatch(s, -1) {
		if m[0] == "%%" {
			continue
		}
		if m[1] != "" {
			var i int
			_, _ = fmtSscanf(m[1], &i)
			idx = max(idx, i)
			continue
		}
		n++
	}
	return max(n, idx)
}

func TestParseLang(t *testing.T) {
	for in, want := range map[string]Lang{"zh_CN.UTF-8": ZH, "zh-Hans": ZH, "en_US.UTF-8": EN, "C.UTF-8": EN, "C": EN} {
		if got, _ := ParseLang(in); got != want {
			t.Errorf("ParseLang(%q) = %s", in, got)
		}
	}
	if _, ok := ParseLang("fr"); ok {
		t.Error("fr accepted")
	}
	if T(ZH, "step.dns") != "DNS 解析" || T(EN, "nope") != "!nope" || Raw("x").String(ZH) != "x" {
		t.Error("T is wrong")
	}
	if !slices.Contains([]bool{Has("step.dns")}, true) {
		t.Error("Has")
	}
}

func fmtSscanf(s string, i *int) (int, error) { return fmt.Sscanf(s, "[%d]", i) }

// TestNestedMsgLocalized: a message given as another's argument renders in
// the same language (it rendered as a Go struct, or in English for an
// error that translates itself).
func TestNestedMsgLocalized(t *testing.T) {
	outer := M("fixcli.notapplies", M("fix.why.nodrop"))
	en, zh := outer.String(EN), outer.String(ZH)
	if !strings.Contains(en, T(EN, "fix.why.nodrop")) || !strings.Contains(zh, T(ZH, "fix.why.nodrop")) {
		t.Errorf("en %q, zh %q", en, zh)
	}
	args := []any{M("fix.why.nodrop")}
	T(ZH, "fixcli.notapplies", args...)
	if _, still := args[0].(Msg); !still {
		t.Errorf("T changed its caller's arguments")
	}
}
