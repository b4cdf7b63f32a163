package lab

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// NfLogLock is the file whose exclusive flock serialises changes to the
// kernel-wide net.netfilter.nf_log_all_netns between tests, in this process
// and in others (other packages, other worktrees on the same machine).
const NfLogLock = "/run/tsdoctor-nflog.lock"

const nfLogAllNetns = "/proc/sys/net/netfilter/nf_log_all_netns"

// SetNfLogAllNetns sets net.netfilter.nf_log_all_netns to v ("0" or "1")
// under an exclusive flock on NfLogLock, waiting for whoever holds it. The
// returned restore puts the old value back and releases the lock: hold it
// for as long as the test depends on the value. It changes no firewall, only
// whether LOG rules in non-initial network namespaces print.
func SetNfLogAllNetns(v string) (restore func(), err error) {
	f, err := os.OpenFile(NfLogLock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("nf_log_all_netns lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("nf_log_all_netns lock %s: %w", NfLogLock, err)
	}
	old, err := os.ReadFile(nfLogAllNetns)
	if err == nil {
		err = os.WriteFile(nfLogAllNetns, []byte(v), 0o644)
	}
	if err != nil {
		f.Close() // releases the lock
		return nil, fmt.Errorf("set net.netfilter.nf_log_all_netns (run as root, in the host's network namespace): %w", err)
	}
	return func() {
		os.WriteFile(nfLogAllNetns, old, 0o644)
		f.Close()
	}, nil
}

// HoldNfLogAllNetns sets nf_log_all_netns to v for the rest of the test
// (SetNfLogAllNetns, restored at its end) and says whether it did: not as
// an ordinary user, whose test skips later for want of a lab.
func HoldNfLogAllNetns(tb TB, v string) bool {
	tb.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	restore, err := SetNfLogAllNetns(v)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(restore)
	return true
}
