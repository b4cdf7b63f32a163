package main

import (
	"flag"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/fixes"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the READMEs' command reference")

var readmes = []string{"../../README.md", "../../README.zh-CN.md"}

// TestReadmeReference: each README carries the command reference exactly as
// the binary's -h prints it (every flag of every command, lab's subcommands
// included), and names every environment variable tsdoctor reads.
func TestReadmeReference(t *testing.T) {
	want := referenceMarkdown()
	block := regexp.MustCompile("(?s)" + regexp.QuoteMeta(referenceBegin) + ".*?" + regexp.QuoteMeta(referenceEnd))
	for _, name := range readmes {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		got := block.FindString(doc)
		if got == "" {
			t.Errorf("%s has no command reference (%s … %s)", name, referenceBegin, referenceEnd)
			continue
		}
		if got != want {
			if *updateReadme {
				if err := os.WriteFile(name, []byte(strings.Replace(doc, got, want, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("%s: the command reference is not what -h prints: go test ./cmd/tsdoctor -run TestReadmeReference -update-readme", name)
		}
		for _, env := range []string{"TSDOCTOR_ROOT", "TSDOCTOR_ECS", "NO_COLOR", "LANG"} {
			if !strings.Contains(doc, env) {
				t.Errorf("%s does not mention %s", name, env)
			}
		}
	}
}

// TestReadmeRemediesTable: the remedies table's restart and reboot columns
// say what each remedy's own Info says (and what verification prints).
func TestReadmeRemediesTable(t *testing.T) {
	words := map[string]map[fixes.Lasts]*regexp.Regexp{
		"../../README.md": {fixes.LastsNo: regexp.MustCompile(`(?i)lost`), fixes.LastsUnit: regexp.MustCompile(`(?i)unit`),
			fixes.LastsYes: regexp.MustCompile(`(?i)^\**kept\**( \(|$)`)},
		"../../README.zh-CN.md": {fixes.LastsNo: regexp.MustCompile(`失效|丢失`), fixes.LastsUnit: regexp.MustCompile(`单元`),
			fixes.LastsYes: regexp.MustCompile(`^\**保持\**(（|$)`)},
	}
	for name, w := range words {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// The table starts at its header row: | # | remedy | ...
		table := string(b)
		if i := regexp.MustCompile(`(?m)^\| # \|`).FindStringIndex(table); i != nil {
			table = table[i[0]:]
		} else {
			t.Fatalf("%s: no remedies table (a row starting with \"| # |\")", name)
		}
		for _, r := range fixes.All() {
			info := r.Info()
			row := regexp.MustCompile(`(?m)^\| ` + strconv.Itoa(int(info.ID)) + ` \|.*$`).FindString(table)
			cols := strings.Split(row, "|")
			if len(cols) < 8 {
				t.Errorf("%s: no remedies-table row for remedy %d", name, info.ID)
				continue
			}
			for i, lasts := range map[int]fixes.Lasts{5: info.SurvivesRestart, 6: info.SurvivesReboot} {
				cell := strings.TrimSpace(cols[i])
				if !w[lasts].MatchString(cell) {
					t.Errorf("%s: remedy %d, %s column says %q; the binary says %s", name, info.ID,
						map[int]string{5: "restart", 6: "reboot"}[i], cell, lasts)
				}
			}
		}
	}
}

// TestReadmeTestLinks: every link to a test in either README ("[TestX](path)",
// or "[TestX, TestY](path)", "、" in Chinese) names a file that exists and defines those
// functions, and both READMEs link the same tests: the remedies tables'
// "proved by" column is checked, not trusted.
func TestReadmeTestLinks(t *testing.T) {
	link := regexp.MustCompile(`\[((?:Test|Fuzz|Benchmark)\w+(?:[,、] *(?:Test|Fuzz|Benchmark)\w+)*)\]\(([^)#]+)\)`)
	sets := map[string]map[string]bool{}
	for _, name := range readmes {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sets[name] = map[string]bool{}
		ms := link.FindAllStringSubmatch(string(b), -1)
		if len(ms) == 0 {
			t.Fatalf("%s links no test", name)
		}
		for _, m := range ms {
			src, err := os.ReadFile("../../" + m[2])
			if err != nil {
				t.Errorf("%s: %s links %s, which does not exist", name, m[1], m[2])
				continue
			}
			for _, fn := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ',' || r == '、' }) {
				fn = strings.TrimSpace(fn)
				sets[name][fn+" "+m[2]] = true
				if !regexp.MustCompile(`(?m)^func ` + fn + `\(`).Match(src) {
					t.Errorf("%s: %s links %s, which does not define it", name, fn, m[2])
				}
			}
		}
	}
	en, zh := sets[readmes[0]], sets[readmes[1]]
	for k := range en {
		if !zh[k] {
			t.Errorf("README.md links %s, README.zh-CN.md does not", k)
		}
	}
	for k := range zh {
		if !en[k] {
			t.Errorf("README.zh-CN.md links %s, README.md does not", k)
		}
	}
}
