package main

import (
	"flag"
	"os"

	"github.com/tsdoctor/tsdoctor/i18n"
)

// commonFlags are the flags several commands share. Each one's name,
// default and help is declared here, once; a command embeds commonFlags in
// its own value struct and binds the ones it takes. Where a command's help
// says a little more (the schema --json writes), the command passes it.
type commonFlags struct {
	lang    string
	root    string
	ecs     bool
	json    bool
	noColor bool
}

// The shared flags' help. langHelp and undo's shorter one, ecsHelp and
// check's longer one: the texts the README's command reference shows.
const (
	langHelp      = "language: en or zh (default from LC_ALL/LANG)"
	langHelpShort = "language: en or zh"
	ecsHelp       = "treat this host as Alibaba Cloud ECS (probe the metadata service)"
	ecsHelpDMI    = ecsHelp + " even if DMI does not say so"
	noColorHelp   = "no colours (as NO_COLOR=1)"
	noColorPipe   = noColorHelp + "; output to a pipe or file never has any"
	// rootFlagUsage is the --root flag's help, the same for every command.
	rootFlagUsage = "the host's file system root: the files tsdoctor reads (resolv.conf, tailscaled's socket) and writes (units, scripts, the journal) live under it (default $TSDOCTOR_ROOT, else /)"
)

func (c *commonFlags) bindLang(fs *flag.FlagSet, help string) {
	fs.StringVar(&c.lang, "lang", "", help)
}
func (c *commonFlags) bindRoot(fs *flag.FlagSet) { fs.StringVar(&c.root, "root", "", rootFlagUsage) }

// bindECS: TSDOCTOR_ECS=1 sets the default, so a fleet's environment can
// say it once for every command.
func (c *commonFlags) bindECS(fs *flag.FlagSet, help string) {
	fs.BoolVar(&c.ecs, "ecs", os.Getenv("TSDOCTOR_ECS") == "1", help)
}

func (c *commonFlags) bindJSON(fs *flag.FlagSet, schema string) {
	fs.BoolVar(&c.json, "json", false, "write one "+schema+" JSON object to stdout")
}

func (c *commonFlags) bindNoColor(fs *flag.FlagSet, help string) {
	fs.BoolVar(&c.noColor, "no-color", false, help)
}

// language validates --lang ("" is the environment's language).
func (c *commonFlags) language(cmd string) (i18n.Lang, error) { return langFlag(cmd, c.lang) }

// hostRoot validates --root (resolveRoot).
func (c *commonFlags) hostRoot(cmd string) (string, error) { return resolveRoot(cmd, c.root) }
