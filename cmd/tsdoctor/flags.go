package main

import (
	"flag"
	"io"
	"os"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// commonFlags are the flags several commands share. Each one's name,
// type and default is declared here, once (flagSet); a command embeds
// commonFlags in its own value struct and says which it takes, with their
// help from the constants below.
type commonFlags struct {
	lang    string
	root    string
	ecs     bool
	json    bool
	noColor bool
}

// The shared flags' help; ecsHelp and
// check's longer one: the texts the README's command reference shows.
const (
	langHelp    = "language: en or zh (default from LC_ALL/LANG)"
	ecsHelp     = "treat this host as Alibaba Cloud ECS (probe the metadata service)"
	ecsHelpDMI  = ecsHelp + " even if DMI does not say so"
	noColorHelp = "no colours (as NO_COLOR=1)"
	noColorPipe = noColorHelp + "; output to a pipe or file never has any"
	// rootFlagUsage is the --root flag's help, the same for every command.
	rootFlagUsage = "the host's file system root: the files tsdoctor reads (resolv.conf, tailscaled's socket) and writes (units, scripts, the journal) live under it (default $TSDOCTOR_ROOT, else /)"
)

// shared says which shared flags a command takes: each one whose help is
// given (the schema's name, for --json).
type shared struct {
	json    string // "write one <json> JSON object to stdout"
	lang    string
	ecs     string
	noColor string
	root    bool
}

// flagSet is the flag set of cmd ("tsdoctor" for the wizard) with the
// shared flags it takes bound into c; the command binds its own after.
func (c *commonFlags) flagSet(cmd string, s shared) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	if s.json != "" {
		fs.BoolVar(&c.json, "json", false, "write one "+s.json+" JSON object to stdout")
	}
	if s.lang != "" {
		fs.StringVar(&c.lang, "lang", "", s.lang)
	}
	if s.ecs != "" {
		// TSDOCTOR_ECS=1 sets the default, so a fleet's environment can
		// say it once for every command.
		fs.BoolVar(&c.ecs, "ecs", os.Getenv("TSDOCTOR_ECS") == "1", s.ecs)
	}
	if s.noColor != "" {
		fs.BoolVar(&c.noColor, "no-color", false, s.noColor)
	}
	if s.root {
		fs.StringVar(&c.root, "root", "", rootFlagUsage)
	}
	return fs
}

// parseArgs parses a command's flags into its value struct (parseFlags:
// -h, bad flags, stray arguments).
func parseArgs[T any](cmd string, flags func() (*flag.FlagSet, T), args []string, stdout io.Writer) (T, error) {
	fs, a := flags()
	return a, parseFlags(cmd, fs, args, stdout)
}

// language validates --lang ("" is the environment's language).
func (c *commonFlags) language(cmd string) (i18n.Lang, error) { return langFlag(cmd, c.lang) }

// hostRoot validates --root (resolveRoot).
func (c *commonFlags) hostRoot(cmd string) (string, error) { return resolveRoot(cmd, c.root) }

// langRoot validates --lang, then --root, for a command that has no other
// value to validate in between.
func (c *commonFlags) langRoot(cmd string) (i18n.Lang, string, error) {
	l, err := c.language(cmd)
	if err != nil {
		return l, "", err
	}
	root, err := c.hostRoot(cmd)
	return l, root, err
}
