package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tsdoctor/tsdoctor/e2e/harness"
)

// MachinesDir holds each running machine's overlay upper directory, its
// console log and the pid of its systemd-nspawn, so a later run can sweep
// what a killed one left behind.
const MachinesDir = "/var/tmp/tsdoctor-booted"

// Machine is a booted root: systemd-nspawn running systemd as PID 1 in an
// existing network namespace, on an overlay of a cached root.
type Machine struct {
	Name  string // unique; also the directory under MachinesDir
	Root  string // the cached root (read-only lower layer)
	NetNS string // the network namespace it joins (/run/netns/NAME)

	mu     sync.Mutex
	nspawn *exec.Cmd
	exited chan struct{}
	status int // nspawn's exit status once exited
	leader int // the container's PID 1 as seen from here
	// Boots are how long each boot took, from launch to
	// `systemctl is-system-running` saying running (or degraded).
	Boots []time.Duration
}

// Dir is the machine's state directory.
func (m *Machine) Dir() string { return filepath.Join(MachinesDir, m.Name) }

// Upper is the overlay's writable layer: every change the machine makes
// lands here, and files put here before the boot appear in the machine.
func (m *Machine) Upper() string { return filepath.Join(m.Dir(), "upper") }

// ConsoleLog is where the machine's console goes.
func (m *Machine) ConsoleLog() string { return filepath.Join(m.Dir(), "console.log") }

// NewMachine prepares (does not boot) a machine on root in netns.
func NewMachine(name, root, netns string) (*Machine, error) {
	m := &Machine{Name: name, Root: root, NetNS: netns}
	_ = os.RemoveAll(m.Dir())
	if err := os.MkdirAll(m.Upper(), 0o755); err != nil {
		return nil, err
	}
	return m, nil
}

// WriteFile puts a file into the machine before it boots (through the
// overlay's upper layer); CopyIn does it while it runs.
func (m *Machine) WriteFile(path string, content []byte, mode os.FileMode) error {
	p := filepath.Join(m.Upper(), m.resolve(path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	_ = os.Remove(p)
	return os.WriteFile(p, content, mode)
}

// CopyIn writes a file inside the running machine (through its own file
// system: the overlay does not see files put into its upper layer while it
// is mounted).
func (m *Machine) CopyIn(ctx context.Context, path string, content []byte, mode os.FileMode) error {
	cmd := m.Command(ctx, "sh", "-c", `mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"`, "sh", path, fmt.Sprintf("%o", mode))
	cmd.Stdin = bytes.NewReader(content)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s into the machine: %w\n%s", path, err, out)
	}
	return nil
}

// Symlink makes a link inside the machine (before Boot).
func (m *Machine) Symlink(target, path string) error {
	p := filepath.Join(m.Upper(), m.resolve(path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	_ = os.Remove(p)
	return os.Symlink(target, p)
}

// resolve follows the links in path's directories as the machine sees
// them (upper layer first, then the root): a real directory "lib" in the
// upper layer would hide merged /usr's /lib → usr/lib link and the whole
// of /usr/lib with it.
func (m *Machine) resolve(path string) string {
	dir, file := filepath.Split(filepath.Clean("/" + path))
	parts := strings.Split(strings.Trim(dir, "/"), "/")
	cur := "/"
	for i := 0; i < len(parts); i++ {
		if parts[i] == "" {
			continue
		}
		next := filepath.Join(cur, parts[i])
		target := ""
		for _, layer := range []string{m.Upper(), m.Root} {
			fi, err := os.Lstat(filepath.Join(layer, next))
			if err != nil {
				continue
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				target, _ = os.Readlink(filepath.Join(layer, next))
			}
			break
		}
		if target == "" {
			cur = next
			continue
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(cur, target)
		}
		rest := append(strings.Split(strings.Trim(filepath.Clean(target), "/"), "/"), parts[i+1:]...)
		parts, i, cur = rest, -1, "/"
	}
	return filepath.Join(cur, file)
}

// Boot starts systemd-nspawn and waits until systemd says the system is up.
func (m *Machine) Boot(ctx context.Context) error {
	m.mu.Lock()
	running := m.nspawn != nil
	m.mu.Unlock()
	if running {
		return errors.New("machine " + m.Name + " is already running")
	}
	log, err := os.OpenFile(m.ConsoleLog(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	start := time.Now()
	// The flags FIELD-NOTES §10 found necessary here: no systemd or D-Bus
	// on this machine (--register=no --keep-unit), the lab's ECS namespace
	// as the network, the capabilities tailscaled needs for netfilter and
	// its tun device. The root's own resolv.conf and clock stay.
	cmd := exec.Command("systemd-nspawn", "-D", m.Root, "--boot",
		"--machine="+m.Name, "--register=no", "--keep-unit", "--console=passive",
		"--overlay="+m.Root+":"+m.Upper()+":/",
		"--network-namespace-path=/run/netns/"+m.NetNS,
		"--capability=CAP_NET_ADMIN,CAP_NET_RAW",
		"--bind=/dev/net/tun", "--resolv-conf=off", "--timezone=off", "--link-journal=no")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start systemd-nspawn: %w", err)
	}
	exited := make(chan struct{})
	// status is written before exited is closed and read only after it.
	go func() {
		_ = cmd.Wait()
		log.Close()
		m.status = cmd.ProcessState.ExitCode()
		close(exited)
	}()
	m.mu.Lock()
	m.nspawn, m.exited, m.leader = cmd, exited, 0
	m.mu.Unlock()
	_ = os.WriteFile(filepath.Join(m.Dir(), "nspawn.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)

	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last string
	leader := 0
	for {
		if leader == 0 {
			if leader = childOf(cmd.Process.Pid); leader != 0 {
				m.mu.Lock()
				m.leader = leader
				m.mu.Unlock()
			}
		}
		if leader != 0 {
			out, _ := m.command(ctx, leader, "systemctl", "is-system-running").CombinedOutput()
			state := strings.TrimSpace(string(out))
			last = "systemctl is-system-running: " + state
			if state == "running" || state == "degraded" {
				m.Boots = append(m.Boots, time.Since(start))
				return nil
			}
		}
		select {
		case <-exited:
			m.mu.Lock()
			m.nspawn = nil
			m.mu.Unlock()
			return fmt.Errorf("systemd-nspawn exited while booting (status %d):\n%s", m.status, m.consoleTail())
		case <-ctx.Done():
			return fmt.Errorf("machine %s did not finish booting: %s\n%s", m.Name, last, m.consoleTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// childOf finds the first child of pid: systemd-nspawn's child is the
// container's PID 1.
func childOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	c, _ := strconv.Atoi(f[0])
	// nspawn forks an intermediate process first; PID 1 is the one whose
	// pid namespace differs from ours.
	if self, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", c)); err != nil || ns == self {
			return 0
		}
	}
	return c
}

// env is the environment of commands run in the machine: a login's, not
// the test's.
var env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "LANG=C.UTF-8", "TERM=xterm-256color", "USER=root", "LOGNAME=root"}

// Command is a command run inside the machine, in all of its namespaces
// (nsenter into its PID 1), as root.
func (m *Machine) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	m.mu.Lock()
	leader := m.leader
	m.mu.Unlock()
	return m.command(ctx, leader, name, args...)
}

func (m *Machine) command(ctx context.Context, leader int, name string, args ...string) *exec.Cmd {
	a := append([]string{"-t", strconv.Itoa(leader), "-a", "--", "env", "-i"}, env...)
	a = append(a, name)
	cmd := exec.CommandContext(ctx, "nsenter", append(a, args...)...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Exec runs a command in the machine and returns its combined output.
func (m *Machine) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := m.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return out, nil
}

// Sh runs a shell command line in the machine.
func (m *Machine) Sh(ctx context.Context, script string) ([]byte, error) {
	return m.Exec(ctx, "sh", "-c", script)
}

// Reboot runs `systemctl reboot` inside: systemd-nspawn then exits with 133
// (FIELD-NOTES §10), and the machine is booted again on the same overlay.
func (m *Machine) Reboot(ctx context.Context) error {
	m.mu.Lock()
	exited := m.exited
	m.mu.Unlock()
	if exited == nil {
		return errors.New("machine " + m.Name + " is not running")
	}
	// The command may lose its connection as systemd goes down.
	_, _ = m.Command(ctx, "systemctl", "reboot").CombinedOutput()
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		return fmt.Errorf("machine %s did not go down within 60 s of systemctl reboot\n%s", m.Name, m.consoleTail())
	}
	status := m.status
	m.mu.Lock()
	m.nspawn = nil
	m.mu.Unlock()
	if status != 133 {
		return fmt.Errorf("systemd-nspawn exited %d on reboot, want 133\n%s", status, m.consoleTail())
	}
	return m.Boot(ctx)
}

// Poweroff shuts the machine down cleanly (so tailscaled's ExecStopPost
// cleans its rules), then by force if it hangs. Safe to call twice.
func (m *Machine) Poweroff() error {
	m.mu.Lock()
	cmd, exited := m.nspawn, m.exited
	m.mu.Unlock()
	if cmd == nil {
		return nil
	}
	// SIGTERM to systemd-nspawn asks the container's systemd to power off.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case <-exited:
	case <-time.After(45 * time.Second):
		killTree(cmd.Process.Pid)
		<-exited
		err = fmt.Errorf("machine %s ignored the poweroff for 45 s and was killed", m.Name)
	}
	m.mu.Lock()
	m.nspawn = nil
	m.mu.Unlock()
	return err
}

// Remove powers the machine off and deletes its overlay and logs.
func (m *Machine) Remove() error {
	err := m.Poweroff()
	return errors.Join(err, os.RemoveAll(m.Dir()))
}

func (m *Machine) consoleTail() string {
	b, _ := os.ReadFile(m.ConsoleLog())
	return harness.Tail(b, 40)
}

// ConsoleTail is the end of the console log, for failure messages.
func (m *Machine) ConsoleTail() string { return m.consoleTail() }

// SweepStale kills the systemd-nspawn of machines whose owner (the process
// named in the machine's name, "…-PID-…") is gone, and removes their
// directories. name → owner pid is parsed by owner.
func SweepStale(owner func(name string) (int, bool)) {
	dirs, _ := os.ReadDir(MachinesDir)
	for _, d := range dirs {
		pid, ok := owner(d.Name())
		if !ok {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // its test run is alive
		}
		dir := filepath.Join(MachinesDir, d.Name())
		if b, err := os.ReadFile(filepath.Join(dir, "nspawn.pid")); err == nil {
			if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && isNspawnOf(p, dir) {
				killTree(p)
				for range 50 {
					if _, err := os.Stat(fmt.Sprintf("/proc/%d", p)); err != nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}
		_ = os.RemoveAll(dir)
	}
}

// isNspawnOf: pid is still the systemd-nspawn of that machine (pids get
// reused).
func isNspawnOf(pid int, dir string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(b), "systemd-nspawn") && strings.Contains(string(b), dir)
}

// killTree kills pid and everything below it: killing the container's
// PID 1 ends its whole pid namespace.
func killTree(pid int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, c := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(c); err == nil {
			killTree(n)
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
