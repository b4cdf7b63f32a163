package fixes

import (
	"bytes"
	"cmp"
	"context"
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

	"github.com/tsdoctor/tsdoctor/tsrules"
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

// planNetplan: a 99- netplan file that makes exactly the definitions
// carrying the VPC DNS (those taking DNS from DHCP, or listing a server in
// 100.64.0.0/10) ignore DHCP's DNS and use the resolvers, then netplan
// apply. It never sets addressing (no dhcp4, no match): an override of a
// definition's DNS only. Definitions netplan hands to NetworkManager go
// through NetworkManager, since netplan writes no ignore-auto-dns for them;
// with no definition to override, systemd-resolved's drop-in does the job.
func planNetplan(ctx context.Context, h *Host, p *Plan, m ResolverManager, resolvers []netip.Addr) error {
	var networkd, nm, all []netplanDef
	for _, d := range m.netplan {
		if d.renderer != netplanNM {
			all = append(all, d)
		}
		switch {
		case !d.carriesVPCDNS():
		case d.renderer == netplanNM:
			nm = append(nm, d)
		default:
			networkd = append(networkd, d)
		}
	}
	if len(nm) > 0 || (len(networkd) == 0 && m.netplanRenderer == netplanNM) {
		if err := planNetworkManager(ctx, h, p, resolvers); err != nil {
			return err
		}
		if len(nm) > 0 {
			p.note("fix.4.note.netplannm", defNames(nm))
		}
	}
	if len(networkd) == 0 {
		if len(nm) == 0 && m.netplanRenderer != netplanNM {
			p.note("fix.4.note.netplannone", strings.Join(m.Netplan, ", "))
			return planResolved(h, p, resolvers)
		}
		return nil
	}
	content, err := netplanContent(networkd, resolvers)
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
	// netplan apply (0.106) reloads networkd and reconfigures every link
	// it manages, not only the changed ones: say which, before.
	p.note("fix.4.note.netplanapply", defNames(all), defNames(networkd))
	for _, d := range networkd {
		other := slices.ContainsFunc(d.nameservers, func(s string) bool {
			a, err := netip.ParseAddr(s)
			return err != nil || !slices.Contains(resolvers, a)
		})
		if other {
			p.note("fix.4.note.netplanstatic", d.name, strings.Join(d.nameservers, ", "), strings.Join(m.Netplan, ", "))
		}
	}
	p.note("fix.4.note.cloudinit", PublicDNSNetplan)
	return nil
}

func defNames(defs []netplanDef) string {
	var s []string
	for _, d := range defs {
		s = append(s, d.name)
	}
	return strings.Join(s, ", ")
}

// netplanHead is the comment above the file's content: who wrote it, why,
// and how to take it back.
const netplanHead = "Written by tsdoctor (remedy 4, public DNS); `tsdoctor undo` removes it.\n" +
	"Ignore the DNS servers DHCP offers (the VPC's private resolvers in\n" +
	"100.64.0.0/10, whose replies tailscaled's CGNAT rule drops) and use\n" +
	"public resolvers instead.\n" +
	"Named 99- so netplan reads it after cloud-init's 50-cloud-init.yaml, which\n" +
	"cloud-init may regenerate: this file still overrides it."

// netplanSections are the definition types whose DNS remedy 4 overrides,
// in the order netplan's documentation lists them.
var netplanSections = []string{"ethernets", "bonds", "bridges", "vlans"}

// netplanContent is the 99- file, built as YAML nodes so that any definition
// ID read from the other files (quotes, control characters, a name that
// looks like a number) is written back as the same string. Each definition
// gets DNS keys only: netplan merges them into the definition of the same
// ID, whose addressing stays as its own file says.
func netplanContent(defs []netplanDef, resolvers []netip.Addr) (string, error) {
	addrs := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, a := range resolvers {
		addrs.Content = append(addrs.Content, yamlStr(a.String()))
	}
	net := yamlMap(yamlStr("version"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "2"})
	for _, sec := range netplanSections {
		m := yamlMap()
		for _, d := range defs {
			if d.section != sec {
				continue
			}
			def := yamlMap()
			// networkd refuses differing dhcp4- and dhcp6-overrides; a
			// static definition takes only the servers.
			if d.dhcp4 || d.dhcp6 {
				def.Content = append(def.Content, yamlStr("dhcp4-overrides"), yamlMap(yamlStr("use-dns"), yamlBool(false)))
			}
			if d.dhcp6 {
				def.Content = append(def.Content, yamlStr("dhcp6-overrides"), yamlMap(yamlStr("use-dns"), yamlBool(false)))
			}
			def.Content = append(def.Content, yamlStr("nameservers"), yamlMap(yamlStr("addresses"), addrs))
			m.Content = append(m.Content, yamlKey(d.name), def)
		}
		if len(m.Content) > 0 {
			net.Content = append(net.Content, yamlStr(sec), m)
		}
	}
	root := yamlMap(yamlStr("network"), net)
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

// netplanNM is netplan's name of the NetworkManager renderer.
const netplanNM = "NetworkManager"

// netplanDef is one definition (ethernet, bond, bridge or VLAN) of the
// netplan files, merged across them by section and ID as netplan does.
type netplanDef struct {
	section string
	name    string
	// dhcp4, dhcp6: it takes its address, and DNS, from DHCP.
	dhcp4, dhcp6 bool
	// nameservers are its static nameservers.addresses.
	nameservers []string
	// renderer is its own, its section's or its file's renderer; ""
	// until resolved (netplan's default, networkd).
	renderer string
}

// carriesVPCDNS: DHCP gives it DNS (on ECS, the VPC's), or its static
// servers include one in 100.64.0.0/10.
func (d netplanDef) carriesVPCDNS() bool {
	return d.dhcp4 || d.dhcp6 || slices.ContainsFunc(d.nameservers, func(s string) bool {
		a, err := netip.ParseAddr(s)
		return err == nil && tsrules.CGNAT.Contains(a)
	})
}

// parseNetplan finds the definitions of a netplan file (every YAML
// document of it) in the sections remedy 4 overrides, in the order written,
// and the file's global renderer (network.renderer). What YAML cannot parse
// is an error, never a guess.
func parseNetplan(b []byte) (defs []netplanDef, renderer string, err error) {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return nil, "", errors.New("not a text file")
	}
	index := map[[2]string]int{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Network struct {
				Renderer  string    `yaml:"renderer"`
				Ethernets yaml.Node `yaml:"ethernets"`
				Bonds     yaml.Node `yaml:"bonds"`
				Bridges   yaml.Node `yaml:"bridges"`
				VLANs     yaml.Node `yaml:"vlans"`
			} `yaml:"network"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return defs, renderer, nil
		}
		if err != nil {
			return nil, "", err
		}
		if doc.Network.Renderer != "" {
			renderer = doc.Network.Renderer
		}
		n := &doc.Network
		for i, sec := range []*yaml.Node{&n.Ethernets, &n.Bonds, &n.Bridges, &n.VLANs} {
			name := netplanSections[i]
			if sec.Kind == yaml.AliasNode {
				sec = sec.Alias
			}
			switch {
			case sec.Kind == 0 || sec.Tag == "!!null":
				continue
			case sec.Kind != yaml.MappingNode:
				return nil, "", fmt.Errorf("line %d: network.%s is not a mapping", sec.Line, name)
			}
			// A section may name a renderer for its definitions.
			secRenderer := ""
			for j := 0; j+1 < len(sec.Content); j += 2 {
				if sec.Content[j].Value == "renderer" && sec.Content[j+1].Kind == yaml.ScalarNode {
					secRenderer = sec.Content[j+1].Value
				}
			}
			for j := 0; j+1 < len(sec.Content); j += 2 {
				id := sec.Content[j].Value
				if id == "renderer" && sec.Content[j+1].Kind == yaml.ScalarNode {
					continue
				}
				var def struct {
					Renderer    string `yaml:"renderer"`
					DHCP4       string `yaml:"dhcp4"`
					DHCP6       string `yaml:"dhcp6"`
					Nameservers struct {
						Addresses []string `yaml:"addresses"`
					} `yaml:"nameservers"`
				}
				if err := sec.Content[j+1].Decode(&def); err != nil {
					return nil, "", fmt.Errorf("%s.%s: %w", name, id, err)
				}
				k, seen := index[[2]string{name, id}]
				if !seen {
					k = len(defs)
					index[[2]string{name, id}] = k
					defs = append(defs, netplanDef{section: name, name: id})
				}
				// netplan reads YAML 1.1 booleans: yes/on count too.
				defs[k].dhcp4 = defs[k].dhcp4 || yamlTrue(def.DHCP4)
				defs[k].dhcp6 = defs[k].dhcp6 || yamlTrue(def.DHCP6)
				defs[k].nameservers = append(defs[k].nameservers, def.Nameservers.Addresses...)
				if r := cmp.Or(def.Renderer, secRenderer); r != "" {
					defs[k].renderer = r
				}
			}
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
