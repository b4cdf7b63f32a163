package i18n

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// Chinese text takes full-width punctuation （，：；（）？！） next to Chinese
// characters; ASCII stays inside commands (`...`), paths, addresses and
// numbers. halfWidthNearCJK finds a half-width mark that touches a Chinese
// character, or is one space away from one.
func halfWidthNearCJK(s string) []string {
	s = regexp.MustCompile("`[^`]*`").ReplaceAllString(s, "`x`") // commands keep ASCII
	r := []rune(s)
	var bad []string
	for i, c := range r {
		if !strings.ContainsRune(",:;()?!", c) {
			continue
		}
		if nearCJK(r, i, -1) || nearCJK(r, i, +1) {
			lo, hi := max(0, i-6), min(len(r), i+7)
			bad = append(bad, string(r[lo:hi]))
		}
	}
	return bad
}

// nearCJK: is the character beside r[i] (one space skipped) Chinese?
func nearCJK(r []rune, i, dir int) bool {
	j := i + dir
	if j >= 0 && j < len(r) && r[j] == ' ' {
		j += dir
	}
	return j >= 0 && j < len(r) && isCJK(r[j])
}

func isCJK(c rune) bool {
	return unicode.Is(unicode.Han, c) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xff00 && c <= 0xffef)
}

func TestChinesePunctuation(t *testing.T) {
	n := 0
	for k, e := range catalog {
		for _, b := range halfWidthNearCJK(e.zh) {
			n++
			if n <= 40 {
				t.Errorf("%s: half-width punctuation in Chinese text: %q (use ，：；（）？！)", k, b)
			}
		}
	}
	if n > 40 {
		t.Errorf("... %d in all", n)
	}
}

// TestChineseWording pins terms a fluent reader corrected.
func TestChineseWording(t *testing.T) {
	wrong := map[string]string{
		"变更日志":   "变更记录 (a journal, not a changelog)",
		"全机范围的锁": "主机级锁",
		"假的":     "模拟的",
	}
	unitSeconds := regexp.MustCompile(`\d+ s\b`)
	for k, e := range catalog {
		for w, right := range wrong {
			if strings.Contains(e.zh, w) {
				t.Errorf("%s: %q: write %s", k, w, right)
			}
		}
		if regexp.MustCompile(`守护($|[^进单服])`).MatchString(e.zh) {
			t.Errorf("%s: 守护 alone: write 守护进程 (%q)", k, e.zh)
		}
		if unitSeconds.MatchString(e.zh) {
			t.Errorf("%s: seconds as \"s\" in Chinese text: write 秒 (%q)", k, e.zh)
		}
	}
}

func TestHalfWidthDetector(t *testing.T) {
	for in, want := range map[string]int{
		"健康:本机":                       1,
		"规则 (见标 ✗ 的步骤)":               2,
		"运行 `iptables -S ts-input` 看": 0,
		"100.100.2.136,100.100.2.138": 0,
		"健康：本机（见）":                    0,
	} {
		if got := len(halfWidthNearCJK(in)); got != want {
			t.Errorf("%q: %d marks, want %d", in, got, want)
		}
	}
}
