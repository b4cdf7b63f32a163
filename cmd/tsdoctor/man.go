package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tsdoctor/tsdoctor/fixes"
	"github.com/tsdoctor/tsdoctor/i18n"
)

func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// cmdMan prints tsdoctor(8), built from the same table as the usage and
// the completions.
func cmdMan(args []string, stdout, stderr io.Writer) error {
	if err := noFlags("man", args, stdout); err != nil {
		return err
	}
	d := date
	if d == "" {
		d = time.Now().UTC().Format("2006-01-02")
	}
	if len(d) > 10 {
		d = d[:10]
	}
	var w strings.Builder
	defer func() { io.WriteString(stdout, wrapRoff(w.String(), 78)) }()
	fmt.Fprintf(&w, ".TH TSDOCTOR 8 %q %q \"System Administration\"\n", d, "tsdoctor "+version)
	fmt.Fprint(&w, ".SH NAME\ntsdoctor \\- find and fix what drops DNS on a Linux host running Tailscale\n.SH SYNOPSIS\n")
	for i, c := range commands() {
		if i > 0 {
			fmt.Fprint(&w, ".br\n")
		}
		fmt.Fprintf(&w, ".B %s\n", roff(c.synopsis()))
	}
	fmt.Fprint(&w, `.SH DESCRIPTION
On Alibaba Cloud ECS, and anywhere else infrastructure lives in 100.64.0.0/10, tailscaled's rule
.B "\-A ts\-input \-s 100.64.0.0/10 ! \-i tailscale0 \-j DROP"
drops the replies of the VPC's own DNS (100.100.2.136, 100.100.2.138), the metadata service and
the mirrors. tsdoctor finds the rule on whichever firewall backend holds it (iptables\-nft,
iptables\-legacy, native nftables) by its packet counters, explains it, and offers the remedies
below, which it applies reversibly.
.SH COMMANDS
`)
	for _, c := range commands() {
		name := c.Name
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(&w, ".SS %s\n%s\n", roff(name), roff(c.Summary))
		manFlags(&w, flagList(c), "")
		for _, x := range c.Words {
			fmt.Fprintf(&w, ".TP\n.B %s\n%s\n", roff(x[0]), roff(x[1]))
			manFlags(&w, c.wordFlags(x[0]), c.Name+" "+x[0]+" ")
		}
	}
	manRemedies(&w)
	fmt.Fprint(&w, `.SH EXIT STATUS
0: healthy, the remedy was verified, a dry run, or nothing to fix. 1: the problem was found, or the
remedy is not (yet) verified. 2: tsdoctor could not check (not root, a backend it cannot read), or
bad flags or values: one line on stderr says what to do.
.SH ENVIRONMENT
.TP
.B LANG, LC_ALL, LC_MESSAGES
choose English or Simplified Chinese (zh_*); \-\-lang overrides.
.TP
.B NO_COLOR
no colours in the wizard (as \-\-no\-color).
.TP
.B TSDOCTOR_ROOT
the host's file system root, as \-\-root (which wins): every file tsdoctor reads (resolv.conf,
tailscaled's socket) or writes (units, scripts, the journal) lives under it (the lab uses it).
.TP
.B TSDOCTOR_ECS
set to 1 to treat the host as Alibaba Cloud ECS even when its DMI strings do not say so (as
\-\-ecs).
.SH FILES
.TP
.I /var/lib/tsdoctor/journal/
one JSON entry per applied remedy, with the state of everything it touched before (mode 0700).
.TP
.I /etc/systemd/system/tsdoctor\-whitelist.service, /etc/systemd/system/tsdoctor\-guard.service
the units remedies 2 and 3 install.
.TP
.I /usr/local/lib/tsdoctor/
their shell scripts.
.TP
.I /usr/lib/systemd/system/tsdoctor\-guard.service
the guard's unit as the packages install it (not enabled).
.TP
.I /etc/default/tsdoctor
the packaged guard's settings: the addresses to keep whitelisted and the rule shape.
.SH EXAMPLES
Diagnose, as text or as JSON for a fleet:
.PP
.RS
.nf
sudo tsdoctor check
sudo tsdoctor check \-\-json
.fi
.RE
.PP
Walk the steps in the wizard, in Chinese:
.PP
.RS
.nf
sudo tsdoctor \-\-lang zh
.fi
.RE
.PP
Show the plan of remedy 2, apply it without asking, then take it back:
.PP
.RS
.nf
sudo tsdoctor fix \-\-remedy 2 \-\-dry\-run
sudo tsdoctor fix \-\-remedy 2 \-\-yes
sudo tsdoctor undo
.fi
.RE
.PP
Keep the whitelist across every restart of tailscaled with the packaged guard:
.PP
.RS
.nf
sudo systemctl enable \-\-now tsdoctor\-guard
.fi
.RE
.PP
Try everything in network namespaces that reproduce an ECS host, with no uplink:
.PP
.RS
.nf
sudo tsdoctor lab
.fi
.RE
.SH SEE ALSO
.BR tailscale (1),
.BR tailscaled (8),
.BR iptables (8),
.BR nft (8)
`)
	return nil
}

// manRemedies is the REMEDIES section, from fixes.All().
func manRemedies(w io.Writer) {
	fmt.Fprint(w, ".SH REMEDIES\n")
	en := i18n.EN
	for _, r := range fixes.All() {
		in := r.Info()
		fmt.Fprintf(w, ".TP\n.B %d %s\n%s %s Invasive: %s. %s %s\n", in.ID, roff("("+in.Name+")"), roff(in.Title.String(en)+"."),
			roff(in.Changes.String(en)), in.Invasive, roff(in.Promise.Restart.String(en)), roff(in.Promise.Reboot.String(en)))
	}
}

// wrapRoff breaks text lines (not requests, not inside .nf) at spaces so
// that none is longer than width: roff fills them again, and man pages
// stay readable as source (mandoc -Tlint).
func wrapRoff(s string, width int) string {
	var out []string
	fill := true
	for _, line := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(line, ".nf"):
			fill = false
		case strings.HasPrefix(line, ".fi"):
			fill = true
		}
		for fill && !strings.HasPrefix(line, ".") && len(line) > width {
			i := strings.LastIndexByte(line[:width], ' ')
			if i <= 0 {
				break
			}
			out = append(out, line[:i])
			line = line[i+1:]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func manFlags(w io.Writer, fl []flagInfo, prefix string) {
	for _, f := range fl {
		fmt.Fprintf(w, ".TP\n.B %s\n%s", roff(prefix+f.Spelling()), roff(f.Usage))
		if f.Default != "" && !f.Bool {
			fmt.Fprintf(w, " (default %s)", roff(f.Default))
		}
		fmt.Fprintln(w)
	}
}
