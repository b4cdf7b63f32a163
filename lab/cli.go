package lab

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const labUsage = `usage: tsdoctor lab [--scenario S] [--host H] [--prefix P] [--keep] [-- CHECK-ARGS...]
       tsdoctor lab up [--scenario S] [--host H] [--prefix P]
       tsdoctor lab shell [--prefix P]
       tsdoctor lab down [--prefix P]
       tsdoctor lab scenarios

The lab reproduces an Alibaba Cloud ECS server running Tailscale inside its
VPC, in network namespaces: nothing changes on this machine's own network.
Plain "tsdoctor lab" brings a lab up, runs tsdoctor inside it (the wizard on
a terminal, the check without one; "tsdoctor lab -- check --json" runs
"tsdoctor check --json") and tears it down again (keep it with --keep).
--host is what the server looks like to tsdoctor's ECS detection: ecs-dmi
(default: DMI says Alibaba Cloud ECS, as a real instance), plain (not ECS),
ecs-flag (the --ecs flag). Needs root.
`

// Main runs `tsdoctor lab ARGS...`. self is the path of the tsdoctor binary:
// it becomes the background server, the fake tailscale CLI and the check run
// inside the lab. It returns the exit code.
func Main(args []string, self string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(stdout, labUsage)
			return 0
		}
		return labRun(args, self, stdout, stderr)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help":
		fmt.Fprint(stdout, labUsage)
		return 0
	case "scenarios":
		return labScenarios(stdout)
	case "tailscale":
		return labTailscale(rest, stderr, stdout)
	case "tailscaled":
		state, args, ok := stateArg(rest)
		if !ok {
			fmt.Fprintln(stderr, "tsdoctor lab tailscaled: give --state FILE -- ARGS...")
			return 2
		}
		return FakeTailscaled(args, state, stdout, stderr)
	case "up":
		return labUp(rest, self, stdout, stderr)
	case "down":
		return labDown(rest, stdout, stderr)
	case "shell":
		return labShell(rest, stdout, stderr)
	case "serve":
		return labServe(rest, stdout, stderr)
	}
	return badArgs(stderr, "", fmt.Errorf("unknown command %q", cmd))
}

func labScenarios(stdout io.Writer) int {
	for i, s := range Scenarios() {
		def := ""
		if i == 0 {
			def = " (default)"
		}
		fmt.Fprintf(stdout, "  %-14s %s%s\n", s.Name, s.Description(), def)
	}
	fmt.Fprintf(stdout, "\nOr compose <version>-<mode>-<variant>: version %s, mode %s, variant %s\n(e.g. 1.96.5-nftables-nodeattr; 1.96.5 predates the node attribute, so its DROP stays).\n",
		strings.Join(Versions, "|"), strings.Join(modes, "|"), strings.Join(variants, "|"))
	return 0
}

// labTailscale: `lab tailscale --state FILE -- ARGS...` (the wrapper's call).
func labTailscale(args []string, stderr, stdout io.Writer) int {
	state, args, ok := stateArg(args)
	if !ok {
		fmt.Fprintln(stderr, "usage: tsdoctor lab tailscale --state FILE -- ARGS...")
		return 2
	}
	return FakeTailscale(args, state, stdout, stderr)
}

// stateArg splits the wrappers' `--state FILE -- ARGS...`.
func stateArg(args []string) (string, []string, bool) {
	state := ""
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			args = args[1:]
			break
		}
		if v, ok := strings.CutPrefix(a, "--state="); ok {
			state, args = v, args[1:]
			continue
		}
		if a == "--state" && len(args) > 1 {
			state, args = args[1], args[2:]
			continue
		}
		break
	}
	return state, args, state != ""
}

func needRoot(stderr io.Writer) bool {
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "tsdoctor lab: needs root to create network namespaces: rerun with sudo")
		return true
	}
	return false
}

// badArgs says what is wrong with the arguments in one line (exit 2), as
// every tsdoctor command does.
func badArgs(stderr io.Writer, name string, err error) int {
	cmd := "tsdoctor lab"
	if name != "" {
		cmd += " " + name
	}
	fmt.Fprintf(stderr, "%s: %s: run `tsdoctor lab -h` for the usage\n", cmd, strings.Join(strings.Fields(err.Error()), " "))
	return 2
}

// parseLab parses a lab command's flags: -h prints the usage (exit 0), a
// bad flag or (unless rest is allowed) a stray argument is one line, exit 2.
func parseLab(fs *flag.FlagSet, name string, args []string, rest bool, stdout, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, labUsage)
			return 0, false
		}
		return badArgs(stderr, name, err), false
	}
	if !rest && fs.NArg() > 0 {
		if _, err := ParseScenario(fs.Arg(0)); err == nil {
			// `lab up legacy`: the scenario is a flag.
			return badArgs(stderr, name, fmt.Errorf("unexpected argument %q: to choose that scenario, use --scenario %s", fs.Arg(0), fs.Arg(0))), false
		}
		return badArgs(stderr, name, fmt.Errorf("unexpected argument %q", fs.Arg(0))), false
	}
	return 0, true
}

func labFlags(name string, stderr io.Writer) (*flag.FlagSet, *string, *string) {
	fs := flag.NewFlagSet("tsdoctor lab "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseLab says what is wrong, once
	prefix := fs.String("prefix", DefaultPrefix, "namespace name prefix")
	scenario := fs.String("scenario", DefaultScenario().Name, "scenario (see `tsdoctor lab scenarios`)")
	return fs, prefix, scenario
}

// hostFlag adds --host to the commands that build a lab.
func hostFlag(fs *flag.FlagSet) *string {
	return fs.String("host", string(HostECSDMI), "what the server looks like to tsdoctor's cloud detection (`"+strings.Join(HostNames(), "|")+
		"`): DMI says Alibaba Cloud ECS; a KVM guest, not ECS; this machine's DMI and --ecs; Huawei Cloud; no cloud, an ISP's CGNAT resolver")
}

func labUp(args []string, self string, stdout, stderr io.Writer) int {
	fs, prefix, scenario := labFlags("up", stderr)
	host := hostFlag(fs)
	if code, ok := parseLab(fs, "up", args, false, stdout, stderr); !ok {
		return code
	}
	if err := validShape(*scenario, *host); err != nil {
		return badArgs(stderr, "up", err)
	}
	if needRoot(stderr) {
		return 2
	}
	l, code := upAndServe(*prefix, *scenario, *host, self, stderr)
	if l == nil {
		return code
	}
	printEnter(stdout, l)
	return 0
}

// validShape checks the scenario and host flags before anything is built.
func validShape(scenario, host string) error {
	if _, err := ParseScenario(scenario); err != nil {
		return fmt.Errorf("%v; list them with `tsdoctor lab scenarios`", err)
	}
	_, err := ParseHost(host)
	return err
}

// upAndServe builds the lab and starts its background server. On failure
// it returns a nil Lab and the exit code, having said what went wrong.
func upAndServe(prefix, scenario, host, self string, stderr io.Writer) (*Lab, int) {
	s, err := ParseScenario(scenario)
	if err != nil {
		fmt.Fprintf(stderr, "tsdoctor lab: %v\nList them with: tsdoctor lab scenarios\n", err)
		return nil, 2
	}
	h, err := ParseHost(host)
	if err != nil {
		fmt.Fprintf(stderr, "tsdoctor lab: %v\n", err)
		return nil, 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := Up(ctx, Options{Prefix: prefix, Scenario: s, Tsdoctor: self, Host: h})
	if err != nil {
		fmt.Fprintf(stderr, "tsdoctor lab: %v\n", err)
		return nil, 1
	}
	if err := startServe(ctx, l, self); err != nil {
		fmt.Fprintf(stderr, "tsdoctor lab: %v\n", err)
		_ = l.Down()
		return nil, 1
	}
	return l, 0
}

// startServe runs `self lab serve` detached (own session, output to
// serve.log) and waits until every service answers inside the VPC.
func startServe(ctx context.Context, l *Lab, self string) error {
	logPath := filepath.Join(l.Dir, "serve.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, "lab", "serve", "--prefix", l.Prefix, "--dir", l.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the lab's servers (%s lab serve): %w", self, err)
	}
	if err := os.WriteFile(filepath.Join(l.Dir, "serve.pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return err
	}
	exited := make(chan error, 1)
	// Reap the server if it ends while this process still runs.
	go func() { exited <- cmd.Wait() }()
	ready := make(chan error, 1)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	go func() { ready <- l.waitServing(wctx) }()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("the lab's servers did not come up (see %s): %w", logPath, err)
		}
		return nil
	case err := <-exited:
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("the lab's server process exited (%v):\n%s", err, strings.TrimSpace(string(log)))
	}
}

func printEnter(w io.Writer, l *Lab) {
	pf := ""
	if l.Prefix != DefaultPrefix {
		pf = " --prefix " + l.Prefix
	}
	fmt.Fprintf(w, "lab %s is up: scenario %s\n  %s\n  host %s: %s\n", l.Prefix, l.Scenario.Name, l.Scenario.Description(), l.Host, l.Host.Description())
	fmt.Fprintf(w, "  server namespace %s: eth0 %s, gateway %s", l.ECS(), ECSAddr, GatewayAddr)
	if l.Scenario.Tailscale {
		fmt.Fprintf(w, ", tailscale0 %s", NodeIP)
	}
	fmt.Fprintf(w, "\n  VPC namespace %s: DNS %s, metadata %s, mirror %s, public DNS %s %s, example.com %s\n",
		l.VPC(), strings.Join(l.Host.Resolvers(), " "), MetadataAddr, MirrorAddr, PublicDNS1, PublicDNS2, ExampleAddr)
	fmt.Fprintf(w, "Enter it:\n  sudo tsdoctor lab shell%s\n  sudo ip netns exec %s env PATH=%s:$PATH tsdoctor check   (this machine's DMI, not the lab's host shape)\n", pf, l.ECS(), l.BinDir())
	fmt.Fprintf(w, "Remove it:\n  sudo tsdoctor lab down%s\n", pf)
}

func labDown(args []string, stdout, stderr io.Writer) int {
	fs, prefix, _ := labFlags("down", stderr)
	if code, ok := parseLab(fs, "down", args, false, stdout, stderr); !ok {
		return code
	}
	if needRoot(stderr) {
		return 2
	}
	if err := Down(*prefix); err != nil {
		fmt.Fprintf(stderr, "tsdoctor lab down: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "lab %s removed\n", *prefix)
	return 0
}

func labShell(args []string, stdout, stderr io.Writer) int {
	fs, prefix, _ := labFlags("shell", stderr)
	if code, ok := parseLab(fs, "shell", args, false, stdout, stderr); !ok {
		return code
	}
	if needRoot(stderr) {
		return 2
	}
	l, err := Open(*prefix)
	if err != nil {
		fmt.Fprintf(stderr, "tsdoctor lab shell: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Entering lab %s (scenario %s): you are on the ECS server. Leave with exit.\n", l.Prefix, l.Scenario.Name)
	cmd := l.Command(context.Background(), "env",
		"PS1=[lab "+l.Prefix+" "+l.Scenario.Name+"] \\u@ecs:\\w\\$ ", "bash", "--norc", "-i")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	return exitCode(cmd.Run(), stderr)
}

func labServe(args []string, stdout, stderr io.Writer) int {
	fs, prefix, _ := labFlags("serve", stderr)
	dir := fs.String("dir", "", "lab directory")
	if code, ok := parseLab(fs, "serve", args, false, stdout, stderr); !ok {
		return code
	}
	if needRoot(stderr) {
		return 2
	}
	if *dir == "" {
		*dir = DefaultDir(*prefix)
	}
	l, err := openDir(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "tsdoctor lab serve: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := l.Serve(ctx); err != nil {
		fmt.Fprintf(stderr, "tsdoctor lab serve: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s lab %s: serving in %s\n", time.Now().Format(time.RFC3339), l.Prefix, l.VPC())
	<-ctx.Done()
	l.stopServers()
	fmt.Fprintf(stdout, "%s lab %s: stopped\n", time.Now().Format(time.RFC3339), l.Prefix)
	return 0
}

// labRun: plain `tsdoctor lab`: up, run the check inside, down.
// FlagSet is the flags of `tsdoctor lab [sub]`, for completions and the
// man page.
func FlagSet(sub string) *flag.FlagSet {
	fs, _, _ := labFlags(sub, io.Discard)
	if sub == "" || sub == "up" {
		hostFlag(fs)
	}
	if sub == "" {
		fs.Bool("keep", false, "leave the lab running afterwards")
	}
	return fs
}

// Subcommands of `tsdoctor lab`, with what they do.
var Subcommands = [][2]string{
	{"up", "build the lab and leave it running"},
	{"down", "remove the lab"},
	{"shell", "a shell on the lab's ECS server"},
	{"scenarios", "list the scenarios"},
}

func labRun(args []string, self string, stdout, stderr io.Writer) int {
	fs, prefix, scenario := labFlags("", stderr)
	host := hostFlag(fs)
	keep := fs.Bool("keep", false, "leave the lab running afterwards")
	if code, ok := parseLab(fs, "", args, true, stdout, stderr); !ok {
		return code
	}
	if err := validShape(*scenario, *host); err != nil {
		return badArgs(stderr, "", err)
	}
	checkArgs := fs.Args()
	if needRoot(stderr) {
		return 2
	}
	l, code := upAndServe(*prefix, *scenario, *host, self, stderr)
	if l == nil {
		return code
	}
	fmt.Fprintf(stderr, "lab %s up (scenario %s, host %s); running tsdoctor inside %s\n", l.Prefix, l.Scenario.Name, l.Host, l.ECS())
	// Ctrl-C reaches the check (same process group); stay alive to clean up.
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt)
	defer signal.Stop(sigc)
	// The host shape (its DMI, or TSDOCTOR_ECS=1) is set by l.Command.
	// Without arguments: the wizard, which prints the check when there is
	// no terminal.
	var wargs []string
	if len(checkArgs) > 0 {
		// `lab -- check -v` as well as `lab -- -v`: both are the check.
		if checkArgs[0] == "check" {
			checkArgs = checkArgs[1:]
		}
		wargs = append([]string{"check"}, checkArgs...)
	}
	cmd := l.Command(context.Background(), self, wargs...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	code = exitCode(cmd.Run(), stderr)
	if *keep {
		printEnter(stderr, l)
		return code
	}
	if err := l.Down(); err != nil {
		fmt.Fprintf(stderr, "tsdoctor lab: removing the lab: %v (retry with `sudo tsdoctor lab down --prefix %s`)\n", err, l.Prefix)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return ee.ExitCode()
	}
	fmt.Fprintf(stderr, "tsdoctor lab: %v\n", err)
	return 1
}
