package fixes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

const (
	// PublicDNSNetplan sorts after cloud-init's 50-cloud-init.yaml, so it
	// overrides it even when cloud-init regenerates that file.
	PublicDNSNetplan = "/etc/netplan/99-tsdoctor-dns.yaml"
	netplanDir       = "/etc/netplan"
)

// netplanFiles are /etc/netplan/*.yaml, sorted as netplan reads them.
func netplanFiles(h *Host) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(h.path(netplanDir), "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range matches {
		out = append(out, filepath.Join(netplanDir, filepath.Base(f)))
	}
	slices.Sort(out)
	return out, nil
}

// planNetplan: a 99- netplan file that makes every ethernet interface
// ignore DHCP's DNS and use the resolvers, then netplan apply.
func planNetplan(h *Host, p *Plan, m ResolverManager, resolvers []netip.Addr) error {
	content, err := netplanContent(m, resolvers)
	if err != nil {
		return err
	}
	fw := FileWrite{Path: PublicDNSNetplan, Content: content, Mode: 0o600}
	same, err := fileIs(h, fw)
	if err != nil {
		return err
	}
	if !same {
		// Undo reverses actions last first, and `netplan apply` must run
		// after the old files are back: so it is the undo of a command
		// before the file (netplan generate, which checks and renders the
		// current configuration without applying it), not of the final
		// apply.
		p.addCommand([]string{"netplan", "generate"}, []string{"netplan", "apply"})
		p.addFile(fw)
		p.addCommand([]string{"netplan", "apply"}, nil)
	}
	if len(m.Interfaces) == 0 {
		p.note("fix.4.note.netplanall")
	}
	for _, name := range m.Interfaces {
		ns := m.staticDNS[name]
		other := slices.ContainsFunc(ns, func(s string) bool {
			a, err := netip.ParseAddr(s)
			return err != nil || !slices.Contains(resolvers, a)
		})
		if other {
			p.note("fix.4.note.netplanstatic", name, strings.Join(ns, ", "), strings.Join(m.Netplan, ", "))
		}
	}
	p.note("fix.4.note.cloudinit", PublicDNSNetplan)
	return nil
}

// netplanHead is the comment above the file's content: who wrote it, why,
// and how to take it back.
const netplanHead = "Written by tsdoctor (remedy 4, public DNS); `tsdoctor undo` removes it.\n" +
	"Ignore the DNS servers DHCP offers (the VPC's private resolvers in\n" +
	"100.64.0.0/10, whose replies tailscaled's CGNAT rule drops) and use\n" +
	"public resolvers instead.\n" +
	"Named 99- so netplan reads it after cloud-init's 50-cloud-init.yaml, which\n" +
	"cloud-init may regenerate: this file still overrides it."

// netplanContent is the 99- file, built as YAML nodes so that any definition
// ID read from the other files (quotes, control characters, a name that
// looks like a number) is written back as the same string.
func netplanContent(m ResolverManager, resolvers []netip.Addr) (string, error) {
	addrs := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, a := range resolvers {
		addrs.Content = append(addrs.Content, yamlStr(a.String()))
	}
	// def is one definition: its own keys, then DHCP's DNS off and the
	// resolvers on.
	def := func(dhcp6 bool, keys ...*yaml.Node) *yaml.Node {
		d := yamlMap(keys...)
		d.Content = append(d.Content, yamlStr("dhcp4-overrides"), yamlMap(yamlStr("use-dns"), yamlBool(false)))
		if dhcp6 {
			// networkd refuses differing dhcp4- and dhcp6-overrides.
			d.Content = append(d.Content, yamlStr("dhcp6-overrides"), yamlMap(yamlStr("use-dns"), yamlBool(false)))
		}
		d.Content = append(d.Content, yamlStr("nameservers"), yamlMap(yamlStr("addresses"), addrs))
		return d
	}
	eth := yamlMap()
	if len(m.Interfaces) == 0 {
		pattern := yamlStr("e*")
		pattern.Style = yaml.DoubleQuotedStyle
		eth.Content = append(eth.Content, yamlStr("tsdoctor-all"),
			def(false, yamlStr("match"), yamlMap(yamlStr("name"), pattern), yamlStr("dhcp4"), yamlBool(true)))
	}
	for _, name := range m.Interfaces {
		eth.Content = append(eth.Content, yamlKey(name), def(m.dhcp6[name]))
	}
	root := yamlMap(yamlStr("network"), yamlMap(
		yamlStr("version"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "2"},
		yamlStr("ethernets"), eth))
	root.HeadComment = netplanHead
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return "", fmt.Errorf("write %s: %w", PublicDNSNetplan, err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", PublicDNSNetplan, err)
	}
	return b.String(), nil
}

func yamlStr(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func yamlBool(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
}

func yamlMap(kv ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Content: kv} }

// yamlKey is a definition ID as a key: double-quoted unless plainly safe,
// where the encoder would pick a block scalar for a name with a newline.
func yamlKey(s string) *yaml.Node {
	n := yamlStr(s)
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			n.Style = yaml.DoubleQuotedStyle
			break
		}
	}
	return n
}

// netplanIface is one ethernet definition of a netplan file.
type netplanIface struct {
	name  string
	dhcp6 bool
	// nameservers are its static nameservers.addresses.
	nameservers []string
}

// parseNetplanEthernets finds the definitions under network.ethernets of a
// netplan file (every YAML document of it), in the order written, with
// whether each uses DHCPv6 and its static nameservers. What YAML cannot
// parse is an error, never a guess.
func parseNetplanEthernets(b []byte) ([]netplanIface, error) {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return nil, errors.New("not a text file")
	}
	var out []netplanIface
	index := map[string]int{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Network struct {
				Ethernets yaml.Node `yaml:"ethernets"`
			} `yaml:"network"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		eth := &doc.Network.Ethernets
		if eth.Kind == yaml.AliasNode {
			eth = eth.Alias
		}
		switch {
		case eth.Kind == 0 || eth.Tag == "!!null":
			continue
		case eth.Kind != yaml.MappingNode:
			return nil, fmt.Errorf("line %d: network.ethernets is not a mapping", eth.Line)
		}
		for i := 0; i+1 < len(eth.Content); i += 2 {
			name := eth.Content[i].Value
			var def struct {
				DHCP6       string `yaml:"dhcp6"`
				Nameservers struct {
					Addresses []string `yaml:"addresses"`
				} `yaml:"nameservers"`
			}
			if err := eth.Content[i+1].Decode(&def); err != nil {
				return nil, fmt.Errorf("ethernets.%s: %w", name, err)
			}
			j, seen := index[name]
			if !seen {
				j = len(out)
				index[name] = j
				out = append(out, netplanIface{name: name})
			}
			// netplan reads YAML 1.1 booleans: yes/on count too.
			out[j].dhcp6 = out[j].dhcp6 || yamlTrue(def.DHCP6)
			out[j].nameservers = append(out[j].nameservers, def.Nameservers.Addresses...)
		}
	}
}

func yamlTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "y":
		return true
	}
	return false
}
