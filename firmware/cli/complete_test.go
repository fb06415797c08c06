package cli

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/palisade/palisade/firmware/config"
)

func newTestSession(configMode bool) *Session {
	f := newFake()
	s := &Session{Sys: f, Editor: NewEditor(f)}
	s.ops, s.cfg, s.pipes = s.opTree(), s.configTree(), newPipeTree()
	s.configMode = configMode
	return s
}

func names(cs []completion) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.name)
	}
	return out
}

func TestCompletions(t *testing.T) {
	for _, tt := range []struct {
		config bool
		line   string
		want   []string
	}{
		{false, "", []string{"clear", "configure", "exit", "monitor", "ping", "quit", "request", "show", "traceroute"}},
		{false, "s", []string{"show"}},
		{false, "show s", []string{"security", "system"}},
		{false, "sh sec ", []string{"flow", "ike", "ipsec", "policies", "zones"}},
		{false, "show security ike sa ", []string{"<[Enter]>", "brief", "detail", "index"}},
		{false, "show security ike sa index ", []string{"<index>"}},
		{false, "show security ike sa index 3 ", []string{"<[Enter]>", "brief", "detail"}},
		{false, "show security policies ", []string{"<[Enter]>", "hit-count"}},
		{false, "ping ", []string{"<host>", "count", "source"}},
		{false, "show route | ", []string{"compare", "count", "display", "except", "last", "match", "no-more"}},
		{false, "show configuration | display ", []string{"set"}},
		{false, "show configuration sec", []string{"security"}},
		{false, "configure ", []string{"<[Enter]>", "exclusive"}},
		{true, "", []string{"commit", "delete", "edit", "exit", "insert", "load", "quit", "rollback", "run", "set", "show", "top", "up"}},
		{true, "set ", []string{"applications", "interfaces", "routing-options", "security", "system"}},
		{true, "set sec", []string{"security"}},
		{true, "set security zones ", []string{"security-zone"}},
		{true, "set security zones security-zone ", []string{"<security-zone>"}},
		{true, "set security zones security-zone trust ", []string{"description", "host-inbound-traffic", "interfaces"}},
		{true, "set interfaces ", []string{"<interface>"}},
		{true, "set interfaces ge-0/0/0 ", []string{"description", "disable", "mtu", "unit"}},
		{true, "set security ike policy P mode ", []string{"main", "aggressive"}},
		{true, "set security ike policy P mode a", []string{"aggressive"}},
		{true, "set security policies from-zone trust ", []string{"to-zone"}},
		{true, "set security policies from-zone trust to-zone untrust policy P match source-address ", []string{"<source-address>", "[", "any", "any-ipv4", "any-ipv6"}},
		{true, "set security policies from-zone trust to-zone untrust policy P match application any", []string{"any"}},
		{true, "set security address-book B address A ", []string{"<ip-prefix>", "ip-prefix"}},
		{true, "load merge ", []string{"<filename>", "terminal"}},
		{true, "commit ", []string{"<[Enter]>", "and-quit", "check", "comment", "confirmed"}},
		{true, "run show sec", []string{"security"}},
		{true, "show ", []string{"<[Enter]>", "applications", "interfaces", "routing-options", "security", "system"}},
		{true, "set bogus ", nil},
	} {
		s := newTestSession(tt.config)
		cs, _ := s.complete(tt.line)
		got := names(cs)
		want := tt.want
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("complete(%q, config=%v) = %q, want %q", tt.line, tt.config, got, want)
		}
	}
}

func TestHelpText(t *testing.T) {
	s := newTestSession(false)
	cs, _ := s.complete("show security ")
	got := formatCompletions(cs)
	want := "Possible completions:\n" +
		"  flow                 Show flow information\n" +
		"  ike                  Show Internet Key Exchange information\n" +
		"  ipsec                Show IP Security information\n" +
		"  policies             Show security policies\n" +
		"  zones                Show security zones\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPrefixes(t *testing.T) {
	for _, tt := range []struct {
		line    string
		node    string
		flags   []string
		errText string
	}{
		{"sh sec ike sa", "security-associations", nil, ""},
		{"show security ike security-associations index 1859361 detail", "security-associations", []string{"detail", "index"}, ""},
		{"sh sec ipsec st", "statistics", nil, ""},
		{"sh sec pol hit", "policies", []string{"hit-count"}, ""},
		{"show sys up", "uptime", nil, ""},
		{"req sys conf res sa", "save", nil, ""},
		{"show s", "", nil, "'s' is ambiguous."},
		{"show foo", "", nil, "syntax error, expecting <command>."},
		{"ping 10.0.0.1 count", "", nil, "missing argument <count> after count."},
		{"ping 10.0.0.1 count x", "", nil, `invalid value "x" for count: expected <count>.`},
	} {
		s := newTestSession(false)
		l, err := ParseLine(tt.line)
		if err != nil {
			t.Fatal(err)
		}
		w, serr := s.ops.resolve(l.Words)
		if tt.errText != "" {
			if serr == nil || serr.msg != tt.errText {
				t.Errorf("%q: error %v, want %q", tt.line, serr, tt.errText)
			}
			continue
		}
		if serr != nil {
			t.Errorf("%q: %v", tt.line, serr)
			continue
		}
		if w.node.name != tt.node {
			t.Errorf("%q reached %q, want %q", tt.line, w.node.name, tt.node)
		}
		var flags []string
		for f := range w.args.flags {
			flags = append(flags, f)
		}
		if len(flags) != len(tt.flags) {
			t.Errorf("%q flags %v, want %v", tt.line, flags, tt.flags)
		}
	}
}

func TestConfigPathPrefixes(t *testing.T) {
	for _, tt := range []struct {
		line string
		want string
	}{
		{"sec zon security-zone trust int ge-0/0/0.0", "security zones security-zone trust interfaces ge-0/0/0.0"},
		{"sec pol from trust to untrust pol P th perm tun ipsec-vpn V", "security policies from-zone trust to-zone untrust policy P then permit tunnel ipsec-vpn V"},
		{"sec address-book B address A 10.0.0.0/8", "security address-book B address A 10.0.0.0/8"},
		{"sec ike pol P mode aggr", "security ike policy P mode aggressive"},
		{"sec pol from-zone a to-zone b policy P match source-address [ x y ]", "security policies from-zone a to-zone b policy P match source-address [ x y ]"},
		{"int ge-0/0/0 unit 0 fam inet add 10.0.0.1/24", "interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24"},
	} {
		l, err := ParseLine(tt.line)
		if err != nil {
			t.Fatal(err)
		}
		st, serr := walkPath(nil, l.Words)
		if serr != nil {
			t.Errorf("%q: %v", tt.line, serr)
			continue
		}
		if got := strings.Join(st.path, " "); got != tt.want {
			t.Errorf("%q expanded to %q, want %q", tt.line, got, tt.want)
		}
	}
	if _, serr := walkPath(nil, []Word{{Text: "s"}}); serr == nil || !strings.Contains(serr.msg, "ambiguous") {
		t.Errorf("'s' at the top: %v, want ambiguous (security, system)", serr)
	}
}

func TestInteractiveTabAndHelp(t *testing.T) {
	inW, out, wait := startSession(t, &Session{Sys: newFake(), Interactive: true})
	io.WriteString(inW, "sh\tsec\tike ?")
	waitFor(t, out, "security-associations Show IKE security associations")
	io.WriteString(inW, "sa\r")
	waitFor(t, out, "1859361 UP     0f33732903bd3ed7")
	io.WriteString(inW, "exit\r")
	if err := wait(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	inW.Close()
}

// srx1Session returns a session over the seed's SRX1 (active and, in
// configuration mode, candidate) with a custom application, an
// application-set and an address-set added, so that every kind of name has
// something to offer.
func srx1Session(t *testing.T, configMode bool) *Session {
	t.Helper()
	c := srx1(t)
	for _, line := range []string{
		"applications application my-app protocol tcp destination-port 8080",
		"applications application-set web application junos-http",
		"security address-book Host1 address-set Inside address Host1-Net",
	} {
		if err := c.Set(strings.Fields(line)); err != nil {
			t.Fatalf("set %s: %v", line, err)
		}
	}
	s := newTestSession(configMode)
	s.Sys.(*fakeSystem).active = c
	return s
}

func TestConfigNameCompletions(t *testing.T) {
	apps := append([]string{"<application>", "[", "my-app", "web"}, config.PredefinedApplicationNames()...)
	apps = append(apps, "any")
	for _, tt := range []struct {
		config bool
		level  [][]string
		line   string
		want   []string
	}{
		// Keys of existing entries, in configured order.
		{true, nil, "set security zones security-zone ", []string{"<security-zone>", "untrust", "trust"}},
		{true, nil, "set security zones security-zone t", []string{"trust"}},
		{true, nil, "delete security zones security-zone ", []string{"<security-zone>", "untrust", "trust"}},
		{true, nil, "show security zones security-zone ", []string{"<security-zone>", "untrust", "trust"}},
		{true, nil, "set interfaces ", []string{"<interface>", "ge-0/0/0", "ge-0/0/1"}},
		{true, nil, "set interfaces ge-0/0/1 unit ", []string{"<unit>", "0"}},
		{true, nil, "set security ike gateway ", []string{"<gateway>", "IKE-GW"}},
		{true, nil, "set security address-book ", []string{"<address-book>", "Host1", "Host2"}},
		{true, nil, "set security address-book Host1 address ", []string{"<address>", "Host1-Net"}},
		{true, nil, "set security policies from-zone trust to-zone untrust policy ", []string{"<policy>", "VPN-OUT", "default-permit"}},
		{true, nil, "set security policies from-zone untrust to-zone trust policy ", []string{"<policy>", "VPN-IN"}},
		// Existing entries first, then the zones the key refers to.
		{true, nil, "set security policies from-zone ", []string{"<from-zone>", "trust", "untrust"}},
		{true, nil, "set security policies from-zone trust to-zone ", []string{"<to-zone>", "untrust", "trust"}},
		{true, nil, "set security zones security-zone trust interfaces ", []string{"<interfaces>", "ge-0/0/0.0", "ge-0/0/1.0"}},
		// References.
		// Addresses come from the book the side's zone sees (Host1 is trust's, Host2 untrust's).
		{true, nil, "set security policies from-zone trust to-zone untrust policy P match source-address ",
			[]string{"<source-address>", "[", "Host1-Net", "Inside", "any", "any-ipv4", "any-ipv6"}},
		{true, nil, "set security policies from-zone trust to-zone untrust policy P match destination-address H",
			[]string{"Host2-Net"}},
		{true, nil, "set security policies from-zone trust to-zone untrust policy P match source-address [ Host1-Net ",
			[]string{"<source-address>", "]", "Host1-Net", "Inside", "any", "any-ipv4", "any-ipv6"}},
		{true, nil, "set security policies from-zone trust to-zone untrust policy P match application ", apps},
		{true, nil, "set security policies from-zone trust to-zone untrust policy P match application junos-h", []string{"junos-http", "junos-https"}},
		{true, nil, "set security policies global policy G match application w", []string{"web"}},
		{true, nil, "set security policies from-zone trust to-zone untrust policy P then permit tunnel ipsec-vpn ", []string{"<ipsec-vpn>", "VPN-to-Host2"}},
		{true, nil, "set security ike gateway IKE-GW ike-policy ", []string{"<ike-policy>", "IKE-POL"}},
		{true, nil, "set security ike gateway G2 external-interface ", []string{"<external-interface>", "ge-0/0/0.0", "ge-0/0/1.0"}},
		{true, nil, "set security ike policy P2 proposals ", []string{"<proposals>", "[", "standard"}},
		{true, nil, "set security ipsec vpn V2 ike gateway ", []string{"<gateway>", "IKE-GW"}},
		{true, nil, "set security ipsec vpn V2 ike ipsec-policy ", []string{"<ipsec-policy>", "IPSEC-POL"}},
		{true, nil, "set security ipsec policy P2 proposals ", []string{"<proposals>", "[", "standard"}},
		{true, nil, "set security address-book Host1 address-set S address ", []string{"<address>", "[", "Host1-Net"}},
		// The edit level counts: its keys select the entries.
		{true, [][]string{{"security"}, {"zones"}}, "set security-zone ", []string{"<security-zone>", "untrust", "trust"}},
		{true, [][]string{{"security"}, {"zones"}, {"security-zone", "trust"}}, "set interfaces ", []string{"<interfaces>", "ge-0/0/0.0", "ge-0/0/1.0"}},
		{true, [][]string{{"security"}, {"policies"}, {"from-zone", "untrust", "to-zone", "trust"}}, "set policy ", []string{"<policy>", "VPN-IN"}},
		{true, [][]string{{"security"}, {"policies"}, {"from-zone", "trust", "to-zone", "untrust"}, {"policy", "VPN-OUT"}},
			"set then permit tunnel ipsec-vpn ", []string{"<ipsec-vpn>", "VPN-to-Host2"}},
		// Operational mode reads the active configuration.
		{false, nil, "show configuration security zones security-zone ", []string{"<security-zone>", "untrust", "trust"}},
		{false, nil, "show configuration security zones security-zone u", []string{"untrust"}},
		{false, nil, "show configuration interfaces ", []string{"<[Enter]>", "<interface>", "ge-0/0/0", "ge-0/0/1"}},
		// Nothing where no names exist.
		{true, nil, "set security zones security-zone x", nil},
		{true, nil, "set security address-book Host2 address-set ", []string{"<address-set>"}},
		{true, nil, "set security address-book Host2 address-set S address-set ", []string{"<address-set>", "["}},
		{true, nil, "set system host-name ", []string{"<host-name>"}},
		{true, nil, "set security zones security-zone trust description ", []string{"<description>"}},
		{true, nil, "set routing-options static route 0.0.0.0/0 next-hop ", []string{"<next-hop>", "["}},
		{true, nil, "set security ike policy P2 mode ", []string{"main", "aggressive"}},
	} {
		s := srx1Session(t, tt.config)
		s.level = tt.level
		cs, _ := s.complete(tt.line)
		got := names(cs)
		want := tt.want
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("complete(%q, config=%v, level %q) = %q, want %q", tt.line, tt.config, tt.level, got, want)
		}
	}
}

// The candidate is what configuration mode completes from; operational
// `show configuration` and `run show configuration` see the active one.
func TestNameCompletionsCandidateAndActive(t *testing.T) {
	s := srx1Session(t, true)
	if err := s.Editor.change(s, func(c *config.Config) error {
		return c.Set([]string{"security", "zones", "security-zone", "dmz"})
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		line string
		want []string
	}{
		{"set security zones security-zone ", []string{"<security-zone>", "untrust", "trust", "dmz"}},
		{"set security policies from-zone trust to-zone ", []string{"<to-zone>", "untrust", "trust", "dmz"}},
		{"run show configuration security zones security-zone ", []string{"<security-zone>", "untrust", "trust"}},
	} {
		cs, _ := s.complete(tt.line)
		if got := names(cs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("complete(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestNameHelpText(t *testing.T) {
	s := srx1Session(t, true)
	cs, _ := s.complete("set security zones security-zone ")
	got := formatCompletions(cs)
	want := "Possible completions:\n" +
		"  <security-zone>      Security zones\n" +
		"  untrust\n" +
		"  trust\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestTabCompletesNames(t *testing.T) {
	const pol = "set security policies from-zone trust to-zone untrust policy P "
	for _, tt := range []struct {
		config bool
		line   string
		want   string // "" when Tab does nothing
	}{
		{true, "set security zones security-zone tr", "set security zones security-zone trust "},
		{true, "set security policies from-zone u", "set security policies from-zone untrust "},
		// Names with '/' and '.' complete like any other.
		{true, "set security zones security-zone trust interfaces ge", "set security zones security-zone trust interfaces ge-0/0/"},
		{true, "set security zones security-zone trust interfaces ge-0/0/1", "set security zones security-zone trust interfaces ge-0/0/1.0 "},
		{true, "set security ike gateway IKE-GW external-interface ge-0/0/0", "set security ike gateway IKE-GW external-interface ge-0/0/0.0 "},
		{true, "set interfaces ge-0/0/1 u", "set interfaces ge-0/0/1 unit "},
		{true, "set interfaces ge-0/0/1", "set interfaces ge-0/0/1 "},
		{true, pol + "match application my", pol + "match application my-app "},
		{true, pol + "match source-address In", pol + "match source-address Inside "},
		{true, pol + "match source-address any-", pol + "match source-address any-ipv"},
		{true, pol + "then permit tunnel ipsec-vpn V", pol + "then permit tunnel ipsec-vpn VPN-to-Host2 "},
		{true, "set security ipsec vpn V2 ike gateway I", "set security ipsec vpn V2 ike gateway IKE-GW "},
		{false, "show configuration security zones security-zone un", "show configuration security zones security-zone untrust "},
		{true, "set system host-name S", ""},
		{true, "set security zones security-zone x", ""},
	} {
		s := srx1Session(t, tt.config)
		got, pos, ok := s.autoComplete(tt.line, len(tt.line), '\t')
		if tt.want == "" {
			if ok {
				t.Errorf("Tab on %q gave %q, want nothing", tt.line, got)
			}
			continue
		}
		if !ok || got != tt.want || pos != len(tt.want) {
			t.Errorf("Tab on %q = %q, %d, %v; want %q, %d", tt.line, got, pos, ok, tt.want, len(tt.want))
		}
	}
}

// TestInteractiveNames drives the line editor: `edit`, then `?` and Tab on
// names under the edit level, and the completed line is a valid command.
func TestInteractiveNames(t *testing.T) {
	f := newFake()
	f.active = srx1(t)
	inW, out, wait := startSession(t, &Session{Sys: f, Interactive: true})
	defer inW.Close()
	io.WriteString(inW, "configure\redit security zones\rset security-zone ?")
	waitFor(t, out, "<security-zone>      Security zones\r\n  untrust\r\n  trust\r\n")
	io.WriteString(inW, "t\tinterfaces ge\t")
	waitFor(t, out, "set security-zone trust interfaces ge-0/0/")
	// ge-0/0/ is all the two units share: a second Tab lists them.
	io.WriteString(inW, "\t")
	waitFor(t, out, "Possible completions:\r\n  ge-0/0/0.0\r\n  ge-0/0/1.0\r\n")
	io.WriteString(inW, "1\t\rshow security-zone trust\r")
	waitFor(t, out, "interfaces ge-0/0/1.0;")
	io.WriteString(inW, "top\rexit\ryes\rexit\r")
	if err := wait(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "syntax error") || strings.Contains(out.String(), "error:") {
		t.Errorf("a completed line failed:\n%s", out.String())
	}
}
