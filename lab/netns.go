package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// run executes name with args inside network namespace ns ("" = the current
// one), feeding stdin, and returns stdout. Errors carry stderr, so a failing
// iptables or ip says why.
func run(ctx context.Context, ns, stdin, name string, args ...string) (string, error) {
	if ns != "" {
		args = append([]string{"netns", "exec", ns, name}, args...)
		name = "ip"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, msg)
	}
	return out.String(), nil
}

// ipBatch runs iproute2 commands in namespace ns in one process.
func ipBatch(ctx context.Context, ns string, cmds ...string) error {
	_, err := run(ctx, "", strings.Join(cmds, "\n")+"\n", "ip", "-n", ns, "-batch", "-")
	return err
}

// inNetns runs fn on an OS thread switched into the named network namespace.
// Sockets created by fn stay in that namespace after the thread switches
// back. If switching back fails the thread stays locked, so the runtime
// throws it away when this goroutine ends instead of reusing it elsewhere.
func inNetns(ns string, fn func() error) error {
	target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", ns, err)
	}
	defer unix.Close(target)

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own network namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- fmt.Errorf("leave network namespace %s: %w", ns, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// sameNetns reports whether the calling process's network namespace is the
// named one. The fake tailscale CLI checks it before touching a firewall, so
// it can never change the host's rules by being run outside the lab.
func sameNetns(ns string) (bool, error) {
	var self, named unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		return false, err
	}
	if err := unix.Stat("/run/netns/"+ns, &named); err != nil {
		return false, err
	}
	return self.Dev == named.Dev && self.Ino == named.Ino, nil
}

func netnsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

// InNetns runs fn on an OS thread switched into the lab namespace ns (for
// example l.VPC()). Listeners and sockets fn creates stay in that namespace,
// so a test can serve from it in this process.
func InNetns(ns string, fn func() error) error { return inNetns(ns, fn) }
