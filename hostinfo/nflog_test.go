package hostinfo

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadNetfilterLog: the namespace is told from the netfilter sysctls
// alone (nf_log_all_netns exists only in the initial namespace), never from
// /proc/1, which a container may hide.
func TestReadNetfilterLog(t *testing.T) {
	const nflog = " 0 NONE (nfnetlink_log)\n 2 nf_log_ipv4 (nf_log_ipv4,nfnetlink_log)\n10 nf_log_ipv6 (nf_log_ipv6,nfnetlink_log)\n"
	const noKernel = " 2 NONE (nfnetlink_log)\n"
	cases := []struct {
		name   string
		sysctl map[string]string // files in the netfilter sysctl dir; nil: no dir
		nflog  string            // "" : no file
		want   NetfilterLog
	}{
		{"initial, off", map[string]string{"nf_log_all_netns": "0\n", "nf_log": ""}, nflog,
			NetfilterLog{Netns: NetnsInitial, AllNetns: "0", IPv4: "2 nf_log_ipv4 (nf_log_ipv4,nfnetlink_log)", IPv4KernelLogger: true}},
		{"child", map[string]string{"nf_log": ""}, nflog,
			NetfilterLog{Netns: NetnsChild, IPv4: "2 nf_log_ipv4 (nf_log_ipv4,nfnetlink_log)", IPv4KernelLogger: true}},
		{"no kernel logger", map[string]string{"nf_log_all_netns": "1\n"}, noKernel,
			NetfilterLog{Netns: NetnsInitial, AllNetns: "1", IPv4: "2 NONE (nfnetlink_log)"}},
		{"nothing readable", nil, "", NetfilterLog{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := Paths{NetfilterSysctl: filepath.Join(dir, "netfilter"), NfLog: filepath.Join(dir, "nf_log")}
			if c.sysctl != nil {
				os.Mkdir(p.NetfilterSysctl, 0o755)
				for name, body := range c.sysctl {
					if body != "" {
						os.WriteFile(filepath.Join(p.NetfilterSysctl, name), []byte(body), 0o644)
					} else {
						os.Mkdir(filepath.Join(p.NetfilterSysctl, name), 0o755)
					}
				}
			}
			if c.nflog != "" {
				os.WriteFile(p.NfLog, []byte(c.nflog), 0o644)
			}
			if got := p.ReadNetfilterLog(); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
	if (Paths{}).ReadNetfilterLog() != (NetfilterLog{}) {
		t.Error("empty paths should tell nothing")
	}
}
