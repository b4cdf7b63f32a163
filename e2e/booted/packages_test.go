package booted

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// goreleaserVersion is what .ci/run pins; the binary is cached outside the
// repository like there.
const goreleaserVersion = "v2.15.1"

func goreleaser() (string, error) {
	bin := "/var/cache/tsdoctor-tools/goreleaser"
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "install", "github.com/goreleaser/goreleaser/v2@"+goreleaserVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(bin), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build goreleaser %s: %w\n%s", goreleaserVersion, err, out)
	}
	return bin, nil
}

// buildPackages builds the packages as a release would
// (`goreleaser release --snapshot --clean`, the repository's own
// .goreleaser.yaml), then a newer snapshot for the upgrade test: the same
// configuration with the snapshot version "-next.1" (sorts after "-next"
// for dpkg) and amd64 only.
func buildPackages(dir string) error {
	if reuse(dir) {
		return nil
	}
	gr, err := goreleaser()
	if err != nil {
		return err
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	conf, err := os.ReadFile(filepath.Join(repo, ".goreleaser.yaml"))
	if err != nil {
		return err
	}
	newer := string(conf)
	for old, repl := range map[string]string{
		`version_template: "{{ incpatch .Version }}-next"`: `version_template: "{{ incpatch .Version }}-next.1"`,
		"goarch: [amd64, arm64]":                           "goarch: [amd64]",
	} {
		if !strings.Contains(newer, old) {
			return fmt.Errorf(".goreleaser.yaml has no %q: update the upgrade test's newer snapshot", old)
		}
		newer = strings.Replace(newer, old, repl, 1)
	}
	newerConf := filepath.Join(dir, "goreleaser-newer.yaml")
	if err := os.WriteFile(newerConf, []byte(newer), 0o644); err != nil {
		return err
	}
	for i, config := range []string{filepath.Join(repo, ".goreleaser.yaml"), newerConf} {
		start := time.Now()
		cmd := exec.Command(gr, "release", "--snapshot", "--clean", "--skip=publish", "--config", config)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("goreleaser release --snapshot --config %s: %w\n%s", config, err, out)
		}
		fmt.Fprintf(os.Stderr, "booted: goreleaser release --snapshot (%s) took %s\n", filepath.Base(config), time.Since(start).Round(100*time.Millisecond))
		found, _ := filepath.Glob(filepath.Join(repo, "dist", "tsdoctor_*_linux_amd64.deb"))
		rpms, _ := filepath.Glob(filepath.Join(repo, "dist", "tsdoctor_*_linux_amd64.rpm"))
		if len(found) != 1 || len(rpms) != 1 {
			all, _ := filepath.Glob(filepath.Join(repo, "dist", "*"))
			return fmt.Errorf("goreleaser built no single amd64 .deb and .rpm: %v", all)
		}
		v, err := exec.Command("dpkg-deb", "-f", found[0], "Version").Output()
		if err != nil {
			return fmt.Errorf("dpkg-deb -f %s Version: %w", found[0], err)
		}
		deb, rpm := filepath.Join(dir, fmt.Sprintf("%d-", i)+filepath.Base(found[0])), filepath.Join(dir, filepath.Base(rpms[0]))
		if err := copyFile(found[0], deb); err != nil {
			return err
		}
		if i == 0 {
			if err := copyFile(rpms[0], rpm); err != nil {
				return err
			}
			debs.deb, debs.rpm, debs.version = deb, rpm, strings.TrimSpace(string(v))
		} else {
			debs.newer, debs.newVersion = deb, strings.TrimSpace(string(v))
		}
	}
	return nil
}

// reuse takes the packages an earlier run left in dir, if all are there.
func reuse(dir string) bool {
	d0, _ := filepath.Glob(filepath.Join(dir, "0-tsdoctor_*.deb"))
	d1, _ := filepath.Glob(filepath.Join(dir, "1-tsdoctor_*.deb"))
	r, _ := filepath.Glob(filepath.Join(dir, "tsdoctor_*.rpm"))
	if len(d0) != 1 || len(d1) != 1 || len(r) != 1 {
		return false
	}
	v0, err0 := exec.Command("dpkg-deb", "-f", d0[0], "Version").Output()
	v1, err1 := exec.Command("dpkg-deb", "-f", d1[0], "Version").Output()
	if err0 != nil || err1 != nil {
		return false
	}
	debs.deb, debs.newer, debs.rpm = d0[0], d1[0], r[0]
	debs.version, debs.newVersion = strings.TrimSpace(string(v0)), strings.TrimSpace(string(v1))
	return true
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// debFiles lists the paths a .deb installs (directories left out).
func debFiles(deb string) ([]string, error) {
	out, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w", deb, err)
	}
	tar := exec.Command("tar", "-t", "-v")
	tar.Stdin = strings.NewReader(string(out))
	list, err := tar.Output()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, l := range strings.Split(string(list), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		files = append(files, strings.TrimPrefix(f[5], "."))
	}
	slices.Sort(files)
	return files, nil
}

// rpmFiles lists the paths an .rpm installs, read with rpm2cpio-free
// tooling: `rpm -qlp` when rpm is there, else bsdtar.
func rpmFiles(rpm string) ([]string, error) {
	var out []byte
	var err error
	if _, lerr := exec.LookPath("rpm"); lerr == nil {
		out, err = exec.Command("rpm", "-qlp", "--noartifact", rpm).Output()
		if err != nil {
			out, err = exec.Command("rpm", "-qlp", rpm).Output()
		}
	} else {
		return nil, fmt.Errorf("no rpm on PATH to read %s: apt install rpm", rpm)
	}
	if err != nil {
		return nil, fmt.Errorf("rpm -qlp %s: %w", rpm, err)
	}
	var files []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			files = append(files, l)
		}
	}
	slices.Sort(files)
	return files, nil
}
