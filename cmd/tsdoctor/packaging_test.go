package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckTimerUnits: the packaged tsdoctor-check service and timer pass
// systemd-analyze verify (with ExecStart pointed at a file that exists
// here; a broken copy does not pass, so the check can fail), their
// ExecStart parses with check's own flags, and .goreleaser.yaml installs
// both.
func TestCheckTimerUnits(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	service, timer := read("packaging/tsdoctor-check.service"), read("packaging/tsdoctor-check.timer")
	release := read(".goreleaser.yaml")
	for _, u := range []string{"tsdoctor-check.service", "tsdoctor-check.timer"} {
		if !strings.Contains(release, "src: packaging/"+u+"\n        dst: /usr/lib/systemd/system/"+u+"\n") {
			t.Errorf(".goreleaser.yaml does not install packaging/%s into /usr/lib/systemd/system", u)
		}
	}
	var exec1 string
	for _, l := range strings.Split(service, "\n") {
		if s, ok := strings.CutPrefix(l, "ExecStart="); ok {
			exec1 = s
		}
	}
	args := strings.Fields(exec1)
	if len(args) < 2 || args[0] != "/usr/bin/tsdoctor" || args[1] != "check" {
		t.Fatalf("ExecStart=%s: want /usr/bin/tsdoctor check ...", exec1)
	}
	fs, fv := checkFlagSet()
	if err := fs.Parse(args[2:]); err != nil || fs.NArg() > 0 {
		t.Fatalf("ExecStart=%s does not parse as check's flags: %v %v", exec1, err, fs.Args())
	}
	if want := "/var/lib/prometheus/node-exporter/tsdoctor.prom"; fv.prometheus != want {
		t.Errorf("--prometheus %q, want Debian's textfile directory: %s", fv.prometheus, want)
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze here: the units are not verified")
	}
	for _, c := range []struct {
		name, service, timer string
		ok                   bool
	}{
		{"packaged", service, timer, true},
		{"broken service", strings.Replace(service, "Type=oneshot", "Type=oneshoot", 1), timer, false},
		{"broken timer", service, strings.Replace(timer, "OnUnitActiveSec=1min", "OnUnitActiveSec=1mnx", 1), false},
	} {
		dir := t.TempDir()
		exe := filepath.Join(dir, "tsdoctor")
		if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		svc := filepath.Join(dir, "tsdoctor-check.service")
		tmr := filepath.Join(dir, "tsdoctor-check.timer")
		if err := os.WriteFile(svc, []byte(strings.ReplaceAll(c.service, "/usr/bin/tsdoctor", exe)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tmr, []byte(c.timer), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sa, "verify", svc, tmr).CombinedOutput()
		ok := err == nil && len(strings.TrimSpace(string(out))) == 0
		if ok != c.ok {
			t.Errorf("%s: systemd-analyze verify: ok %v, want %v: %v\n%s", c.name, ok, c.ok, err, out)
		}
	}
}
