package firewall

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseIptablesVersion(t *testing.T) {
	for _, c := range []struct {
		out     string
		backend Backend
		version string
		ok      bool
	}{
		{"iptables v1.4.21\n", IptablesLegacy, "1.4.21", true}, // CentOS 7, Alibaba Cloud Linux 2
		{"iptables v1.6.1\n", IptablesLegacy, "1.6.1", true},   // Ubuntu 18.04
		{"iptables v1.8.9 (legacy)\n", IptablesLegacy, "1.8.9", true},
		{"iptables v1.8.9 (nf_tables)\n", IptablesNFT, "1.8.9", true},
		{"iptables v1.8.4 (nf_tables): no table\n", IptablesNFT, "1.8.4", true},
		{"iptables v1.9.0 (something new)\n", "", "1.9.0", false},
		{"sh: iptables: not found\n", "", "", false},
	} {
		b, v, ok := ParseIptablesVersion(c.out)
		if b != c.backend || v != c.version || ok != c.ok {
			t.Errorf("%q: %q %q %v, want %q %q %v", c.out, b, v, ok, c.backend, c.version, c.ok)
		}
	}
}

// fakeBin writes a script per name that prints what `-V` would.
func fakeBin(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, says := range files {
		script := "#!/bin/sh\necho '" + says + "'\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestFindTools: which command drives each flavour, decided from what is
// on PATH and what `iptables -V` says (fakes: the real legacy-named host is
// the lab's, in cmd/tsdoctor's TestLegacyNamed*).
func TestFindTools(t *testing.T) {
	for _, c := range []struct {
		name    string
		files   map[string]string
		backend Backend
		want    string // Name, or "error: <part of it>"
		waits   bool
	}{
		{"centos7 legacy", map[string]string{"iptables": "iptables v1.4.21", "iptables-restore": "", "yum": ""}, IptablesLegacy, "iptables", false},
		{"ubuntu1804 legacy", map[string]string{"iptables": "iptables v1.6.1", "iptables-restore": "", "apt-get": ""}, IptablesLegacy, "iptables", false},
		{"centos7 has no nft", map[string]string{"iptables": "iptables v1.4.21", "iptables-restore": "", "yum": ""}, IptablesNFT, "error: `iptables` is iptables-legacy 1.4.21: install the iptables package (yum install iptables)", false},
		{"debian both", map[string]string{"iptables": "iptables v1.8.9 (nf_tables)", "iptables-restore": "", "iptables-legacy": "", "iptables-legacy-restore": "", "iptables-nft": "", "iptables-nft-restore": ""}, IptablesLegacy, "iptables-legacy", true},
		{"debian nft", map[string]string{"iptables": "iptables v1.8.9 (nf_tables)", "iptables-restore": "", "iptables-nft": "", "iptables-nft-restore": ""}, IptablesNFT, "iptables-nft", true},
		{"plain nft only", map[string]string{"iptables": "iptables v1.8.10 (nf_tables)", "iptables-restore": ""}, IptablesNFT, "iptables", true},
		{"rhel9 no legacy", map[string]string{"iptables": "iptables v1.8.10 (nf_tables)", "iptables-restore": "", "dnf": "", "yum": ""}, IptablesLegacy, "error: install the legacy tools (dnf install iptables-legacy", false},
		{"nothing", map[string]string{"apt-get": ""}, IptablesLegacy, "error: neither iptables-legacy nor iptables found: install the iptables package (apt install iptables)", false},
		{"no restore", map[string]string{"iptables": "iptables v1.4.21"}, IptablesLegacy, "error: iptables found but not iptables-restore", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PATH", fakeBin(t, c.files))
			tools, err := FindTools(c.backend)
			if want, isErr := strings.CutPrefix(c.want, "error: "); isErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err %v, want one containing %q", err, want)
				}
				return
			}
			if err != nil || tools.Name != c.want || tools.RestoreWaits != c.waits || !strings.HasSuffix(tools.Restore, tools.Name+"-restore") {
				t.Fatalf("%+v %v, want %s (restore waits %v)", tools, err, c.want, c.waits)
			}
		})
	}
}

// TestCommandName: the command shown in plans is what an operator types:
// plain `iptables` when it is the flavour.
func TestCommandName(t *testing.T) {
	debian := map[string]string{"iptables": "iptables v1.8.9 (nf_tables)", "iptables-restore": "", "iptables-legacy": "", "iptables-legacy-restore": "", "iptables-nft": "", "iptables-nft-restore": ""}
	for _, c := range []struct {
		files       map[string]string
		nft, legacy string
	}{
		{debian, "iptables", "iptables-legacy"},
		{map[string]string{"iptables": "iptables v1.4.21", "iptables-restore": ""}, "iptables", "iptables"},
		{map[string]string{"iptables": "iptables v1.8.9 (legacy)", "iptables-nft": "", "iptables-nft-restore": ""}, "iptables-nft", "iptables"},
		{map[string]string{}, "iptables", "iptables-legacy"},
	} {
		t.Setenv("PATH", fakeBin(t, c.files))
		if n, l := CommandName(IptablesNFT), CommandName(IptablesLegacy); n != c.nft || l != c.legacy {
			t.Errorf("%v: %s / %s, want %s / %s", c.files, n, l, c.nft, c.legacy)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	for v, want := range map[string]bool{"1.4.21": false, "1.6.1": false, "1.6.2": true, "1.8.9": true, "1.10": true, "": false} {
		if got := versionAtLeast(v, 1, 6, 2); got != want {
			t.Errorf("%q ≥ 1.6.2: %v", v, got)
		}
	}
}
