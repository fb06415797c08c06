package config

import (
	"strings"
	"testing"
)

// base is a small valid configuration the error cases extend.
const base = `set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24
set interfaces ge-0/0/1 unit 0 family inet address 192.0.2.1/24
set security zones security-zone trust interfaces ge-0/0/0.0
set security zones security-zone untrust interfaces ge-0/0/1.0
set security zones security-zone untrust host-inbound-traffic system-services ike
set security address-book global address lan 10.0.0.0/24
`

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown top", "set bogus x\n",
			`t.set:1: set bogus x: unsupported statement "bogus"; expected one of: system, interfaces, routing-options, security, applications`},
		{"unknown nested", "set security zones bogus\n",
			`t.set:1: set security zones bogus: unsupported statement "bogus" under zones; expected one of: security-zone`},
		{"bad interface name", "set interfaces eth0 unit 0\n",
			`t.set:1: set interfaces eth0 unit 0: invalid interface name "eth0": expected ge-FPC/PIC/PORT such as ge-0/0/0`},
		{"bad prefix", "set security address-book global address a 10.0.0.300/24\n",
			`t.set:1: set security address-book global address a 10.0.0.300/24: invalid prefix "10.0.0.300/24" for ip-prefix: expected A.B.C.D/LEN`},
		{"network address on interface", "set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.0/24\n",
			`t.set:1: set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.0/24: invalid address "10.0.0.0/24" for address: it is the subnet's network address`},
		{"range", "set security flow tcp-mss ipsec-vpn mss 70000\n",
			`t.set:1: set security flow tcp-mss ipsec-vpn mss 70000: invalid value "70000" for mss: expected a number in 64..65535`},
		{"enum", "set security ike policy p mode quick\n",
			`t.set:1: set security ike policy p mode quick: invalid value "quick" for mode; valid values: main, aggressive`},
		{"missing value", "set system host-name\n",
			`t.set:1: set system host-name: host-name needs a value`},
		{"port range", "set applications application a destination-port 90-80\n",
			`t.set:1: set applications application a destination-port 90-80: invalid port range "90-80" for destination-port: expected PORT or LOW-HIGH in 0..65535`},
		{"delete missing", "delete security zones\n",
			`t.set:1: delete security zones: statement not found`},
		{"unterminated quote", "set system host-name \"x\n",
			`t.set: line 1: unterminated quoted string`},
		{"brace unbalanced", "system {\n host-name a;\n",
			`t.set: missing } to close "system"`},
		{"brace missing semicolon", "system {\n host-name a\n}\n",
			`t.set:3: missing ; after "host-name a"`},
		{"unsupported verb", "activate system\n",
			`t.set:1: activate system: activate is not supported; use set, delete or insert`},
		{"insert unordered", base + "insert security zones security-zone trust before security-zone untrust\n",
			`t.set:7: insert security zones security-zone trust before security-zone untrust: security-zone entries have no order to change`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("t.set", tc.text)
			if err == nil {
				t.Fatalf("got no error, want %s", tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestValidationErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"zone interface not configured", "set security zones security-zone dmz interfaces ge-0/0/5.0\n",
			"t.set:7: set security zones security-zone dmz interfaces ge-0/0/5.0: interface ge-0/0/5.0 is not configured (set interfaces ge-0/0/5 unit 0 ...)"},
		{"interface in two zones", "set security zones security-zone dmz interfaces ge-0/0/0.0\n",
			"t.set:7: set security zones security-zone dmz interfaces ge-0/0/0.0: interface ge-0/0/0.0 is already in zone trust"},
		{"unknown host service", "set security zones security-zone trust host-inbound-traffic system-services gopher\n",
			"t.set:7: set security zones security-zone trust host-inbound-traffic system-services gopher: unknown system service gopher; valid: all, any-service, dhcp, dns, http, https, ike, netconf, ntp, ping, snmp, ssh, telnet, traceroute"},
		{"address not in book", "set security policies from-zone trust to-zone untrust policy p match source-address nope destination-address any application any\nset security policies from-zone trust to-zone untrust policy p then permit\n",
			"t.set:7: set security policies from-zone trust to-zone untrust policy p match source-address nope: address nope is not defined in the address book of zone trust"},
		{"unknown application", "set security policies from-zone trust to-zone untrust policy p match source-address any destination-address any application web\nset security policies from-zone trust to-zone untrust policy p then permit\n",
			"t.set:7: set security policies from-zone trust to-zone untrust policy p match application web: application web is not defined"},
		{"policy without action", "set security policies from-zone trust to-zone untrust policy p match source-address any destination-address any application any\n",
			"t.set:7: set security policies from-zone trust to-zone untrust policy p: policy p needs an action: then permit, deny or reject"},
		{"unknown zone in pair", "set security policies from-zone trust to-zone dmz policy p match source-address any destination-address any application any\nset security policies from-zone trust to-zone dmz policy p then deny\n",
			"t.set:7: set security policies from-zone trust to-zone dmz: zone dmz is not defined"},
		{"duplicate policy name", "set security policies from-zone trust to-zone untrust policy p match source-address any destination-address any application any\nset security policies from-zone trust to-zone untrust policy p then deny\nset security policies from-zone untrust to-zone trust policy p match source-address any destination-address any application any\nset security policies from-zone untrust to-zone trust policy p then deny\n",
			"t.set:9: set security policies from-zone untrust to-zone trust policy p: policy name p is already used in from-zone trust to-zone untrust policy p"},
		{"tunnel to undefined vpn", "set security policies from-zone trust to-zone untrust policy p match source-address any destination-address any application any\nset security policies from-zone trust to-zone untrust policy p then permit tunnel ipsec-vpn v\n",
			"t.set:8: set security policies from-zone trust to-zone untrust policy p then permit tunnel ipsec-vpn v: ipsec vpn v is not defined"},
		{"vpn to undefined gateway", "set security ipsec policy ip proposal-set standard\nset security ipsec vpn v ike gateway gw\nset security ipsec vpn v ike ipsec-policy ip\n",
			"t.set:8: set security ipsec vpn v ike gateway gw: ike gateway gw is not defined"},
		{"gateway to undefined ike policy", "set security ike gateway gw ike-policy nope\nset security ike gateway gw address 192.0.2.2\nset security ike gateway gw external-interface ge-0/0/1\n",
			"t.set:7: set security ike gateway gw ike-policy nope: ike policy nope is not defined"},
		{"ike policy to undefined proposal", "set security ike policy ip proposals nope\nset security ike policy ip pre-shared-key ascii-text k\n",
			"t.set:7: set security ike policy ip: ike proposal nope is not defined"},
		{"ike policy without key", "set security ike policy ip proposal-set standard\n",
			"t.set:7: set security ike policy ip: ike policy ip needs a pre-shared-key (only pre-shared-keys authentication is implemented)"},
		{"unimplemented proposal set", "set security ike policy ip proposal-set basic\nset security ike policy ip pre-shared-key ascii-text k\n",
			"t.set:7: set security ike policy ip: proposal-set basic is not implemented (it needs DES, MD5 or certificates); use proposal-set standard or named proposals"},
		{"gcm with auth", "set security ipsec proposal p encryption-algorithm aes-128-gcm\nset security ipsec proposal p authentication-algorithm hmac-sha1-96\n",
			"t.set:8: set security ipsec proposal p authentication-algorithm hmac-sha1-96: aes-128-gcm provides its own integrity; remove authentication-algorithm"},
		{"route without next hop", "set routing-options static route 10.9.0.0/16 preference 7\n",
			"t.set:7: set routing-options static route 10.9.0.0/16: a static route needs next-hop or discard"},
		{"duplicate address", "set interfaces ge-0/0/2 unit 0 family inet address 10.0.0.1/24\n",
			"t.set:7: set interfaces ge-0/0/2 unit 0 family inet address 10.0.0.1/24: address 10.0.0.1 is already configured on ge-0/0/0.0"},
		{"unattached book", "set security address-book lab address x 10.1.0.0/16\n",
			"t.set:7: set security address-book lab: address book lab is not attached to a zone; only the book named global may stand alone (set security address-book lab attach zone ZONE)"},
		{"address-set member", "set security address-book global address-set s address nope\n",
			"t.set:7: set security address-book global address-set s: address-set s: member nope is not defined in address book global"},
		{"address-set cycle", "set security address-book global address-set s address lan\nset security address-book global address-set s address-set s\n",
			"t.set:7: set security address-book global address-set s: address-set s contains itself"},
		{"app without protocol", "set applications application a destination-port 80\n",
			"t.set:7: set applications application a: application a needs a protocol"},
		{"predefined app name", "set applications application junos-http protocol tcp\n",
			"t.set:7: set applications application junos-http: junos-http is a predefined application name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, src, err := Parse("t.set", base+tc.text)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			ps := Errors(c.Validate())
			src.Locate(ps)
			var got []string
			for _, p := range ps {
				got = append(got, p.Error())
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("got  %s\nwant %s", strings.Join(got, "\n     "), tc.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	text := base + `set security ike proposal p authentication-method pre-shared-keys
set security ike policy ip proposals p
set security ike policy ip pre-shared-key ascii-text k
set security ike gateway gw ike-policy ip
set security ike gateway gw address 192.0.2.2
set security ike gateway gw external-interface ge-0/0/0
set security ipsec policy pp proposal-set standard
set security ipsec vpn v ike gateway gw
set security ipsec vpn v ike ipsec-policy pp
set security policies from-zone trust to-zone untrust policy out match source-address lan destination-address any application any
set security policies from-zone trust to-zone untrust policy out then permit tunnel ipsec-vpn v
`
	c, src, err := Parse("t.set", text)
	if err != nil {
		t.Fatal(err)
	}
	ps := c.Validate()
	src.Locate(ps)
	want := []string{
		"t.set:12: warning: set security ike gateway gw external-interface ge-0/0/0: zone trust of interface ge-0/0/0.0 does not allow host-inbound-traffic system-services ike; IKE from the peer will be dropped",
		"t.set:16: warning: set security policies from-zone trust to-zone untrust policy out: tunnel policy out has no reverse: no policy from-zone untrust to-zone trust permits tunnel ipsec-vpn v",
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCBORStrictness(t *testing.T) {
	c := mustParse(t, "base", base)
	good, err := c.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"unknown field", mustCBOR(t, map[string]any{"schema": 1, "configuration": map[string]any{"system": map[string]any{"bogus": "x"}}}),
			`decoding configuration: system: unknown statement "bogus"`},
		{"wrong type", mustCBOR(t, map[string]any{"schema": 1, "configuration": map[string]any{"system": map[string]any{"host-name": 7}}}),
			`decoding configuration: system host-name: want text, got uint64`},
		{"bad value deep", mustCBOR(t, map[string]any{"schema": 1, "configuration": map[string]any{"interfaces": map[string]any{"interface": []any{map[string]any{"interface": "eth0"}}}}}),
			`decoding configuration: interfaces interface[0] interface: invalid interface name "eth0": expected ge-FPC/PIC/PORT such as ge-0/0/0`},
		{"newer schema", mustCBOR(t, map[string]any{"schema": 9, "configuration": map[string]any{}}),
			`decoding configuration: schema version 9 is newer than this firmware's 1; upgrade the firmware to read it`},
		{"truncated", good[:len(good)-3], "decoding configuration: unexpected EOF"},
		{"not canonical", []byte("\xa2\x66schema\x18\x01\x6dconfiguration\xa0"),
			"decoding configuration: not in canonical form (a duplicate, an empty entry, or a non-deterministic encoding)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCBOR(tc.data)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

func mustCBOR(t *testing.T, v any) []byte {
	t.Helper()
	em, err := encMode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := em.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
