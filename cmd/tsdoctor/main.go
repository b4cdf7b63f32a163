// Command tsdoctor diagnoses and fixes the DNS outage that tailscaled's
// CGNAT DROP rule causes on hosts whose infrastructure lives in
// 100.64.0.0/10 (Alibaba Cloud ECS above all).
package main

import (
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run dispatches to a command and turns what it returns into the exit code;
// usage errors are printed here and nowhere else.
func run(args []string, stdout, stderr io.Writer) int {
	return finish(dispatch(args, stdout, stderr), argsLang(args), stderr)
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || len(args[0]) > 1 && args[0][0] == '-' && args[0] != "-h" && args[0] != "--help" && args[0] != "--version" {
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
	case "version", "--version":
		return cmdVersion(args[1:], stdout, stderr)
	case "completion":
		return cmdCompletion(args[1:], stdout, stderr)
	case "man":
		return cmdMan(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		printUsage(stdout)
		return nil
	}
	return usageError("", "cli.unknown", args[0])
}
