package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func atoiOr(v string, def int) int {
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}

func sortStrings(s []string) { sort.Strings(s) }

func findByName[T any](list []T, name func(T) string, want string) *T {
	for i := range list {
		if name(list[i]) == want {
			return &list[i]
		}
	}
	return nil
}

// The accessors below return empty values for absent containers, so callers
// need no nil checks.

func (c *Config) ike() *IKE {
	if c.Security == nil || c.Security.IKE == nil {
		return &IKE{}
	}
	return c.Security.IKE
}

func (c *Config) ipsec() *IPsec {
	if c.Security == nil || c.Security.IPsec == nil {
		return &IPsec{}
	}
	return c.Security.IPsec
}

// ZoneList returns the security zones.
func (c *Config) ZoneList() []Zone {
	if c.Security == nil || c.Security.Zones == nil {
		return nil
	}
	return c.Security.Zones.Zones
}

// InterfaceList returns the configured interfaces.
func (c *Config) InterfaceList() []Interface {
	if c.Interfaces == nil {
		return nil
	}
	return c.Interfaces.Interfaces
}

// ZonePairs returns the zone-pair policy contexts.
func (c *Config) ZonePairs() []ZonePair {
	if c.Security == nil || c.Security.Policies == nil {
		return nil
	}
	return c.Security.Policies.ZonePairs
}

// GlobalPolicies returns the global policies.
func (c *Config) GlobalPolicies() []Policy {
	if c.Security == nil || c.Security.Policies == nil || c.Security.Policies.Global == nil {
		return nil
	}
	return c.Security.Policies.Global.Policies
}

// StaticRoutes returns the static routes.
func (c *Config) StaticRoutes() []Route {
	if c.RoutingOptions == nil || c.RoutingOptions.Static == nil {
		return nil
	}
	return c.RoutingOptions.Static.Routes
}

// HostName returns the configured host name, or def.
func (c *Config) HostName(def string) string {
	if c.System == nil || c.System.HostName == "" {
		return def
	}
	return c.System.HostName
}

// IKEGateway returns a gateway by name.
func (c *Config) IKEGateway(name string) *IKEGateway {
	return findByName(c.ike().Gateways, func(g IKEGateway) string { return g.Name }, name)
}

// IKEPolicy returns an IKE policy by name.
func (c *Config) IKEPolicy(name string) *IKEPolicy {
	return findByName(c.ike().Policies, func(p IKEPolicy) string { return p.Name }, name)
}

// IPsecVPN returns a VPN by name.
func (c *Config) IPsecVPN(name string) *IPsecVPN {
	return findByName(c.ipsec().VPNs, func(v IPsecVPN) string { return v.Name }, name)
}

// IPsecVPNs returns all VPNs.
func (c *Config) IPsecVPNs() []IPsecVPN { return c.ipsec().VPNs }

// UnitAddresses returns the IPv4 addresses of a logical interface
// ("ge-0/0/1.0" or "ge-0/0/1", which means unit 0).
func (c *Config) UnitAddresses(ifunit string) []netip.Prefix {
	name, unit, ok := strings.Cut(ifunit, ".")
	if !ok {
		unit = "0"
	}
	var out []netip.Prefix
	for _, ifc := range c.InterfaceList() {
		if ifc.Name != name {
			continue
		}
		for _, u := range ifc.Units {
			if u.Number != unit || u.Family == nil || u.Family.Inet == nil {
				continue
			}
			for _, a := range u.Family.Inet.Addresses {
				if p, err := netip.ParsePrefix(a.Prefix); err == nil {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// AppTerm is one protocol/port match of an application. Proto 0 with Any
// set matches everything.
type AppTerm struct {
	Any              bool
	Proto            uint8
	SrcLo, SrcHi     uint16
	DstLo, DstHi     uint16
	ICMPType         int // -1: any
	InactivityTimout int // seconds; 0: the protocol's default
}

// Covers reports whether every packet that u matches, t matches too.
func (t AppTerm) Covers(u AppTerm) bool {
	if t.Any {
		return true
	}
	if u.Any || t.Proto != u.Proto {
		return false
	}
	return t.SrcLo <= u.SrcLo && u.SrcHi <= t.SrcHi && t.DstLo <= u.DstLo && u.DstHi <= t.DstHi &&
		(t.ICMPType < 0 || t.ICMPType == u.ICMPType)
}

// ProtocolNumber maps an application protocol to its IP protocol number.
func ProtocolNumber(p string) (uint8, error) {
	switch p {
	case "tcp":
		return 6, nil
	case "udp":
		return 17, nil
	case "icmp":
		return 1, nil
	case "esp":
		return 50, nil
	case "ah":
		return 51, nil
	case "gre":
		return 47, nil
	case "ospf":
		return 89, nil
	case "sctp":
		return 132, nil
	}
	n, err := strconv.ParseUint(p, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown protocol %q", p)
	}
	return uint8(n), nil
}

func appTerm(a Application) (AppTerm, error) {
	proto, err := ProtocolNumber(a.Protocol)
	if err != nil {
		return AppTerm{}, fmt.Errorf("application %s: %w", a.Name, err)
	}
	t := AppTerm{Proto: proto, SrcHi: 65535, DstHi: 65535, ICMPType: -1, InactivityTimout: atoiOr(a.InactivityTimeout, 0)}
	if a.SourcePort != "" {
		if t.SrcLo, t.SrcHi, err = PortRange(a.SourcePort); err != nil {
			return AppTerm{}, err
		}
	}
	if a.DestinationPort != "" {
		if t.DstLo, t.DstHi, err = PortRange(a.DestinationPort); err != nil {
			return AppTerm{}, err
		}
	}
	if a.ICMPType != "" {
		t.ICMPType = atoiOr(a.ICMPType, -1)
	}
	return t, nil
}

// Index resolves names of a configuration: which zone an interface is in,
// which book serves a zone, what an address or application name expands to.
// Build it once per commit with NewIndex.
type Index struct {
	cfg       *Config
	zoneOf    map[string]string            // "ge-0/0/1.0" -> zone
	bookOf    map[string]string            // zone -> book name
	global    string                       // the global book's name, if any
	books     map[string]*AddressBook      // name -> book
	addrCache map[[2]string][]netip.Prefix // (book, name) -> prefixes
	apps      map[string]*Application      // custom applications
	appSets   map[string]*ApplicationSet   // custom sets
	appCache  map[string][]AppTerm         // name -> terms
	visiting  map[[2]string]bool           // sets being expanded, to stop at cycles
}

// NewIndex builds the index. It does not validate; Validate reports broken
// references, and the lookups below return errors for them.
func NewIndex(c *Config) *Index {
	x := &Index{
		cfg: c, zoneOf: map[string]string{}, bookOf: map[string]string{},
		books: map[string]*AddressBook{}, addrCache: map[[2]string][]netip.Prefix{},
		apps: map[string]*Application{}, appSets: map[string]*ApplicationSet{},
		appCache: map[string][]AppTerm{}, visiting: map[[2]string]bool{},
	}
	for _, z := range c.ZoneList() {
		for _, i := range z.Interfaces {
			if _, dup := x.zoneOf[i.Name]; !dup {
				x.zoneOf[i.Name] = z.Name
			}
		}
	}
	if c.Security != nil {
		for i := range c.Security.AddressBooks {
			b := &c.Security.AddressBooks[i]
			x.books[b.Name] = b
			if b.Attach == nil || len(b.Attach.Zones) == 0 {
				if b.Name == "global" || x.global == "" {
					x.global = b.Name
				}
				continue
			}
			for _, z := range b.Attach.Zones {
				if _, dup := x.bookOf[z]; !dup {
					x.bookOf[z] = b.Name
				}
			}
		}
	}
	if c.Applications != nil {
		for i := range c.Applications.Applications {
			a := &c.Applications.Applications[i]
			x.apps[a.Name] = a
		}
		for i := range c.Applications.ApplicationSets {
			s := &c.Applications.ApplicationSets[i]
			x.appSets[s.Name] = s
		}
	}
	return x
}

// ZoneOf returns the zone of a logical interface ("ge-0/0/1.0").
func (x *Index) ZoneOf(ifunit string) (string, bool) {
	z, ok := x.zoneOf[ifunit]
	return z, ok
}

// BookOf returns the address book attached to a zone, or the global one.
func (x *Index) BookOf(zone string) string {
	if b, ok := x.bookOf[zone]; ok {
		return b
	}
	return x.global
}

// IsAnyAddress reports whether name is a predefined address matching all.
func IsAnyAddress(name string) bool {
	return slices.Contains(PredefinedAddressNames(), name)
}

// Addresses expands an address or address-set name as seen from zone: its
// attached book first, then the global book. `any` yields 0.0.0.0/0 (and
// ::/0).
func (x *Index) Addresses(zone, name string) ([]netip.Prefix, error) {
	switch name {
	case "any":
		return []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}, nil
	case "any-ipv4":
		return []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, nil
	case "any-ipv6":
		return []netip.Prefix{netip.MustParsePrefix("::/0")}, nil
	}
	for _, book := range []string{x.bookOf[zone], x.global} {
		if book == "" {
			continue
		}
		if p, err := x.bookAddresses(book, name, 0); err == nil {
			return p, nil
		} else if err != errNotInBook {
			return nil, err
		}
	}
	return nil, fmt.Errorf("address %s is not defined in the address book of zone %s", name, zone)
}

var errNotInBook = errors.New("not in book")

func (x *Index) bookAddresses(book, name string, depth int) ([]netip.Prefix, error) {
	if p, ok := x.addrCache[[2]string{book, name}]; ok {
		return p, nil
	}
	key := [2]string{book, name}
	if x.visiting[key] || depth > 16 {
		return nil, fmt.Errorf("address-set %s contains itself", name)
	}
	x.visiting[key] = true
	defer delete(x.visiting, key)
	b := x.books[book]
	if b == nil {
		return nil, errNotInBook
	}
	var out []netip.Prefix
	if a := findByName(b.Addresses, func(a Address) string { return a.Name }, name); a != nil {
		p, err := netip.ParsePrefix(a.Prefix)
		if err != nil {
			return nil, fmt.Errorf("address %s: %w", name, err)
		}
		out = []netip.Prefix{p}
	} else if s := findByName(b.AddressSets, func(s AddressSet) string { return s.Name }, name); s != nil {
		for _, m := range slices.Concat(s.Addresses, s.AddressSets) {
			p, err := x.bookAddresses(book, m, depth+1)
			if err == errNotInBook {
				return nil, fmt.Errorf("address-set %s: member %s is not defined in address book %s", name, m, book)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
		}
	} else {
		return nil, errNotInBook
	}
	x.addrCache[[2]string{book, name}] = out
	return out, nil
}

// Application expands an application or application-set name into terms.
func (x *Index) Application(name string) ([]AppTerm, error) {
	return x.application(name, 0)
}

func (x *Index) application(name string, depth int) ([]AppTerm, error) {
	if t, ok := x.appCache[name]; ok {
		return t, nil
	}
	key := [2]string{"application", name}
	if x.visiting[key] || depth > 16 {
		return nil, fmt.Errorf("application-set %s contains itself", name)
	}
	x.visiting[key] = true
	defer delete(x.visiting, key)
	var out []AppTerm
	switch {
	case name == anyApplication:
		out = []AppTerm{{Any: true, ICMPType: -1, SrcHi: 65535, DstHi: 65535}}
	case x.apps[name] != nil:
		t, err := appTerm(*x.apps[name])
		if err != nil {
			return nil, err
		}
		out = []AppTerm{t}
	case x.appSets[name] != nil:
		s := x.appSets[name]
		for _, m := range slices.Concat(s.Applications, s.ApplicationSets) {
			t, err := x.application(m, depth+1)
			if err != nil {
				return nil, fmt.Errorf("application-set %s: %w", name, err)
			}
			out = append(out, t...)
		}
	default:
		a, ok := PredefinedApplication(name)
		if !ok {
			return nil, fmt.Errorf("application %s is not defined", name)
		}
		t, err := appTerm(a)
		if err != nil {
			return nil, err
		}
		out = []AppTerm{t}
	}
	x.appCache[name] = out
	return out, nil
}
