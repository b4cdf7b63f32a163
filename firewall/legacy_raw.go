package firewall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The legacy x_tables kernel interface hands out a whole table at once
// (IPT_SO_GET_ENTRIES). With 100,000 kube-proxy rules that copy alone costs
// about 70 ms of kernel time, and `iptables-legacy` adds a process, libiptc's
// cache and the xtables lock on top: every `-S CHAIN` costs the whole table,
// and two of them (INPUT, then ts-input) cannot even run side by side because
// each holds the lock. Measured with 100k rules in `filter`: one
// `iptables-legacy -v -S ts-input` 100–116 ms, the bare getsockopt 68–83 ms.
//
// So the legacy reader takes the table once, itself, and renders the rules
// on the INPUT path as `iptables -v -S` lines for the one parser every
// iptables backend shares. It renders only what it knows exactly (the
// address/interface/protocol header, udp, tcp ports, comment, conntrack
// --ctstate, the standard verdicts and REJECT); a chain with anything else is
// read with iptables-legacy as before, so an unknown extension costs time,
// never a wrong rule. No maintained Go library decodes these blobs.

// Offsets in the kernel's structures (linux/netfilter_ipv4/ip_tables.h,
// linux/netfilter/x_tables.h), identical on every 64-bit Linux.
const (
	iptSoGetInfo    = 64 // IPT_SO_GET_INFO
	iptSoGetEntries = 65 // IPT_SO_GET_ENTRIES

	iptGetInfoLen = 84 // struct ipt_getinfo
	iptEntryLen   = 112
	xtHeaderLen   = 32 // struct xt_entry_match / xt_entry_target header

	iptFGoto     = 0x02
	iptInvViaIn  = 0x01
	iptInvViaOut = 0x02
	iptInvSrcIP  = 0x08
	iptInvDstIP  = 0x10
	iptInvFrag   = 0x20
	iptInvProto  = 0x40
	iptFFrag     = 0x01
)

// hookChains are the filter table's built-in chains by hook number.
var hookChains = [5]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

// rawTable is one IPT_SO_GET_ENTRIES read of a table. Chains are rendered
// only when asked for: the INPUT path is a few dozen of 100,000 rules.
type rawTable struct {
	Name   string
	Chains map[string]*rawChain
	Order  []string
	blob   []byte
	offs   []int32        // offset of each entry, in order
	start  map[int]string // offset of each chain's first entry -> chain
}

type rawChain struct {
	Name    string
	Policy  string // built-in chains
	Packets uint64 // policy counters
	Bytes   uint64
	first   int // entry index of the first rule
	end     int // entry index after the last rule
	rules   []rawRule
	done    bool
}

// rawRule is one rule rendered as an `iptables -v -S` line, or why it could not be.
type rawRule struct {
	Line        string
	Unsupported string
	Target      string // the chain it jumps or goes to, if any
}

// errRawUnsupported says a chain holds a rule the raw reader does not render.
var errRawUnsupported = errors.New("rule extension not rendered from the raw table")

// rawBuf keeps the last table buffer: the guard and the counter watch read
// the same 20 MB again and again, and a fresh one costs zeroing and page
// faults each time.
var rawBuf struct {
	sync.Mutex
	b []byte
}

// withRawTable reads table (e.g. "filter") of the current network namespace
// and calls fn with it; the table is only valid during fn. The caller has
// checked /proc/net/ip_tables_names: asking for a table that is not loaded
// would load it.
func withRawTable(table string, fn func(*rawTable) error) error {
	rawBuf.Lock()
	defer rawBuf.Unlock()
	t, err := readRawTable(table)
	if err != nil {
		return err
	}
	return fn(t)
}

func readRawTable(table string) (*rawTable, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return nil, fmt.Errorf("iptables-legacy: raw socket: %w", err)
	}
	defer unix.Close(fd)
	// The table may change between the two calls (EAGAIN): libiptc retries too.
	for range 5 {
		info := make([]byte, iptGetInfoLen)
		copy(info, table)
		if err := getsockopt(fd, iptSoGetInfo, info); err != nil {
			return nil, fmt.Errorf("iptables-legacy: get info of %s: %w", table, err)
		}
		le := binary.NativeEndian
		size := le.Uint32(info[80:])
		hdr := alignUp(36, int(unsafe.Alignof(uint64(0))))
		if cap(rawBuf.b) < hdr+int(size) {
			rawBuf.b = make([]byte, hdr+int(size)+hdr+int(size)/8) // room to grow
		}
		buf := rawBuf.b[:hdr+int(size)]
		clear(buf[:36])
		copy(buf, table)
		le.PutUint32(buf[32:], size)
		if err := getsockopt(fd, iptSoGetEntries, buf); err != nil {
			if errors.Is(err, unix.EAGAIN) {
				continue
			}
			return nil, fmt.Errorf("iptables-legacy: get entries of %s: %w", table, err)
		}
		var hooks, underflow [5]uint32
		valid := le.Uint32(info[32:])
		for h := range 5 {
			hooks[h] = le.Uint32(info[36+4*h:])
			underflow[h] = le.Uint32(info[56+4*h:])
		}
		return decodeRawTable(table, buf[hdr:], valid, hooks, underflow)
	}
	return nil, fmt.Errorf("iptables-legacy: table %s kept changing while being read", table)
}

func getsockopt(fd, opt int, buf []byte) error {
	l := uint32(len(buf))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_IP, uintptr(opt),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return nil
}

func alignUp(n, a int) int { return (n + a - 1) &^ (a - 1) }

// rawEntry is the part of a struct ipt_entry the decoder walks by.
type rawEntry struct {
	off, next, targetOff int
	b                    []byte // the whole entry
}

func (e rawEntry) target() (name string, data []byte) {
	t := e.b[e.targetOff:]
	size := int(binary.NativeEndian.Uint16(t))
	if size < xtHeaderLen || size > len(t) {
		return "", nil
	}
	return cstr(t[2:31]), t[xtHeaderLen:size]
}

func (e rawEntry) counters() (uint64, uint64) {
	return binary.NativeEndian.Uint64(e.b[96:]), binary.NativeEndian.Uint64(e.b[104:])
}

// verdict is the standard target's verdict (only meaningful when the target
// name is empty).
func (e rawEntry) verdict() int32 {
	_, d := e.target()
	if len(d) < 4 {
		return 0
	}
	return int32(binary.NativeEndian.Uint32(d))
}

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func decodeRawTable(table string, blob []byte, valid uint32, hooks, underflow [5]uint32) (*rawTable, error) {
	t := &rawTable{Name: table, Chains: map[string]*rawChain{}, start: map[int]string{}, blob: blob}
	le := binary.NativeEndian
	// One pass without allocating per entry: 100,000 rules are walked on
	// every read, and only the INPUT path is rendered.
	for off := 0; off < len(blob); {
		if off+iptEntryLen > len(blob) {
			return nil, fmt.Errorf("iptables-legacy: truncated entry at %d", off)
		}
		targetOff, next := int(le.Uint16(blob[off+88:])), int(le.Uint16(blob[off+90:]))
		if next < iptEntryLen || off+next > len(blob) || targetOff < iptEntryLen || targetOff+xtHeaderLen > next {
			return nil, fmt.Errorf("iptables-legacy: malformed entry at %d", off)
		}
		t.offs = append(t.offs, int32(off))
		off += next
	}
	// Where each chain starts: built-in chains at their hook entry, user
	// chains right after their ERROR head (jumps point there).
	policyOf := map[int]string{} // underflow offset -> built-in chain
	for h := range 5 {
		if valid&(1<<h) != 0 {
			t.start[int(hooks[h])] = hookChains[h]
			policyOf[int(underflow[h])] = hookChains[h]
		}
	}
	for i := range t.offs {
		if t.isError(i) {
			e := t.entry(i)
			if _, data := e.target(); cstr(data) != "ERROR" {
				t.start[e.off+e.next] = cstr(data)
			}
		}
	}
	var cur *rawChain
	for i, off := range t.offs {
		if name, ok := t.start[int(off)]; ok {
			cur = &rawChain{Name: name, first: i, end: i}
			t.Chains[name] = cur
			t.Order = append(t.Order, name)
		}
		if t.isError(i) {
			cur = nil // a user chain's head, or the table's end
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("iptables-legacy: entry at %d belongs to no chain", off)
		}
		if bc, ok := policyOf[int(off)]; ok && bc == cur.Name {
			e := t.entry(i)
			cur.Policy = verdictName(e.verdict())
			cur.Packets, cur.Bytes = e.counters()
			continue
		}
		if i+1 < len(t.offs) && t.isError(i+1) {
			if e := t.entry(i); e.standard() && e.verdict() == xtReturn && isUnconditional(e) {
				continue // a user chain's closing RETURN, not a rule
			}
		}
		cur.end = i + 1
	}
	return t, nil
}

// entry returns entry i.
func (t *rawTable) entry(i int) rawEntry {
	off := int(t.offs[i])
	le := binary.NativeEndian
	e := rawEntry{off: off, targetOff: int(le.Uint16(t.blob[off+88:])), next: int(le.Uint16(t.blob[off+90:]))}
	e.b = t.blob[off : off+e.next]
	return e
}

// isError reports whether entry i has the ERROR target (a user chain's head
// or the table's end), without allocating.
func (t *rawTable) isError(i int) bool {
	off := int(t.offs[i])
	name := t.blob[off+int(binary.NativeEndian.Uint16(t.blob[off+88:]))+2:]
	return string(name[:6]) == "ERROR\x00"
}

// standard reports whether the entry's target is the standard one (a
// verdict or a jump: its name is empty).
func (e rawEntry) standard() bool { return e.b[e.targetOff+2] == 0 }

// rulesOf renders the rules of chain c once.
func (t *rawTable) rulesOf(c *rawChain) []rawRule {
	if !c.done {
		for i := c.first; i < c.end; i++ {
			e := t.entry(i)
			tname, data := e.target()
			c.rules = append(c.rules, renderRule(c.Name, e, tname, data, t.start))
		}
		c.done = true
	}
	return c.rules
}

// Standard verdicts: -NF_xxx - 1.
const (
	xtDrop   = -1
	xtAccept = -2
	xtQueue  = -4
	xtReturn = -5
)

func verdictName(v int32) string {
	switch v {
	case xtAccept:
		return "ACCEPT"
	case xtDrop:
		return "DROP"
	case xtReturn:
		return "RETURN"
	case xtQueue:
		return "QUEUE"
	}
	return ""
}

func isUnconditional(e rawEntry) bool {
	if e.targetOff != iptEntryLen {
		return false
	}
	for _, c := range e.b[:84] {
		if c != 0 {
			return false
		}
	}
	return true
}

// text renders the chain as `iptables -v -S CHAIN` does, for ParseIptablesS,
// or errRawUnsupported when a rule is not rendered.
func (t *rawTable) text(c *rawChain) (string, error) {
	var s strings.Builder
	if c.Policy != "" {
		fmt.Fprintf(&s, "-P %s %s -c %d %d\n", c.Name, c.Policy, c.Packets, c.Bytes)
	} else {
		fmt.Fprintf(&s, "-N %s\n", quoteArg(c.Name))
	}
	for _, r := range t.rulesOf(c) {
		if r.Unsupported != "" {
			return "", fmt.Errorf("%w: chain %s: %s", errRawUnsupported, c.Name, r.Unsupported)
		}
		s.WriteString(r.Line + "\n")
	}
	return s.String(), nil
}

// chain parses one chain of the raw table into the rule model, through the
// same parser as `iptables -v -S` output.
func (t *rawTable) chain(name string) (Chain, error) {
	rc, ok := t.Chains[name]
	if !ok {
		return Chain{}, fmt.Errorf("iptables-legacy: no chain %s in table %s", name, t.Name)
	}
	txt, err := t.text(rc)
	if err != nil {
		return Chain{}, err
	}
	chains, _, err := ParseIptablesS(txt, IptablesLegacy, t.Name)
	if err != nil {
		return Chain{}, fmt.Errorf("iptables-legacy: chain %s: %v", name, err)
	}
	c := Chain{ChainRef: ChainRef{Backend: IptablesLegacy, Family: IPv4, Table: t.Name, Chain: name}}
	if pc, ok := chains[name]; ok {
		c.Policy, c.Rules = pc.Policy, pc.Rules
		if pc.Policy != "" {
			c.Hook = "input"
		}
	}
	return c, nil
}

// rawInputPath reads the filter table once and returns INPUT and every chain
// reachable from it, in the order the CLI walk would find them, plus ts-input
// when it exists but is not hooked yet: tailscaled fills it before or after
// hooking it depending on the version, and the guard wants it either way.
func (t *Iptables) rawInputPath() (out []Chain, err error) {
	err = withRawTable("filter", func(tab *rawTable) error {
		out, err = tab.inputPath()
		return err
	})
	return out, err
}

func (tab *rawTable) inputPath() ([]Chain, error) {
	var out []Chain
	seen := map[string]bool{"INPUT": true}
	level := []string{"INPUT"}
	for len(level) > 0 {
		var next []string
		for _, n := range level {
			c, err := tab.chain(n)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
			for _, r := range tab.rulesOf(tab.Chains[n]) {
				if r.Target != "" && !seen[r.Target] {
					seen[r.Target] = true
					next = append(next, r.Target)
				}
			}
		}
		level = next
	}
	if _, ok := tab.Chains["ts-input"]; ok && !seen["ts-input"] {
		c, err := tab.chain("ts-input")
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
