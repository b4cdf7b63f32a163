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

// glossary pins one Chinese term per concept (see the glossary at the top of
// catalog.go): where the English names the concept outside commands and flags,
// the Chinese must use the chosen term, so new strings do not drift into
// synonyms (DNS 服务器/解析器, 阻断/拦截, 演练/试运行, 日志/变更记录).
var glossary = []struct {
	en *regexp.Regexp
	zh string
}{
	{regexp.MustCompile(`(?i)\bjournal\b`), "变更记录"},
	{regexp.MustCompile(`(?i)\bculprit\b`), "元凶"},
	{regexp.MustCompile(`(?i)\bwhitelist`), "白名单"},
	{regexp.MustCompile(`(?i)\bnode attribute\b`), "节点属性"},
	{regexp.MustCompile(`(?i)\bremed(y|ies)\b`), "方案"},
	{regexp.MustCompile(`(?i)\bund(o|one)\b`), "撤销"},
	{regexp.MustCompile(`(?i)\bdry run\b`), "试运行"},
	{regexp.MustCompile(`(?i)\bresolvers?\b`), "解析"},
	{regexp.MustCompile(`(?i)\bguard\b`), "守护进程"},
	{regexp.MustCompile(`(?i)\bdaemon\b`), "守护进程"},
	{regexp.MustCompile(`(?i)\bblocked\b`), "拦截"},
	{regexp.MustCompile(`(?i)\brepl(y|ies)\b`), "回包"},
	{regexp.MustCompile(`(?i)\breboots?\b`), "系统重启"},
	{regexp.MustCompile(`(?i)\bpolicy rules?\b`), "策略路由规则"},
	{regexp.MustCompile(`(?i)\bexit node\b`), "出口节点"},
	{regexp.MustCompile(`(?i)\bpeers?\b`), "节点"},
	{regexp.MustCompile(`(?i)\bcounters?\b`), "计数器"},
	{regexp.MustCompile(`(?i)\bkernel log\b`), "内核日志"},
	{regexp.MustCompile(`(?i)\bbackends?\b`), "后端"},
	{regexp.MustCompile(`(?i)\bdry-run\b`), "试运行"},
}

// commandsAndFlags are left out of the English before the glossary looks at
// it: `tsdoctor undo`, --remedy N and tsdoctor-guard name commands, not concepts.
var commandsAndFlags = regexp.MustCompile("`[^`]*`|--[a-z-]+|[a-z]+-guard\\S*|tsdoctor (undo|guard)|--")

func TestChineseGlossary(t *testing.T) {
	for k, e := range catalog {
		en := commandsAndFlags.ReplaceAllString(e.en, " ")
		for _, g := range glossary {
			if g.en.MatchString(en) && !strings.Contains(e.zh, g.zh) {
				t.Errorf("%s: English says %q; write %s (%q)", k, g.en.FindString(en), g.zh, e.zh)
			}
		}
	}
}
