package config

import (
	"slices"
	"strings"
)

// The CLI offers, for `?` and Tab, the names a statement may refer to: the
// zones after from-zone, the interface units of a zone, the IKE policies of a
// gateway. The table below says which statements name what, by schema path.
// Validation (validate.go, policies.go) checks the same references one
// statement at a time; the names predefined for everyone (any, junos-*) come
// from the lists resolution uses (PredefinedApplicationNames; the addresses
// of PredefinedAddressNames are tested to resolve), so a completion does not
// offer a name that a commit would reject, nor leave out one it accepts.

// PredefinedAddressNames lists the address names every address book knows
// without defining them.
func PredefinedAddressNames() []string { return []string{"any", "any-ipv4", "any-ipv6"} }

// anyApplication is the application that matches everything; Index
// resolves it before the predefined junos-* ones.
const anyApplication = "any"

// anyZone is accepted by global policies' match from-zone and to-zone.
const anyZone = "any"

type reference struct {
	// path is the schema path of the value: the keywords from the root
	// through lists (without their keys) to the leaf or leaf-list. A list's
	// first key is named by the list's path, a later key by the list's path
	// and the key's keyword.
	path string
	// names lists the names in configured order. keys are the key values
	// of the list entries on the way, outermost first.
	names func(c *Config, keys []string) []string
}

func references() []reference {
	zones := func(c *Config, _ []string) []string {
		var out []string
		for _, z := range c.ZoneList() {
			out = append(out, z.Name)
		}
		return out
	}
	zonesOrAny := func(c *Config, keys []string) []string { return append(zones(c, keys), anyZone) }
	units := func(c *Config, _ []string) []string { return c.unitNames() }
	apps := func(c *Config, _ []string) []string {
		out := append(c.applicationNames(), c.applicationSetNames()...)
		out = append(out, PredefinedApplicationNames()...)
		return append(out, anyApplication)
	}
	appSets := func(c *Config, _ []string) []string { return c.applicationSetNames() }
	vpns := func(c *Config, _ []string) []string {
		return listNames(c.ipsec().VPNs, func(v IPsecVPN) string { return v.Name })
	}
	// The members of an address set come from the set's own book.
	bookAddrs := func(c *Config, keys []string) []string {
		b := c.addressBook(keys)
		if b == nil {
			return nil
		}
		return listNames(b.Addresses, func(a Address) string { return a.Name })
	}
	bookSets := func(c *Config, keys []string) []string {
		b := c.addressBook(keys)
		if b == nil {
			return nil
		}
		return listNames(b.AddressSets, func(s AddressSet) string { return s.Name })
	}
	refs := []reference{
		{"security zones security-zone interfaces", units},
		{"security address-book attach zone", zones},
		{"security address-book address-set address", bookAddrs},
		{"security address-book address-set address-set", bookSets},
		{"security ike policy proposals", func(c *Config, _ []string) []string {
			return listNames(c.ike().Proposals, func(p IKEProposal) string { return p.Name })
		}},
		{"security ike gateway ike-policy", func(c *Config, _ []string) []string {
			return listNames(c.ike().Policies, func(p IKEPolicy) string { return p.Name })
		}},
		{"security ike gateway external-interface", units},
		{"security ipsec policy proposals", func(c *Config, _ []string) []string {
			return listNames(c.ipsec().Proposals, func(p IPsecProposal) string { return p.Name })
		}},
		{"security ipsec vpn ike gateway", func(c *Config, _ []string) []string {
			return listNames(c.ike().Gateways, func(g IKEGateway) string { return g.Name })
		}},
		{"security ipsec vpn ike ipsec-policy", func(c *Config, _ []string) []string {
			return listNames(c.ipsec().Policies, func(p IPsecPolicy) string { return p.Name })
		}},
		{"security policies from-zone", zones},
		{"security policies from-zone to-zone", zones},
		{"security policies global policy match from-zone", zonesOrAny},
		{"security policies global policy match to-zone", zonesOrAny},
		{"applications application-set application", apps},
		{"applications application-set application-set", appSets},
	}
	// A zone-pair policy's addresses come from the books its zone sees, as
	// commit resolves them: source-address from the from-zone's (keys[0]),
	// destination-address from the to-zone's (keys[1]). A global policy sees
	// the global book only.
	seenFrom := func(zoneKey int) func(c *Config, keys []string) []string {
		return func(c *Config, keys []string) []string {
			zone := ""
			if zoneKey >= 0 && zoneKey < len(keys) {
				zone = keys[zoneKey]
			}
			x := NewIndex(c)
			var out []string
			for _, name := range []string{x.bookOf[zone], x.global} {
				if b := findByName(c.addressBooks(), func(b AddressBook) string { return b.Name }, name); name != "" && b != nil {
					out = append(out, bookNames(*b)...)
				}
			}
			return append(out, PredefinedAddressNames()...)
		}
	}
	for _, p := range []struct {
		ctx      string
		src, dst int
	}{{"security policies from-zone policy", 0, 1}, {"security policies global policy", -1, -1}} {
		ctx := p.ctx
		refs = append(refs,
			reference{ctx + " match source-address", seenFrom(p.src)},
			reference{ctx + " match destination-address", seenFrom(p.dst)},
			reference{ctx + " match application", apps},
		)
	}
	// Only a zone-pair policy may tunnel: commit refuses a tunnel in a
	// global policy (policies.go), so none is offered there.
	return append(refs, reference{"security policies from-zone policy then permit tunnel ipsec-vpn", vpns})
}

// ReferencedNames returns the names that the value at a schema path may
// refer to, configured ones in configured order, then the predefined ones,
// without duplicates. path is as in the table above (for example
// "security ike gateway ike-policy" split into words); keys are the key
// values of the list entries along it, outermost first. It returns nil when
// the value there names no other object.
func (c *Config) ReferencedNames(path, keys []string) []string {
	p := strings.Join(path, " ")
	for _, r := range references() {
		if r.path == p {
			return dedup(r.names(c, keys))
		}
	}
	return nil
}

// ReferencePaths lists the schema paths of every value that names another
// object, for tests that hold the table to the schema.
func ReferencePaths() []string {
	var out []string
	for _, r := range references() {
		out = append(out, r.path)
	}
	return out
}

func listNames[T any](list []T, name func(T) string) []string {
	var out []string
	for _, e := range list {
		out = append(out, name(e))
	}
	return out
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	return slices.DeleteFunc(s, func(n string) bool {
		dup := seen[n]
		seen[n] = true
		return dup
	})
}

// unitNames lists the configured logical interfaces as "ge-0/0/0.0".
func (c *Config) unitNames() []string {
	var out []string
	for _, i := range c.InterfaceList() {
		for _, u := range i.Units {
			out = append(out, i.Name+"."+u.Number)
		}
	}
	return out
}

func (c *Config) addressBooks() []AddressBook {
	if c.Security == nil {
		return nil
	}
	return c.Security.AddressBooks
}

// addressBook returns the book keys[0] names, or nil.
func (c *Config) addressBook(keys []string) *AddressBook {
	if len(keys) == 0 {
		return nil
	}
	return findByName(c.addressBooks(), func(b AddressBook) string { return b.Name }, keys[0])
}

func bookNames(b AddressBook) []string {
	return append(listNames(b.Addresses, func(a Address) string { return a.Name }),
		listNames(b.AddressSets, func(s AddressSet) string { return s.Name })...)
}

func (c *Config) applicationNames() []string {
	if c.Applications == nil {
		return nil
	}
	return listNames(c.Applications.Applications, func(a Application) string { return a.Name })
}

func (c *Config) applicationSetNames() []string {
	if c.Applications == nil {
		return nil
	}
	return listNames(c.Applications.ApplicationSets, func(s ApplicationSet) string { return s.Name })
}
