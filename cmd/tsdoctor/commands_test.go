package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionsAndManFromOneTable: every command and every flag that is
// parsed appears in each completion script and in the man page; the bash
// script is valid bash and the man page renders without warnings.
func TestCompletionsAndManFromOneTable(t *testing.T) {
	out := map[string]string{}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		var b, e bytes.Buffer
		if err := cmdCompletion([]string{sh}, &b, &e); err != nil {
			t.Fatalf("completion %s: %v %s", sh, err, e.String())
		}
		out[sh] = b.String()
	}
	var man bytes.Buffer
	cmdMan(nil, &man, &man)
	out["man"] = strings.ReplaceAll(man.String(), `\-`, "-")
	for _, c := range commands() {
		for where, text := range out {
			if c.Name != "" && !strings.Contains(text, c.Name) {
				t.Errorf("%s lacks command %q", where, c.Name)
			}
			for _, f := range flagList(c) {
				if !strings.Contains(text, f.Name) {
					t.Errorf("%s lacks %s's flag --%s", where, c.Name, f.Name)
				}
			}
		}
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "tsdoctor.bash")
	os.WriteFile(script, []byte(out["bash"]), 0o644)
	if b, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v %s", err, b)
	}
	// Complete "tsdoctor fix --remedy " and "tsdoctor ch" for real.
	probe := `source ` + script + `
COMP_WORDS=(tsdoctor fix --remedy ""); COMP_CWORD=3; _tsdoctor; echo "${COMPREPLY[*]}"
COMP_WORDS=(tsdoctor ch); COMP_CWORD=1; _tsdoctor; echo "${COMPREPLY[*]}"`
	b, err := exec.Command("bash", "-c", probe).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "1 2 3 4 5 6") || !strings.Contains(string(b), "check") {
		t.Errorf("bash completion answers %q (%v)", b, err)
	}
	for _, sh := range []string{"zsh", "fish"} {
		if p, err := exec.LookPath(sh); err == nil {
			f := filepath.Join(dir, "c."+sh)
			os.WriteFile(f, []byte(out[sh]), 0o644)
			args := []string{"-n", f}
			if sh == "fish" {
				args = []string{"--no-execute", f}
			}
			if b, err := exec.Command(p, args...).CombinedOutput(); err != nil {
				t.Errorf("%s syntax: %v %s", sh, err, b)
			}
		}
	}
	// mandoc's linter, at every level (style included): the packaged page
	// is what `man 8 tsdoctor` shows.
	if mandoc, err := exec.LookPath("mandoc"); err == nil {
		cmd := exec.Command(mandoc, "-Tlint")
		cmd.Stdin = strings.NewReader(man.String())
		if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
			t.Errorf("mandoc -Tlint: %v\n%s", err, b)
		}
	} else if os.Getenv("CI") != "" {
		t.Error("mandoc is not installed: CI must lint the man page (apt install mandoc)")
	}
	for _, want := range []string{".SH EXAMPLES", "/etc/default/tsdoctor", "tsdoctor-guard.service", "TSDOCTOR_ECS"} {
		if !strings.Contains(out["man"], want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if strings.Contains(out["man"], ".B --v\n") {
		t.Error("a one-letter flag is spelt --v in the man page: it is -v")
	}
	if groff, err := exec.LookPath("groff"); err == nil {
		cmd := exec.Command(groff, "-man", "-ww", "-z")
		cmd.Stdin = strings.NewReader(man.String())
		if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
			t.Errorf("groff warnings: %v\n%s", err, b)
		}
	}
}
