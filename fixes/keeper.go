package fixes

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/i18n"
)

// The keepers of remedies 2 and 3 are a unit and what it runs. The rules a
// fix inserts directly make DNS answer at once, so DNS answering proves
// nothing about the keeper: these checks look at the keeper itself, before
// anything changes (what it runs exists) and after (systemd says it runs).

// needExecutable: the guard unit's binary must exist and be executable
// here, or the unit fails after the fix has already claimed success.
func (h *Host) needExecutable(bin string) error {
	if !filepath.IsAbs(bin) {
		return failure(i18n.M("fix.err.binary.relative", bin))
	}
	// Under another root (the lab) the binary may live in that root or be
	// the host's own tsdoctor.
	for _, p := range []string{h.path(bin), bin} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return nil
		}
	}
	return failure(i18n.M("fix.err.binary.missing", bin))
}

// scriptTools are the commands the whitelist script runs besides the
// firewall's: missing, the script could only fail later, on its own.
var scriptTools = []string{"sh", "grep", "sed", "sleep"}

// needScriptTools: the commands the generated script for backend b runs
// must all be on PATH before the script is installed.
func needScriptTools(b firewall.Backend) error {
	tool := "nft"
	if b != firewall.NFTables {
		t, err := firewall.FindTools(b)
		if err != nil {
			return failure(i18n.M("fix.err.script.tool", firewall.CommandName(b), firewall.InstallAdvice(b)))
		}
		tool = t.Name
	}
	for _, name := range append([]string{tool}, scriptTools...) {
		if _, err := exec.LookPath(name); err != nil {
			advice := "install it"
			if name == "nft" {
				advice = "install the nftables package"
			}
			return failure(i18n.M("fix.err.script.tool", name, advice))
		}
	}
	return nil
}

// unitState is what systemd says about a keeper's unit.
type unitState struct {
	Enabled, Active, Sub, Result string
}

func (h *Host) unitState(ctx context.Context, name string) (unitState, error) {
	out, err := h.run(ctx, []string{"systemctl", "show", "-p", "UnitFileState", "-p", "ActiveState", "-p", "SubState", "-p", "Result", name})
	if err != nil {
		return unitState{}, err
	}
	var s unitState
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "UnitFileState":
			s.Enabled = v
		case "ActiveState":
			s.Active = v
		case "SubState":
			s.Sub = v
		case "Result":
			s.Result = v
		}
	}
	return s, nil
}

// keeperWait bounds how long verification waits for a keeper that is still
// starting (the guard before its READY=1, the whitelist script still
// inserting).
var keeperWait = 20 * time.Second

// keeperEvery is how often it looks again meanwhile.
var keeperEvery = 200 * time.Millisecond

// Keeper kinds: a daemon runs for good (the guard), a job runs once per
// start of tailscaled and stays active after it succeeded (the whitelist).
const (
	keeperDaemon = true
	keeperJob    = false
)

// verifyKeeper waits (at most keeperWait) for the unit to settle and passes
// only when it is enabled and active: for a daemon running (with
// Type=notify, active means it said READY=1), for a job exited with
// success. Without systemd there is no keeper to judge: the caller has
// said so already.
func verifyKeeper(ctx context.Context, h *Host, name string, daemon bool, v *Verification) {
	if !h.Systemd {
		return
	}
	want := "exited"
	if daemon {
		want = "running"
	}
	deadline := time.Now().Add(keeperWait)
	var s unitState
	var err error
	for {
		s, err = h.unitState(ctx, name)
		settled := err == nil && (s.Active == "active" && s.Sub == want || s.Active == "failed" || s.Active == "inactive")
		if settled || !time.Now().Before(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(keeperEvery):
		}
	}
	switch {
	case err != nil:
		v.Passed = false
		v.Details = append(v.Details, i18n.M("verify.keeper.unknown", name, err))
	case s.Enabled != "enabled":
		v.Passed = false
		v.Details = append(v.Details, i18n.M("verify.keeper.disabled", name, s.Enabled))
	case s.Active != "active" || s.Sub != want:
		v.Passed = false
		v.Details = append(v.Details, i18n.M("verify.keeper.down", name, s.Active+"/"+s.Sub, s.Result, seconds(keeperWait)))
	case daemon:
		v.Details = append(v.Details, i18n.M("verify.keeper.ready", name))
	default:
		v.Details = append(v.Details, i18n.M("verify.keeper.done", name))
	}
}

// systemdVersion is systemd's version number (0 when unknown).
func (h *Host) systemdVersion(ctx context.Context) int {
	out, err := h.run(ctx, []string{"systemctl", "--version"})
	if err != nil {
		return 0
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || f[0] != "systemd" {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// scriptNotifies: systemd-notify waits for systemd to take its message
// from systemd 246 on; before, it may exit first and systemd, unable to
// tell which unit sent it, drops READY=1 (CentOS 7 has 219). There the
// polling script's unit is a plain one.
func (h *Host) scriptNotifies(ctx context.Context) bool { return h.systemdVersion(ctx) >= 246 }
