package booted

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/host"
)

// TestPackageFileLists: the .rpm installs exactly the files the .deb does,
// and both mark /etc/default/tsdoctor as configuration the user owns.
func TestPackageFileLists(t *testing.T) {
	if unavailable != "" {
		t.Skip(unavailable)
	}
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Skip("no rpm to read the .rpm's file list: apt install rpm")
	}
	deb, err := debFiles(debs.deb)
	if err != nil {
		t.Fatal(err)
	}
	rpm, err := rpmFiles(debs.rpm)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deb, rpm) {
		t.Errorf("the packages install different files:\n.deb %q\n.rpm %q", deb, rpm)
	}
	for _, want := range []string{"/usr/bin/tsdoctor", "/usr/share/man/man8/tsdoctor.8.gz",
		"/usr/share/bash-completion/completions/tsdoctor", "/usr/lib/systemd/system/tsdoctor-guard.service", "/etc/default/tsdoctor"} {
		if !slices.Contains(deb, want) {
			t.Errorf("the .deb lacks %s: %q", want, deb)
		}
	}
	conf, err := exec.Command("dpkg-deb", "-I", debs.deb, "conffiles").Output()
	if err != nil || strings.TrimSpace(string(conf)) != "/etc/default/tsdoctor" {
		t.Errorf(".deb conffiles: %q %v, want /etc/default/tsdoctor", conf, err)
	}
	if out, err := exec.Command("rpm", "-qcp", debs.rpm).Output(); err != nil || strings.TrimSpace(string(out)) != "/etc/default/tsdoctor" {
		t.Errorf(".rpm config files: %q %v, want /etc/default/tsdoctor", out, err)
	}
}

// footprint lists what a package could leave behind: every path under
// /etc, /usr, /var/lib and /run/systemd (links with their targets), minus
// the package manager's and systemd's own bookkeeping.
func footprint(t *testing.T, h *host.Host) []string {
	t.Helper()
	out := sh(t, h, `find /etc /usr /var/lib \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/lib/systemd -o -path /var/lib/tailscale -o -path /etc/ld.so.cache \) -prune -o -printf '%p %l\n' | sort`)
	return strings.Split(strings.TrimSpace(out), "\n")
}

// TestPackageBooted: the package as a user meets it on a booted Debian 12:
// apt install, man page, bash completion, the guard installed but not
// enabled; enabled with /etc/default/tsdoctor it keeps DNS through
// tailscaled restarts and a reboot; an upgrade to a newer snapshot keeps
// the user's edits to /etc/default/tsdoctor and the running guard; remove
// stops the guard, purge leaves nothing behind.
func TestPackageBooted(t *testing.T) {
	t.Parallel()
	h := bootWith(t, host.Static, false, nil)
	ctx := context.Background()
	// bootWith installed the package; start from a host without it.
	sh(t, h, "apt-get purge -y -q tsdoctor >/dev/null")
	clean := footprint(t, h)

	in := "/root/" + filepath.Base(debs.deb)
	out := sh(t, h, "apt-get install -y "+in+" 2>&1")
	if !strings.Contains(out, "Setting up tsdoctor ("+debs.version+")") {
		t.Errorf("apt install:\n%s", out)
	}
	if got := strings.TrimSpace(sh(t, h, "tsdoctor version | head -1")); !strings.Contains(got, strings.ReplaceAll(debs.version, "~", "-")) {
		t.Errorf("tsdoctor version: %q, package %s", got, debs.version)
	}
	if man := sh(t, h, "MANPAGER=cat MANWIDTH=80 man 8 tsdoctor 2>&1"); !strings.Contains(man, "tsdoctor") || !strings.Contains(man, "guard") {
		t.Errorf("man 8 tsdoctor:\n%s", man)
	}
	// bash-completion loads a command's completion on first use.
	if c := sh(t, h, "bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader tsdoctor; complete -p tsdoctor'"); !strings.Contains(c, "tsdoctor") {
		t.Errorf("bash completion: %q", c)
	}
	if s := sh(t, h, "systemctl is-enabled tsdoctor-guard; systemctl is-active tsdoctor-guard || true"); s != "disabled\ninactive\n" {
		t.Errorf("the guard after install: %q, want disabled and inactive", s)
	}
	if ok, d := lookup(t, h, "example.com"); ok && d < fastLookup {
		t.Fatalf("DNS answers in %s before the guard: the host is not broken", d)
	}

	// The user's edit: their own comment and the conntrack shape.
	sh(t, h, `sed -i 's/^TSDOCTOR_GUARD_SHAPE=.*/TSDOCTOR_GUARD_SHAPE=conntrack/' /etc/default/tsdoctor && echo '# edited by the admin' >> /etc/default/tsdoctor`)
	edited := sh(t, h, "cat /etc/default/tsdoctor")
	sh(t, h, "systemctl enable --now tsdoctor-guard 2>&1")
	waitDNS := func(when string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			if ok, d := lookup(t, h, "example.com"); ok && d < fastLookup {
				return
			}
		}
		st, _ := h.Exec(ctx, "systemctl", "status", "--no-pager", "tsdoctor-guard")
		t.Fatalf("%s: DNS does not answer with the guard enabled\n%s", when, st)
	}
	waitDNS("systemctl enable --now tsdoctor-guard")
	if rules := strings.Join(mustRules(t, h), "\n"); !strings.Contains(rules, "conntrack") {
		t.Errorf("the guard ignores /etc/default/tsdoctor's shape: ts-input\n%s", rules)
	}
	for i := range 2 {
		sh(t, h, "systemctl restart tailscaled")
		if err := h.WaitTailscale(ctx); err != nil {
			t.Fatal(err)
		}
		waitDNS("systemctl restart tailscaled #" + itoa(i+1))
	}
	if err := h.Reboot(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.WaitTailscale(ctx); err != nil {
		t.Fatal(err)
	}
	waitDNS("a reboot")

	// Upgrade to the next snapshot.
	newer := "/root/" + filepath.Base(debs.newer)
	if err := h.CopyIn(ctx, newer, mustRead(t, debs.newer), 0o644); err != nil {
		t.Fatal(err)
	}
	out = sh(t, h, "apt-get install -y "+newer+" 2>&1")
	if !strings.Contains(out, "Unpacking tsdoctor ("+debs.newVersion+") over ("+debs.version+")") {
		t.Errorf("upgrade:\n%s", out)
	}
	if got := sh(t, h, "cat /etc/default/tsdoctor"); got != edited {
		t.Errorf("the upgrade changed /etc/default/tsdoctor:\n%s\nwant the user's\n%s", got, edited)
	}
	if s := sh(t, h, "systemctl is-enabled tsdoctor-guard; systemctl is-active tsdoctor-guard || true"); s != "enabled\nactive\n" {
		t.Errorf("the guard after the upgrade: %q, want enabled and active", s)
	}
	waitDNS("the upgrade")

	out = sh(t, h, "apt-get remove -y -q tsdoctor 2>&1")
	if s := sh(t, h, "systemctl is-enabled tsdoctor-guard 2>&1; systemctl is-active tsdoctor-guard 2>&1 || true"); strings.Contains(s, "enabled\n") || strings.Contains(s, "\nactive") {
		t.Errorf("the guard after remove: %q, want it gone and stopped\n%s", s, out)
	}
	if got := sh(t, h, "cat /etc/default/tsdoctor"); got != edited {
		t.Errorf("remove must keep the user's /etc/default/tsdoctor (a conffile): %q", got)
	}
	sh(t, h, "apt-get purge -y -q tsdoctor >/dev/null 2>&1")
	if after := footprint(t, h); !slices.Equal(after, clean) {
		t.Errorf("purge left the host different from before the install:\n%s", diffLines(clean, after))
	}
}

func mustRules(t *testing.T, h *host.Host) []string {
	t.Helper()
	r, err := h.InputRules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// diffLines shows the lines only in a (-) or only in b (+).
func diffLines(a, b []string) string {
	var s strings.Builder
	for _, l := range a {
		if !slices.Contains(b, l) {
			s.WriteString("- " + l + "\n")
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			s.WriteString("+ " + l + "\n")
		}
	}
	return s.String()
}
