package firewall

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// legacyCorpus covers what the raw reader renders (tailscaled's rules,
// kube-proxy's INPUT path, tsdoctor's whitelist, CentOS 7's `-m state`,
// REJECT, goto, negations,
// ranges, fragments, a rule without a target, counters) and one thing it
// does not (LOG), off the INPUT path.
const legacyCorpus = `*filter
:INPUT ACCEPT [7:700]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:ts-input - [0:0]
:KUBE-FIREWALL - [0:0]
:EMPTY - [0:0]
:LOGGED - [0:0]
[1:60] -A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-FIREWALL
[0:0] -A INPUT -m comment --comment "kubernetes health check service ports" -j EMPTY
[3:180] -A INPUT -j ts-input
[0:0] -A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT
[0:0] -A INPUT ! -s 192.168.0.0/16 ! -d 10.1.2.3/32 -p udp -m udp ! --sport 1000:2000 --dport 53 -j REJECT --reject-with icmp-port-unreachable
[0:0] -A INPUT -i eth+ -p icmp -j DROP
[0:0] -A FORWARD -i eth0 ! -o lo+ -p icmp -j DROP
[0:0] -A INPUT ! -i eth1 ! -p tcp -j ACCEPT
[0:0] -A INPUT -p tcp -m tcp --sport 80 -j REJECT --reject-with tcp-reset
[0:0] -A INPUT -f -j DROP
[5:300] -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
[0:0] -A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
[0:0] -A INPUT -m state --state INVALID,UNTRACKED -j DROP
[0:0] -A INPUT -i eth0 -m state ! --state INVALID -j RETURN
[0:0] -A INPUT -s 10.9.0.0/16
[0:0] -A INPUT -g EMPTY
[0:0] -A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
[0:0] -A KUBE-FIREWALL -m conntrack --ctstate INVALID,NEW,UNTRACKED -j RETURN
[0:0] -A KUBE-FIREWALL -j RETURN
[0:0] -A ts-input -s 100.100.2.136/32 -p udp -m udp --sport 53 -m comment --comment "tsdoctor whitelist \"q\" a\\b" -j ACCEPT
[0:0] -A ts-input -s 100.64.0.1/32 -i lo -j ACCEPT
[0:0] -A ts-input -i tailscale0 -j ACCEPT
[0:0] -A ts-input -p udp -m udp --dport 41641 -j ACCEPT
[0:0] -A ts-input -s 100.115.92.0/23 ! -i tailscale0 -j RETURN
[12345678901:987654321012] -A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP
[0:0] -A LOGGED -m limit --limit 5/sec -j LOG --log-prefix "x: "
[0:0] -A FORWARD -j LOGGED
COMMIT
`

func legacyNS(t *testing.T, rules string) string {
	t.Helper()
	nftNeedTool(t, "iptables-legacy-restore")
	ns, _ := nftNetns(t)
	nftIn(t, ns, rules, "iptables-legacy-restore", "-c")
	return ns
}

// legacyReaders returns a raw and a CLI-only reader for namespace ns. The
// CLI runs through a wrapper that enters ns: the reader starts it from
// goroutines on threads outside the test's namespace thread.
func legacyReaders(t *testing.T, ns string) (raw, cli *Iptables) {
	wrapper := filepath.Join(t.TempDir(), "iptables-legacy")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec ip netns exec "+ns+" iptables-legacy \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	raw, cli = NewIptablesLegacy(), NewIptablesLegacy()
	raw.binary, cli.binary = wrapper, wrapper
	// /proc/net follows the process's first thread; the test runs in
	// another thread's namespace.
	raw.ProcTables, cli.ProcTables = "/proc/thread-self/net/ip_tables_names", "/proc/thread-self/net/ip_tables_names"
	cli.CLIOnly = true
	return raw, cli
}

// TestLegacyRawMatchesCLI: the table read from the kernel gives exactly the
// rules, counters, policies and order iptables-legacy -v -S gives, for the
// INPUT path and for every chain of the table it renders.
func TestLegacyRawMatchesCLI(t *testing.T) {
	ns := legacyNS(t, legacyCorpus)
	inNetnsThread(t, ns, func() {
		raw, cli := legacyReaders(t, ns)
		ctx := t.Context()
		got, want := raw.InputPath(ctx), cli.InputPath(ctx)
		if want.Err != "" || got.Err != "" {
			t.Fatalf("errors: raw %q, cli %q", got.Err, want.Err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("InputPath differs:\nraw %+v\ncli %+v", got, want)
		}
		if len(got.Chains) != 4 || !got.Tailscale {
			t.Errorf("want INPUT, KUBE-FIREWALL, EMPTY, ts-input with Tailscale: %+v", got)
		}
		err := withRawTable("filter", func(tab *rawTable) error {
			for _, name := range tab.Order {
				ref := ChainRef{Backend: IptablesLegacy, Family: IPv4, Table: "filter", Chain: name}
				want, err := cli.Chain(ctx, ref)
				if err != nil {
					return err
				}
				got, err := tab.chain(name)
				if name == "LOGGED" {
					if !errors.Is(err, errRawUnsupported) {
						t.Errorf("LOGGED: want errRawUnsupported, got %v", err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s differs:\nraw %+v\ncli %+v", name, got, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Chain falls back to the CLI for a chain the raw reader does not render.
		ref := ChainRef{Backend: IptablesLegacy, Family: IPv4, Table: "filter", Chain: "LOGGED"}
		wantC, err := cli.Chain(ctx, ref)
		if c, err2 := raw.Chain(ctx, ref); err != nil || err2 != nil || !reflect.DeepEqual(c, wantC) || len(c.Rules) != 1 {
			t.Errorf("LOGGED through the fallback: %v %v\n%+v\n%+v", err, err2, c, wantC)
		}
		drop := got.Chains[3].Rules[5]
		if drop.Packets != 12345678901 || drop.Bytes != 987654321012 || drop.Text != "-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP" {
			t.Errorf("DROP rule: %+v", drop)
		}
	})
}

// TestLegacyRawFallsBack: an extension on the INPUT path the raw reader does
// not render sends the whole read to iptables-legacy, with the same result.
func TestLegacyRawFallsBack(t *testing.T) {
	ns := legacyNS(t, strings.Replace(legacyCorpus, "[0:0] -A FORWARD -j LOGGED", "[0:0] -A INPUT -j LOGGED", 1))
	inNetnsThread(t, ns, func() {
		raw, cli := legacyReaders(t, ns)
		if _, err := raw.rawInputPath(); !errors.Is(err, errRawUnsupported) {
			t.Fatalf("rawInputPath: want errRawUnsupported, got %v", err)
		}
		got, want := raw.InputPath(t.Context()), cli.InputPath(t.Context())
		if got.Err != "" || !reflect.DeepEqual(got, want) {
			t.Errorf("InputPath differs:\nraw %+v\ncli %+v", got, want)
		}
	})
}

// TestLegacyRawUnhookedTSInput: ts-input filled before tailscaled hooks it is
// still read (the guard whitelists it before its DROP can take effect).
func TestLegacyRawUnhookedTSInput(t *testing.T) {
	ns := legacyNS(t, "*filter\n:ts-input - [0:0]\n-A ts-input -s 100.64.0.0/10 ! -i tailscale0 -j DROP\nCOMMIT\n")
	inNetnsThread(t, ns, func() {
		raw, _ := legacyReaders(t, ns)
		st := raw.InputPath(t.Context())
		if st.Err != "" || !st.Tailscale || len(st.Chains) != 2 || st.Chains[1].Chain != "ts-input" || len(st.Chains[1].Rules) != 1 {
			t.Errorf("want INPUT and the unhooked ts-input: %+v", st)
		}
	})
}

// TestIptablesNFTNeedsItsTable: with no nf_tables table ip filter (a
// legacy-only host) the iptables-nft reader runs no iptables-nft at all;
// once the table exists it does.
func TestIptablesNFTNeedsItsTable(t *testing.T) {
	nftNeedTool(t, "nft")
	ns, _ := nftNetns(t)
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "iptables-nft")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\necho \"$@\" >> "+calls+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	read := func() BackendState {
		var st BackendState
		inNetnsThread(t, ns, func() {
			r := NewIptablesNFT()
			r.binary = wrapper
			st = r.InputPath(t.Context())
		})
		return st
	}
	if st := read(); st.Err != "" || len(st.Chains) != 0 {
		t.Errorf("no table ip filter: %+v", st)
	}
	if b, err := os.ReadFile(calls); err == nil {
		t.Errorf("iptables-nft ran without its table: %s", b)
	}
	nftIn(t, ns, "", "nft", "add", "table", "ip", "filter")
	read()
	if _, err := os.ReadFile(calls); err != nil {
		t.Errorf("iptables-nft not asked once table ip filter exists")
	}
}
