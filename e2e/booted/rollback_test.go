package booted

import (
	"strings"
	"testing"
)

// TestHalfEnabledRollbackBooted: on a booted Debian 12, remedy 2's
// `systemctl enable --now tsdoctor-whitelist.service` links the unit, then
// fails to start it (an admin's drop-in runs /bin/false first). The fix
// fails and rolls back, and the host is exactly as before: the rules, the
// files, and no .wants link left to start a unit that is gone at the next
// boot. The rollback used to skip the failed command, leaving the link.
func TestHalfEnabledRollbackBooted(t *testing.T) {
	t.Parallel()
	h := boot(t, "static", nil)
	sh(t, h, `mkdir -p /etc/systemd/system/tsdoctor-whitelist.service.d
printf '[Service]\nExecStartPre=/bin/false\n' >/etc/systemd/system/tsdoctor-whitelist.service.d/fail.conf`)
	before := state(t, h)
	fo, code, raw := fix(t, h, "--remedy", "2")
	if code == 0 || fo.Changed || !strings.Contains(fo.Error, "rolled back") {
		t.Fatalf("fix 2 with a unit that cannot start: exit %d\n%s", code, raw)
	}
	if after := state(t, h); after != before {
		t.Errorf("after the rollback the host differs:\n%s\nbefore:\n%s\nfix said:\n%s", after, before, raw)
	}
	if out := sh(t, h, `find /etc/systemd/system -name 'tsdoctor-whitelist.service' -path '*.wants/*'`); out != "" {
		t.Errorf(".wants link left after the rollback: %s", out)
	}
}
