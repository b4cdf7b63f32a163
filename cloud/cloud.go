// Package cloud is what tsdoctor knows about the clouds whose own services
// live in 100.64.0.0/10: how to recognise an instance (DMI, a flag, its
// resolvers), which services to look for, which names stop resolving under
// public DNS and which public resolvers remedy 4 may offer. The knowledge is
// data (profiles.yaml, each fact with its source); this package only loads
// it and matches a host against it.
package cloud

import (
	_ "embed"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tsdoctor/tsdoctor/i18n"
)

//go:embed profiles.yaml
var profilesYAML []byte

// ID names a cloud in tsdoctor.check/v1 (host.cloud).
type ID string

// Unknown is a host no profile matches: a cloud tsdoctor has no profile
// for, an ISP's CGNAT at home or on Starlink, or no cloud at all.
const Unknown ID = "unknown"

// Text is a phrase in both languages.
type Text struct {
	En string `yaml:"en"`
	Zh string `yaml:"zh"`
}

// String picks the phrase for language l; as a message argument, i18n
// renders it in the message's language.
func (t Text) String(l i18n.Lang) string { return t.In(l) }

// In picks the phrase for language l.
func (t Text) In(l i18n.Lang) string {
	if l == i18n.ZH && t.Zh != "" {
		return t.Zh
	}
	return t.En
}

// DMIMatch recognises an instance by one DMI field.
type DMIMatch struct {
	Field    string `yaml:"field"` // sys_vendor, product_name, chassis_asset_tag
	Equals   string `yaml:"equals"`
	Contains string `yaml:"contains"`
	Source   string `yaml:"source"`
}

func (m DMIMatch) match(v string) bool {
	v = strings.TrimSpace(v)
	if m.Equals != "" {
		return v == m.Equals
	}
	return m.Contains != "" && strings.Contains(v, m.Contains)
}

// Service kinds.
const (
	KindDNS      = "dns"
	KindMetadata = "metadata"
	KindNTP      = "ntp"
	KindMirror   = "mirror"
)

// Service is one of the cloud's services in 100.64.0.0/10: an address the
// check can probe, or a name only the private DNS resolves.
type Service struct {
	Kind    string     `yaml:"kind"`
	Address netip.Addr `yaml:"address"`
	Port    uint16     `yaml:"port"`
	URL     string     `yaml:"url"`
	Name    string     `yaml:"name"`
	Source  string     `yaml:"source"`
}

// Range is where a cloud's private DNS servers live.
type Range struct {
	Prefix netip.Prefix `yaml:"prefix"`
	Source string       `yaml:"source"`
}

// Name is a name that resolves only through the private DNS.
type Name struct {
	Name   string `yaml:"name"`
	What   Text   `yaml:"what"`
	Source string `yaml:"source"`
}

// Resolver is a public resolver the cloud runs.
type Resolver struct {
	Address netip.Addr `yaml:"address"`
	Source  string     `yaml:"source"`
}

// Profile is one cloud.
type Profile struct {
	ID              ID         `yaml:"id"`
	Name            Text       `yaml:"name"`
	DMI             []DMIMatch `yaml:"dmi"`
	Flag            string     `yaml:"flag"`
	Services        []Service  `yaml:"services"`
	DNSRanges       []Range    `yaml:"dns_ranges"`
	InternalNames   []Name     `yaml:"internal_names"`
	PublicResolvers []Resolver `yaml:"public_resolvers"`
}

// Known reports whether the profile is a cloud tsdoctor has data for.
func (p *Profile) Known() bool { return p != nil && p.ID != Unknown && p.ID != "" }

// Addresses are the services with an address, of the given kinds (all
// kinds when none is given).
func (p *Profile) Addresses(kinds ...string) []Service {
	if p == nil {
		return nil
	}
	var out []Service
	for _, s := range p.Services {
		if s.Address.IsValid() && (len(kinds) == 0 || slices.Contains(kinds, s.Kind)) {
			out = append(out, s)
		}
	}
	return out
}

// Resolvers are the public resolvers remedy 4 offers (none: ask for --dns).
func (p *Profile) Resolvers() []netip.Addr {
	if p == nil {
		return nil
	}
	var out []netip.Addr
	for _, r := range p.PublicResolvers {
		out = append(out, r.Address)
	}
	return out
}

// IsPrivateDNS reports whether a is one of the cloud's private DNS servers.
func (p *Profile) IsPrivateDNS(a netip.Addr) bool {
	if p == nil {
		return false
	}
	for _, s := range p.Services {
		if s.Kind == KindDNS && s.Address == a {
			return true
		}
	}
	for _, r := range p.DNSRanges {
		if r.Prefix.Contains(a) {
			return true
		}
	}
	return false
}

// InternalNameList lists the internal names for the wording, e.g.
// "OSS internal endpoints (*-internal.aliyuncs.com), NTP (ntp.cloud.aliyuncs.com)".
func (p *Profile) InternalNameList(l i18n.Lang) string {
	if p == nil {
		return ""
	}
	sep := ", "
	if l == i18n.ZH {
		sep = "、"
	}
	var parts []string
	for _, n := range p.InternalNames {
		open, closing := " (", ")"
		if l == i18n.ZH {
			open, closing = "（", "）"
		}
		parts = append(parts, n.What.In(l)+open+n.Name+closing)
	}
	return strings.Join(parts, sep)
}

// NameList is the profile's internal names as a message argument, rendered
// in the message's language.
type NameList struct{ p *Profile }

// Names returns the internal names as a message argument.
func (p *Profile) Names() NameList { return NameList{p} }

// String renders the list in l (i18n renders it so as a message argument).
func (n NameList) String(l i18n.Lang) string { return n.p.InternalNameList(l) }

var profiles = mustLoad(profilesYAML)

// Profiles are the known clouds, in the order of profiles.yaml.
func Profiles() []Profile { return slices.Clone(profiles) }

// Lookup finds a profile by ID; nil when there is none.
func Lookup(id ID) *Profile {
	for i := range profiles {
		if profiles[i].ID == id {
			p := profiles[i]
			return &p
		}
	}
	return nil
}

type file struct {
	Profiles []Profile `yaml:"profiles"`
}

// load parses and checks the table: a bad entry is a build-time mistake,
// and TestProfiles fails on it before any binary ships.
func load(b []byte) ([]Profile, error) {
	var f file
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("cloud profiles: %w", err)
	}
	seen := map[ID]bool{}
	for _, p := range f.Profiles {
		if p.ID == "" || p.ID == Unknown || seen[p.ID] {
			return nil, fmt.Errorf("cloud profiles: empty, reserved or repeated id %q", p.ID)
		}
		seen[p.ID] = true
		if p.Name.En == "" || p.Name.Zh == "" {
			return nil, fmt.Errorf("cloud profile %s: needs a name in en and zh", p.ID)
		}
		if err := check(p); err != nil {
			return nil, fmt.Errorf("cloud profile %s: %w", p.ID, err)
		}
	}
	return f.Profiles, nil
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func check(p Profile) error {
	for _, m := range p.DMI {
		if !slices.Contains([]string{"sys_vendor", "product_name", "chassis_asset_tag"}, m.Field) || (m.Equals == "") == (m.Contains == "") || m.Source == "" {
			return fmt.Errorf("dmi %+v: needs a known field, exactly one of equals/contains, and a source", m)
		}
	}
	for _, s := range p.Services {
		if s.Source == "" || !slices.Contains([]string{KindDNS, KindMetadata, KindNTP, KindMirror}, s.Kind) {
			return fmt.Errorf("service %+v: needs a known kind and a source", s)
		}
		if s.Address.IsValid() == (s.Name != "") {
			return fmt.Errorf("service %+v: give an address or a name", s)
		}
		if s.Address.IsValid() && (!cgnat.Contains(s.Address) || s.Port == 0) {
			return fmt.Errorf("service %s: the address must be in 100.64.0.0/10 and have a port", s.Address)
		}
	}
	for _, r := range p.DNSRanges {
		if !r.Prefix.IsValid() || !cgnat.Overlaps(r.Prefix) || r.Source == "" {
			return fmt.Errorf("dns range %v: needs a prefix in 100.64.0.0/10 and a source", r.Prefix)
		}
	}
	for _, n := range p.InternalNames {
		if n.Name == "" || n.What.En == "" || n.What.Zh == "" || n.Source == "" {
			return fmt.Errorf("internal name %+v: needs a name, what it is in en and zh, and a source", n)
		}
	}
	for _, r := range p.PublicResolvers {
		if !r.Address.Is4() || cgnat.Contains(r.Address) || !r.Address.IsGlobalUnicast() || r.Address.IsPrivate() || r.Source == "" {
			return fmt.Errorf("public resolver %v: needs a public IPv4 address and a source", r.Address)
		}
	}
	return nil
}

func mustLoad(b []byte) []Profile {
	p, err := load(b)
	if err != nil {
		panic(err)
	}
	return p
}
