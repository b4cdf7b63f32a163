// Command tsdoctor diagnoses and fixes the DNS outage that tailscaled's
// CGNAT DROP rule causes on hosts whose infrastructure lives in
// 100.64.0.0/10 (Alibaba Cloud ECS above all).
package main

import (
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `tsdoctor: find and fix what drops DNS on a Linux host running Tailscale

Usage:
  sudo tsdoctor [--lang en|zh]                             the wizard: diagnose, explain, fix, verify
  tsdoctor check [--json] [--lang en|zh] [--timeout D] [--trace] [--ecs] [--only ID]
  tsdoctor check --list
  tsdoctor fix --remedy N [--yes] [--dry-run] [--json] [--allow ADDR,...]
  tsdoctor undo [--all] [--json]                          revert the last change tsdoctor made
  tsdoctor guard --allow ADDR[,ADDR...] [--once]          keep the whitelist across tailscaled rebuilds
  tsdoctor lab [--scenario S] [--keep] [-- check flags]   try it safely in a lab
  tsdoctor lab up [--scenario S] | down | shell | scenarios
  tsdoctor debug firewall                                  what tsdoctor reads, as JSON

Exit codes: 0 healthy, 1 problem found, 2 could not check.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || len(args[0]) > 1 && args[0][0] == '-' && args[0] != "-h" && args[0] != "--help" {
		return cmdWizard(args, stdout, stderr)
	}
	switch args[0] {
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "lab":
		return cmdLab(args[1:], stdout, stderr)
	case "fix":
		return cmdFix(args[1:], os.Stdin, stdout, stderr)
	case "undo":
		return cmdUndo(args[1:], stdout, stderr)
	case "guard":
		return cmdGuard(args[1:], stdout, stderr)
	case "debug":
		return cmdDebug(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "tsdoctor: unknown command %q\n\n%s", args[0], usage)
	return 2
}
