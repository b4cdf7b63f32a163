package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/firewall"
	"github.com/tsdoctor/tsdoctor/firewall/nftrace"
	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/hostinfo"
	"github.com/tsdoctor/tsdoctor/netprobe"
	"github.com/tsdoctor/tsdoctor/tailscale"
)

// machine is the host a command works on, built by openMachine for every
// command so the check, the wizard, the remedies and undo always see the
// same machine: the same root, the same files, the same firewall.
type machine struct {
	// root is where the host's files live (resolveRoot): "/" on a real
	// host, the lab's directory in the lab.
	root string
	// env is the machine as the engine sees it.
	env checks.Env
	// fix is the machine for the remedies and undo; its Diagnose runs the
	// check on env with the options openMachine was given.
	fix *fixes.Host
}

// openMachine builds the machine under root; opts are the check's options,
// which the remedies' verification runs again.
func openMachine(root string, opts checks.Options) machine {
	env := hostEnv(root)
	return machine{root: root, env: env, fix: fixHost(root, env, opts)}
}

// hostFirewall is the machine's firewall for the commands that need nothing
// else (guard, debug firewall); they check for root first.
func hostFirewall() *firewall.Host {
	touchHost()
	return firewall.Default()
}

// hostEnv is the real machine as the engine sees it, its files under root
// (resolveRoot: "/" on a real host, the lab's root in the lab).
func hostEnv(root string) checks.Env {
	touchHost()
	isRoot := os.Geteuid() == 0
	env := checks.Env{
		Tailscale: tailscale.ExecRunner{Socket: filepath.Join(root, tailscale.DefaultSocket)},
		Paths:     rootPaths(root),
		Probe:     netprobe.Net{},
		KernelLog: func() (*hostinfo.KernelLog, error) { return hostinfo.OpenKernelLog("") },
		NFTrace:   nftrace.Namespace{},
		Root:      isRoot,
		Interface: func(name string) bool { _, err := net.InterfaceByName(name); return err == nil },
		Now:       time.Now,
		// The kernel answers which route each VPC service takes.
		RouteLookup: hostinfo.LookupRoute,
		PolicyRules: hostinfo.ListRules,
	}
	if isRoot {
		env.Firewall = hostFirewall()
	}
	return env
}

// rootPaths are the configuration files the check reads, under root: the
// same files the remedies write.
func rootPaths(root string) hostinfo.Paths {
	p := hostinfo.DefaultPaths
	if root != "" && root != "/" {
		p.ResolvConf = filepath.Join(root, p.ResolvConf)
		p.ResolvedUpstream = filepath.Join(root, p.ResolvedUpstream)
		p.TailscaleBackup = filepath.Join(root, p.TailscaleBackup)
	}
	return p
}

// fixHost is the machine for the remedies. The root (resolveRoot) puts
// every file the remedies touch, and the journal, under another directory:
// the lab uses it so nothing of the host's /etc is ever changed. env must
// read the same root, so the diagnosis sees the files the remedy changes.
func fixHost(root string, env checks.Env, opts checks.Options) *fixes.Host {
	h := &fixes.Host{Firewall: env.Firewall, Root: root, Run: fixes.ExecRun, Now: time.Now,
		Systemd: (root == "" || root == "/") && fixes.SystemdRunning()}
	h.Diagnose = func(ctx context.Context) checks.Report { return checks.Run(ctx, env, opts) }
	if root == "" || root == "/" {
		h.StubLookup = func(ctx context.Context) (bool, time.Duration, string) {
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			r := netprobe.Net{}.DNS(ctx, netip.AddrPortFrom(hostinfo.StubResolver, 53), "udp", opts.QueryName)
			if r.OK {
				return true, r.RTT, r.Detail
			}
			return false, r.RTT, r.Err
		}
	}
	return h
}
