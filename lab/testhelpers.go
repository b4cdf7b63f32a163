package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// TB is the part of testing.TB that the helpers here need (lab is linked
// into the tsdoctor binary, which should not carry package testing).
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Cleanup(func())
}

// NeedRoot skips the test unless it runs as root; needs says for what
// ("network namespaces, firewall"), so the skip tells how to run it.
func NeedRoot(tb TB, needs string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skipf("needs root (%s): run the tests as root, as CI does", needs)
	}
}

// RunJSON runs cmd, a tsdoctor command with --json, and decodes its
// standard output into v. It returns the exit code and the whole output
// (standard output, then standard error) for the caller's messages. A
// command that cannot run, or output that is not JSON, fails tb: every
// exit code, non-zero ones included, is a document the tests read.
func RunJSON(tb TB, cmd *exec.Cmd, v any) (int, string) {
	tb.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		tb.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		tb.Fatalf("%s: %v\n%s\nstderr: %s", strings.Join(cmd.Args, " "), err, out, stderr.String())
	}
	return cmd.ProcessState.ExitCode(), string(out) + stderr.String()
}

// BuildTsdoctor builds the tsdoctor command once for a test run into a new
// temporary directory, whose path it returns; the caller removes it.
func BuildTsdoctor() (dir, binary string, err error) {
	dir, err = os.MkdirTemp("", "tsdoctor-e2e")
	if err != nil {
		return "", "", err
	}
	binary = filepath.Join(dir, "tsdoctor")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/tsdoctor/tsdoctor/cmd/tsdoctor").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("build tsdoctor: %v\n%s", err, out)
	}
	return dir, binary, nil
}

// Commander runs commands in a namespace under test (a Lab, an e2e node).
type Commander interface {
	Command(ctx context.Context, name string, args ...string) *exec.Cmd
}

// AssertNoNFTable fails tb when nft in c's namespace lists a table whose
// name starts with prefix (one a run must not leave behind).
func AssertNoNFTable(tb TB, c Commander, prefix string) {
	tb.Helper()
	out, err := c.Command(context.Background(), "nft", "list", "tables").CombinedOutput()
	if err != nil {
		tb.Fatalf("nft list tables: %v\n%s", err, out)
	}
	if strings.Contains(string(out), prefix) {
		tb.Errorf("a %s* table is left:\n%s", prefix, out)
	}
}
