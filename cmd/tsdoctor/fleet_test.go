package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
)

// TestFleetPlaybook runs the Ansible playbook of docs/fleet.md, as written,
// against the lab's ECS server (connection local, inside its namespace):
// it reports the host blocked, applies the guard remedy, and a second run
// finds it healthy and changes nothing.
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
	l := startLab(t, "new-order")
	dir := t.TempDir()
	playbook := filepath.Join(dir, "tsdoctor.yml")
	inventory := filepath.Join(dir, "inventory")
	os.WriteFile(playbook, m[1], 0o644)
	os.WriteFile(inventory, []byte("ecs ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"), 0o644)
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.Symlink(binary, filepath.Join(bin, "tsdoctor")); err != nil {
		t.Fatal(err)
	}
	play := func(extra ...string) string {
		t.Helper()
		args := []string{"PATH=" + l.BinDir() + ":" + bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"ANSIBLE_NOCOLOR=1", "ANSIBLE_LOCAL_TEMP=" + filepath.Join(dir, "tmp"), "ANSIBLE_REMOTE_TEMP=" + filepath.Join(dir, "tmp"),
			ap, "-i", inventory, playbook, "-e", "ansible_become=false"}
		out, err := l.Command(context.Background(), "env", append(args, extra...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ansible-playbook %v: %v\n%s", extra, err, out)
		}
		return string(out)
	}
	out := play("-e", "remedy=3")
	for _, want := range []string{`"ecs": "blocked"`, "iptables-nft filter/ts-input #5", "Apply remedy 3", "failed=0"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run lacks %q:\n%s", want, out)
		}
	}
	if rep, _, raw := check(t, l); rep.Verdict != checks.Healthy {
		t.Errorf("after the playbook the host is %s:\n%s", rep.Verdict, raw)
	}
	out = play("-e", "remedy=3")
	if !strings.Contains(out, `"ecs": "healthy"`) || !strings.Contains(out, "changed=0") {
		t.Errorf("second run should find it healthy and change nothing:\n%s", out)
	}
}
