package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/lab"
)

// TestFleetPlaybook runs the Ansible playbook of docs/fleet.md, as written,
// against four lab hosts at once, each in its own namespaces and state:
// blocked, healthy (node attribute), no Tailscale, and one that cannot be
// checked (a legacy host without the iptables tools). Ansible runs here; each
// host's modules run inside that host's namespace through its Python
// interpreter. It must name every host in the summary (also the one that
// could not be checked, with tsdoctor's reason), show a fix that did not
// verify and fail that host, then apply the guard where blocked, and change
// nothing on a second run.
func TestFleetPlaybook(t *testing.T) {
	ap, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Skip("no ansible-playbook: apt install ansible-core")
	}
	doc, err := os.ReadFile("../../docs/fleet.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/fleet.md has no yaml block")
	}
	dir := t.TempDir()
	playbook := filepath.Join(dir, "tsdoctor.yml")
	os.WriteFile(playbook, m[1], 0o644)
	if lint, err := exec.LookPath("ansible-lint"); err == nil {
		if out, err := exec.Command(lint, "-p", "--nocolor", playbook).CombinedOutput(); err != nil {
			t.Errorf("ansible-lint: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") != "" {
		t.Error("ansible-lint is not installed: CI must lint the playbook (apt install ansible-lint)")
	}

	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.Symlink(binary, filepath.Join(bin, "tsdoctor")); err != nil {
		t.Fatal(err)
	}
	noIptables := pathWithout(t, filepath.Join(dir, "noiptables"), "iptables", "ip6tables", "xtables", "arptables", "ebtables")
	hosts := []struct{ name, scenario, path string }{
		{"blocked", "new-order", ""},
		{"healthy", "nodeattr", ""},
		{"notailscale", "no-tailscale", ""},
		{"nocheck", "legacy", noIptables},
	}
	var inv strings.Builder
	labs := map[string]*lab.Lab{}
	for _, h := range hosts {
		l := startLab(t, h.scenario)
		labs[h.name] = l
		if h.name == "nocheck" {
			// tsdoctor reads legacy tables itself, without iptables; a LOG
			// rule on the INPUT path is what only iptables-legacy can read.
			if out, err := l.Command(context.Background(), "iptables-legacy", "-A", "INPUT", "-j", "LOG").CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
		// The host's Python runs inside its namespace, with the lab's
		// environment (PATH with the fake tailscale CLI, TSDOCTOR_ROOT).
		args := l.Command(context.Background(), "/usr/bin/python3").Args
		for i, a := range args {
			if strings.HasPrefix(a, "PATH=") {
				p := strings.TrimPrefix(a, "PATH=")
				if h.path != "" {
					p = l.BinDir() + ":" + h.path
				}
				args[i] = "PATH=" + p + ":" + bin
			}
		}
		py := filepath.Join(dir, "python-"+h.name)
		script := "#!/bin/sh\nexec " + shellJoin(args) + " \"$@\"\n"
		if err := os.WriteFile(py, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&inv, "%s ansible_connection=local ansible_python_interpreter=%s\n", h.name, py)
	}
	inventory := filepath.Join(dir, "inventory")
	os.WriteFile(inventory, []byte(inv.String()), 0o644)

	play := func(wantCode int, extra ...string) string {
		t.Helper()
		cmd := exec.Command(ap, append([]string{"-v", "-i", inventory, playbook, "-e", "ansible_become=false"}, extra...)...)
		cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0",
			"ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"), "ANSIBLE_REMOTE_TEMP="+filepath.Join(dir, "tmp"))
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != wantCode {
			t.Fatalf("ansible-playbook %v: exit %d, want %d\n%s", extra, code, wantCode, out)
		}
		return string(out)
	}
	summary := regexp.MustCompile(`(?s)Summary \(host → verdict\).*?"msg": \{(.*?)\}`)
	verdicts := func(out string) string {
		m := summary.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no summary in:\n%s", out)
		}
		return m[1]
	}

	// 1. Remedy 6 cannot verify in the lab (no admin grants the attribute):
	// the verification is shown, the host fails, the others are untouched.
	out := play(2, "-e", "remedy=6", "-e", "ecs=false")
	v := verdicts(out)
	for _, want := range []string{`"blocked": "blocked"`, `"healthy": "healthy"`, `"nocheck": "error"`, `"notailscale": `} {
		if !strings.Contains(v, want) {
			t.Errorf("summary lacks %s: {%s}", want, v)
		}
	}
	for _, want := range []string{"Why a host could not be checked", "iptables", "iptables-nft filter/ts-input #5",
		"TASK [Verification]", "remedy 6 is not verified on blocked"} {
		if !strings.Contains(out, want) {
			t.Errorf("run with remedy 6 lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"--ecs"`) {
		t.Errorf("-e ecs=false still passed --ecs:\n%s", out)
	}

	// 2. The guard where blocked: verified, and the host is healthy after.
	out = play(0, "-e", "remedy=3")
	for _, want := range []string{"Apply remedy 3", "blocked                    : ok="} {
		if !strings.Contains(out, want) {
			t.Errorf("run with remedy 3 lacks %q:\n%s", want, out)
		}
	}
	if rep, _, raw := check(t, labs["blocked"]); rep.Verdict != checks.Healthy {
		t.Errorf("after the playbook the host is %s:\n%s", rep.Verdict, raw)
	}

	// 3. Again: every host as it is, nothing changed.
	out = play(0, "-e", "remedy=3")
	if v := verdicts(out); !strings.Contains(v, `"blocked": "healthy"`) {
		t.Errorf("second run should find the fixed host healthy: {%s}", v)
	}
	if !regexp.MustCompile(`blocked\s+: ok=\d+\s+changed=0`).MatchString(out) {
		t.Errorf("second run changed something:\n%s", out)
	}
}

// pathWithout is a directory of links to every program on PATH except
// those whose names start with one of drop: a host without those tools.
func pathWithout(t *testing.T, dir string, drop ...string) string {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	for _, d := range filepath.SplitList("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") {
		ents, _ := os.ReadDir(d)
	next:
		for _, e := range ents {
			for _, p := range drop {
				if strings.HasPrefix(e.Name(), p) {
					continue next
				}
			}
			os.Symlink(filepath.Join(d, e.Name()), filepath.Join(dir, e.Name())) // first one on PATH wins
		}
	}
	return dir
}

func shellJoin(args []string) string {
	var q []string
	for _, a := range args {
		q = append(q, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return strings.Join(q, " ")
}
