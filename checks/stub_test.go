package checks

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tsdoctor/tsdoctor/hostinfo"
)

// TestStubSettledByUpstreams: Ubuntu's path, resolv.conf → 127.0.0.53 →
// systemd-resolved's upstreams. Once every upstream's reply is shown dropped
// by a counter the stub's probe is settled from that, not left to its
// timeout; while any upstream may still answer, or is silent for a reason no
// counter shows, the stub is waited for as before.
func TestStubSettledByUpstreams(t *testing.T) {
	const stubResolv = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n"
	cases := []struct {
		name     string
		upstream string
		dead     []string
		verdict  Verdict
		want     []string
		notWant  []string
	}{
		{"every upstream dropped", ecsResolv, nil, Blocked,
			[]string{"127.0.0.53 (DNS/UDP): no answer, and none can come: it forwards to 100.100.2.136, 100.100.2.138, whose replies iptables-nft filter/ts-input #5", "127.0.0.53 (DNS/TCP): no answer, and none can come", "100.100.2.136 (DNS/UDP): no answer; the reply was dropped", "无应答，也不可能有应答"},
			nil},
		{"one upstream answers", "nameserver 100.100.2.136\nnameserver 10.0.0.2\n", nil, Blocked,
			[]string{"127.0.0.53 (DNS/UDP): answered", "100.100.2.136 (DNS/UDP): no answer; the reply was dropped"},
			[]string{"none can come"}},
		{"upstream silent for another reason", "nameserver 100.100.2.136\nnameserver 10.0.0.2\n", []string{"10.0.0.2"}, Blocked,
			[]string{"127.0.0.53 (DNS/UDP): no answer."},
			[]string{"none can come"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fw := &fakeFW{chains: tsChains(t, "DROP")}
			env := testEnv(t, stubResolv, fw, runningTS, c.dead...)
			env.Paths.ResolvedUpstream = filepath.Join(t.TempDir(), "resolv.conf")
			if err := os.WriteFile(env.Paths.ResolvedUpstream, []byte(c.upstream), 0o644); err != nil {
				t.Fatal(err)
			}
			pr := env.Probe.(fakeProber)
			pr.stub = hostinfo.ParseResolvConf(c.upstream).Nameservers
			env.Probe = pr
			opts := fastOpts()
			opts.ProbeTimeout = 500 * time.Millisecond
			rep := Run(context.Background(), env, opts)
			out := render(rep)
			if rep.Verdict != c.verdict || rep.Culprit == nil || rep.Culprit.Position != 5 {
				t.Fatalf("verdict %s culprit %+v\n%s", rep.Verdict, rep.Culprit, out)
			}
			for _, b := range rep.Blocked {
				if b.Address == netip.MustParseAddr("127.0.0.53") {
					t.Errorf("the stub itself reported blocked: %+v", rep.Blocked)
				}
			}
			wantText(t, out, c.want, c.notWant)
		})
	}
}
