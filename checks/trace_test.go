package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/hostinfo"
)

// TestTraceSilentLog: a LOG trace that prints nothing is judged from the LOG
// rule's own counter, never from /proc/1 (which a container hides or owns):
// matched → the kernel log is silenced here, and why; not matched → the
// replies did not reach INPUT. The kernel log here is a file nobody writes.
func TestTraceSilentLog(t *testing.T) {
	cases := []struct {
		name    string
		sysctl  bool   // a netfilter sysctl dir exists
		allNet  string // its nf_log_all_netns ("" : absent, a child namespace)
		nflog   string
		dead    []string
		want    []string
		notWant []string
	}{
		{"matched, child namespace", true, "", " 2 nf_log_ipv4 (nf_log_ipv4,nfnetlink_log)\n", nil,
			[]string{"the LOG rule matched 2 packet(s) but no kernel log line arrived", "not the host's initial network namespace", "sysctl -w net.netfilter.nf_log_all_netns=1", "LOG 规则匹配到了 2 个包"},
			[]string{"did not reach INPUT", "kernel-log backend is registered"}},
		{"matched, no kernel-log backend", true, "1", " 2 NONE (nfnetlink_log)\n", nil,
			[]string{"matched 2 packet(s)", "no kernel-log backend is registered for IPv4 (/proc/net/netfilter/nf_log: 2 NONE (nfnetlink_log))", "modprobe nf_log_syslog"},
			[]string{"did not reach INPUT", "initial network namespace (a container"}},
		{"matched, nothing to tell", false, "", "", nil,
			[]string{"matched 2 packet(s)", "Why: not visible from here", "20/s limit is not it"},
			[]string{"did not reach INPUT"}},
		{"not matched: the resolvers are down", true, "", " 2 nf_log_ipv4 (nf_log_ipv4)\n", []string{"100.100.2.136", "100.100.2.138"},
			[]string{"the LOG rule matched no packet (its counter stayed at 0)", "the replies did not reach INPUT", "回包没有到达 INPUT"},
			[]string{"matched 2 packet", "Why:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fw := &fakeFW{chains: tsChains(t, "DROP")}
			env := testEnv(t, ecsResolv, fw, runningTS, c.dead...)
			dir := t.TempDir()
			if c.sysctl {
				env.Paths.NetfilterSysctl = filepath.Join(dir, "netfilter")
				os.Mkdir(env.Paths.NetfilterSysctl, 0o755)
				if c.allNet != "" {
					os.WriteFile(filepath.Join(env.Paths.NetfilterSysctl, "nf_log_all_netns"), []byte(c.allNet+"\n"), 0o644)
				}
			}
			if c.nflog != "" {
				env.Paths.NfLog = filepath.Join(dir, "nf_log")
				os.WriteFile(env.Paths.NfLog, []byte(c.nflog), 0o644)
			}
			kmsg := filepath.Join(dir, "kmsg")
			os.WriteFile(kmsg, nil, 0o644)
			env.KernelLog = func() (*hostinfo.KernelLog, error) { return hostinfo.OpenKernelLog(kmsg) }
			opts := fastOpts()
			opts.Trace, opts.Only = true, []StepID{StepTrace}
			rep := Run(context.Background(), env, opts)
			out := render(rep)
			wantText(t, out, c.want, c.notWant)
			if !strings.Contains(out, "temporary LOG rule was removed") {
				t.Errorf("the LOG rule was not removed:\n%s", out)
			}
			for _, ch := range fw.chains {
				for _, r := range ch.Rules {
					if r.LogPrefix != "" {
						t.Errorf("LOG rule left in %s: %+v", ch.Chain, r)
					}
				}
			}
		})
	}
}
