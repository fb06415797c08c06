package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// schemaValue finds the leaf, leaf-list or list key a reference path names.
func schemaValue(path string) (*Node, error) {
	words := strings.Fields(path)
	n := Schema()
	for i, w := range words {
		last := i == len(words)-1
		if c := n.Child(w); c != nil {
			n = c
			continue
		}
		if n.Kind == List && last {
			for _, k := range n.Keys[1:] {
				if k.Name == w {
					return k, nil
				}
			}
		}
		return nil, fmt.Errorf("%q: no statement %s under %s", path, w, n.Name)
	}
	switch n.Kind {
	case List:
		return n.Keys[0], nil
	case Leaf, LeafList:
		return n, nil
	}
	return nil, fmt.Errorf("%q is a %v, not a value", path, n.Kind)
}

func TestReferencePathsNameSchemaValues(t *testing.T) {
	for _, p := range ReferencePaths() {
		n, err := schemaValue(p)
		if err != nil {
			t.Error(err)
			continue
		}
		// A reference is a name, never an address or a number.
		switch n.Type {
		case "name", "ifunit", "iface":
		default:
			t.Errorf("%q has value type %q, want name, ifunit or iface", p, n.Type)
		}
	}
}

func TestReferencedNames(t *testing.T) {
	c := mustParse(t, "srx1.set", readSeed(t, "srx1.set"))
	for _, line := range []string{
		"applications application my-app protocol tcp",
		"applications application-set web application junos-http",
		"security address-book Host1 address-set Inside address Host1-Net",
		"security address-book Host2 address Other 10.9.0.0/16",
	} {
		if err := c.Set(strings.Fields(line)); err != nil {
			t.Fatalf("set %s: %v", line, err)
		}
	}
	apps := append([]string{"my-app", "web"}, PredefinedApplicationNames()...)
	for _, tt := range []struct {
		path string
		keys []string
		want []string
	}{
		{"security policies from-zone", nil, []string{"untrust", "trust"}},
		{"security policies from-zone to-zone", []string{"trust"}, []string{"untrust", "trust"}},
		{"security policies global policy match to-zone", nil, []string{"untrust", "trust", "any"}},
		{"security zones security-zone interfaces", []string{"trust"}, []string{"ge-0/0/0.0", "ge-0/0/1.0"}},
		// Each side sees its zone's book (Host1 is attached to trust, Host2 to untrust).
		{"security policies from-zone policy match source-address", []string{"trust", "untrust", "P"},
			[]string{"Host1-Net", "Inside", "any", "any-ipv4", "any-ipv6"}},
		{"security policies from-zone policy match destination-address", []string{"trust", "untrust", "P"},
			[]string{"Host2-Net", "Other", "any", "any-ipv4", "any-ipv6"}},
		// A global policy sees the global book only; the seed has none.
		{"security policies global policy match source-address", []string{"P"}, []string{"any", "any-ipv4", "any-ipv6"}},
		{"security policies from-zone policy match application", nil, append(apps, "any")},
		{"security policies from-zone policy then permit tunnel ipsec-vpn", nil, []string{"VPN-to-Host2"}},
		// Commit refuses a tunnel in a global policy: nothing to offer.
		{"security policies global policy then permit tunnel ipsec-vpn", nil, nil},
		{"security ike gateway ike-policy", []string{"G"}, []string{"IKE-POL"}},
		{"security ike gateway external-interface", []string{"G"}, []string{"ge-0/0/0.0", "ge-0/0/1.0"}},
		{"security ike policy proposals", []string{"P"}, []string{"standard"}},
		{"security ipsec policy proposals", []string{"P"}, []string{"standard"}},
		{"security ipsec vpn ike gateway", []string{"V"}, []string{"IKE-GW"}},
		{"security ipsec vpn ike ipsec-policy", []string{"V"}, []string{"IPSEC-POL"}},
		{"security address-book address-set address", []string{"Host2", "S"}, []string{"Host2-Net", "Other"}},
		{"security address-book address-set address-set", []string{"Host1", "S"}, []string{"Inside"}},
		{"security address-book address-set address", []string{"Nowhere", "S"}, nil},
		{"applications application-set application-set", []string{"S"}, []string{"web"}},
		// Values that name nothing.
		{"system host-name", nil, nil},
		{"security zones security-zone", nil, nil},
	} {
		got := c.ReferencedNames(strings.Fields(tt.path), tt.keys)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ReferencedNames(%q, %q) = %q, want %q", tt.path, tt.keys, got, tt.want)
		}
	}
	if got := (&Config{}).ReferencedNames([]string{"security", "ike", "gateway", "ike-policy"}, nil); got != nil {
		t.Errorf("empty configuration offers %q, want nothing", got)
	}
}

func TestReferencedNamesDeduplicates(t *testing.T) {
	c := &Config{}
	// The same address name in the zone's book and the global one is one
	// choice, and so is a defined name that is also predefined.
	for _, line := range []string{
		"security address-book global address X 10.0.0.0/8",
		"security address-book B address X 10.0.0.0/8",
		"security address-book B address any-ipv4 10.0.0.0/8",
		"security address-book B attach zone Z",
	} {
		if err := c.Set(strings.Fields(line)); err != nil {
			t.Fatalf("set %s: %v", line, err)
		}
	}
	got := c.ReferencedNames(strings.Fields("security policies from-zone policy match destination-address"), []string{"Y", "Z", "P"})
	want := []string{"X", "any-ipv4", "any", "any-ipv6"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The predefined address names offered are the ones resolution accepts.
func TestPredefinedAddressNamesResolve(t *testing.T) {
	x := NewIndex(&Config{})
	for _, n := range PredefinedAddressNames() {
		if p, err := x.Addresses("trust", n); err != nil || len(p) == 0 {
			t.Errorf("%s: %v, %v; want it to resolve without any address book", n, p, err)
		}
	}
}
