package cli

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
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
		{false, "", []string{"clear", "configure", "exit", "monitor", "ping", "quit", "request", "show"}},
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
		{true, "set security policies from-zone trust to-zone untrust policy P match source-address ", []string{"<source-address>", "["}},
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
	f := newFake()
	inR, inW := io.Pipe()
	out := &syncBuffer{}
	s := &Session{In: inR, Out: out, Sys: f, Interactive: true}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	io.WriteString(inW, "sh\tsec\tike ?")
	waitFor(t, out, "security-associations Show IKE security associations")
	io.WriteString(inW, "sa\r")
	waitFor(t, out, "1859361 UP     0f33732903bd3ed7")
	io.WriteString(inW, "exit\r")
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("session did not exit")
	}
	inW.Close()
}
