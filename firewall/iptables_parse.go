package firewall

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// SplitArgs splits one line of `iptables -S` output into words the way the
// shell would: iptables quotes comments and log prefixes that hold spaces.
func SplitArgs(line string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		inQ   bool
		have  bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && inQ:
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQ = !inQ
			have = true
		case (c == ' ' || c == '\t') && !inQ:
			if have {
				words = append(words, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if inQ {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if have {
		words = append(words, cur.String())
	}
	return words, nil
}

// ParsedChain is what one `iptables -v -S CHAIN` listing says about a chain.
type ParsedChain struct {
	Name    string
	Policy  string // built-in chains only
	Packets uint64 // policy counters (built-in chains only)
	Rules   []Rule
}

// ParseIptablesS parses `iptables [-v] -S` output (one chain or a whole
// table) into chains, keeping the order of rules. Lines it cannot parse are
// returned as an error naming the line; the chains parsed so far are kept.
func ParseIptablesS(out string, backend Backend, table string) (map[string]*ParsedChain, []string, error) {
	chains := map[string]*ParsedChain{}
	var order []string
	get := func(name string) *ParsedChain {
		c, ok := chains[name]
		if !ok {
			c = &ParsedChain{Name: name}
			chains[name] = c
			order = append(order, name)
		}
		return c
	}
	var firstErr error
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		w, err := SplitArgs(line)
		if err != nil || len(w) < 2 {
			if firstErr == nil {
				firstErr = fmt.Errorf("cannot parse iptables line %q", line)
			}
			continue
		}
		switch w[0] {
		case "-N":
			get(w[1])
		case "-P":
			c := get(w[1])
			if len(w) >= 3 {
				c.Policy = w[2]
			}
			if len(w) >= 6 && w[3] == "-c" {
				c.Packets, _ = strconv.ParseUint(w[4], 10, 64)
			}
		case "-A":
			c := get(w[1])
			r, err := ParseIptablesRule(line)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			r.Backend, r.Family, r.Table = backend, IPv4, table
			r.Position = len(c.Rules) + 1
			c.Rules = append(c.Rules, r)
		default:
			if firstErr == nil {
				firstErr = fmt.Errorf("unexpected iptables line %q", line)
			}
		}
	}
	return chains, order, firstErr
}

// ParseIptablesRule parses one `-A CHAIN ...` line of `iptables [-v] -S`.
// Backend, family, table and position are left for the caller.
func ParseIptablesRule(line string) (Rule, error) {
	w, err := SplitArgs(line)
	if err != nil {
		return Rule{}, err
	}
	if len(w) < 2 || w[0] != "-A" || w[1] == "" || strings.HasPrefix(w[1], "-") {
		return Rule{}, fmt.Errorf("not an iptables rule: %q", line)
	}
	r := Rule{ChainRef: ChainRef{Chain: w[1]}}
	neg := false
	need := func(i int) (string, error) {
		if i >= len(w) {
			return "", fmt.Errorf("option %s needs a value in %q", w[i-1], line)
		}
		return w[i], nil
	}
	var textWords []string
	afterTarget := false
	for i := 2; i < len(w); i++ {
		tok := w[i]
		if tok == "!" {
			neg = true
			continue
		}
		consumed := 0
		switch tok {
		case "-s", "--source", "-d", "--destination":
			v, err := need(i + 1)
			if err != nil {
				return Rule{}, err
			}
			p, err := parsePrefix(v)
			if err == errNonContiguous {
				// iptables allows masks like 255.0.255.0; the model does not.
				u := tok + " " + v
				if neg {
					u = "! " + u
				}
				r.Unmodeled = append(r.Unmodeled, u)
				consumed = 1
				break
			}
			if err != nil {
				return Rule{}, fmt.Errorf("bad address %q in %q", v, line)
			}
			if tok == "-s" || tok == "--source" {
				r.Source, r.SourceNegated = p, neg
			} else {
				r.Dest, r.DestNegated = p, neg
			}
			consumed = 1
		case "-i", "--in-interface":
			v, err := need(i + 1)
			if err != nil {
				return Rule{}, err
			}
			r.InIface, r.InIfaceNegated = v, neg
			consumed = 1
		case "-o", "--out-interface":
			// Never matches on INPUT; kept for completeness.
			v, err := need(i + 1)
			if err != nil {
				return Rule{}, err
			}
			r.Unmodeled = append(r.Unmodeled, "-o "+v)
			consumed = 1
		case "-p", "--protocol":
			v, err := need(i + 1)
			if err != nil {
				return Rule{}, err
			}
			if neg {
				r.Unmodeled = append(r.Unmodeled, "! -p "+v)
			} else {
				r.Protocol = v
			}
			consumed = 1
		case "-m", "--match":
			// The match's own options follow and are handled below.
			if _, err := need(i + 1); err != nil {
				return Rule{}, err
			}
			consumed = 1
		case "--sport", "--source-port", "--dport", "--destination-port":
			v, err := need(i + 1)
			if err != nil {
				return Rule{}, err
			}
			port, perr := strconv.ParseUint(v, 10, 16)
			if perr != nil || neg {
				r.Unmodeled = append(r.Unmodeled, tok+" "+v)
			} else if strings.Contains(tok, "sport") || strings.Contains(tok, "source") {
				r.SrcPort = uint16(port)
			} else {
				r.DstPort = uint16(port)
			}
			consumed = 1
		case "--ctstate", "--state":
			v, err := need(i + 1)
			if err != nil {
				return Rule{}, err
			}
			if neg {
				r.Unmodeled = append(r.Unmodeled, "! "+tok+" "+v)
			} else {
				r.CtStates = strings.Split(v, ",")
			}
			consumed = 1
		case "--comment":
			v, err := need(i + 1)
			if err != nil {
				return Rule{}, err
			}
			r.Comment = v
			consumed = 1
		case "--limit", "--limit-burst":
			// Rate limits change how often, not whether, a rule matches.
			if _, err := need(i + 1); err != nil {
				return Rule{}, err
			}
			consumed = 1
		case "-c", "--set-counters":
			if i+2 >= len(w) {
				return Rule{}, fmt.Errorf("-c needs packets and bytes in %q", line)
			}
			p, e1 := strconv.ParseUint(w[i+1], 10, 64)
			b, e2 := strconv.ParseUint(w[i+2], 10, 64)
			if e1 != nil || e2 != nil {
				return Rule{}, fmt.Errorf("bad counters in %q", line)
			}
			r.Packets, r.Bytes = p, b
			i += 2
			neg = false
			continue // counters are not part of the rule's text
		case "-j", "--jump", "-g", "--goto":
			v, err := need(i + 1)
			if err != nil {
				return Rule{}, err
			}
			switch v {
			case "ACCEPT", "DROP", "RETURN", "REJECT":
				r.Verdict = Verdict(v)
			default:
				if tok == "-g" || tok == "--goto" {
					r.Verdict, r.Target = Goto, v
				} else if isTargetExtension(v) {
					r.Verdict, r.Target = Continue, v
				} else {
					r.Verdict, r.Target = Jump, v
				}
			}
			consumed = 1
			afterTarget = true
		case "--log-prefix":
			v, err := need(i + 1)
			if err != nil {
				return Rule{}, err
			}
			r.LogPrefix = v
			consumed = 1
		default:
			if strings.HasPrefix(tok, "-") && afterTarget {
				// An option of the target (--set-xmark, --reject-with...).
				if i+1 < len(w) && !strings.HasPrefix(w[i+1], "-") {
					consumed = 1
				}
			} else if strings.HasPrefix(tok, "-") {
				// A match option tsdoctor does not model, with all its
				// values (`--match-set f2b-sshd src` has two).
				u := tok
				for i+consumed+1 < len(w) && !strings.HasPrefix(w[i+consumed+1], "-") && w[i+consumed+1] != "!" {
					consumed++
					u += " " + w[i+consumed]
				}
				if neg {
					u = "! " + u
				}
				r.Unmodeled = append(r.Unmodeled, u)
			} else {
				return Rule{}, fmt.Errorf("unexpected word %q in %q", tok, line)
			}
		}
		if neg {
			textWords = append(textWords, "!")
		}
		textWords = append(textWords, w[i:i+1+consumed]...)
		i += consumed
		neg = false
	}
	r.Text = "-A " + quoteArg(r.Chain)
	for _, t := range textWords {
		r.Text += " " + quoteArg(t)
	}
	return r, nil
}

// isTargetExtension reports whether an iptables target name is an extension
// that lets the packet go on (rather than a user chain).
func isTargetExtension(t string) bool {
	switch t {
	case "LOG", "NFLOG", "MARK", "CONNMARK", "CT", "TRACE", "NOTRACK", "AUDIT", "CHECKSUM", "TCPMSS", "TOS", "DSCP", "TTL", "HL", "SECMARK", "CONNSECMARK", "CLASSIFY", "ULOG", "NFQUEUE", "MASQUERADE", "SNAT", "DNAT", "REDIRECT":
		return true
	}
	return false
}

func quoteArg(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}

var errNonContiguous = errors.New("non-contiguous netmask")

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			// iptables may print a dotted mask: 10.0.0.0/255.0.0.0.
			addr, mask, ok := strings.Cut(s, "/")
			a, e1 := netip.ParseAddr(addr)
			m, e2 := netip.ParseAddr(mask)
			if !ok || e1 != nil || e2 != nil || !m.Is4() {
				return netip.Prefix{}, err
			}
			bits, size := net.IPMask(m.AsSlice()).Size()
			if size == 0 {
				return netip.Prefix{}, errNonContiguous
			}
			return a.Prefix(bits)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ShellJoin joins arguments for display, quoting those a shell would split.
func ShellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quoteArg(a)
	}
	return strings.Join(q, " ")
}
