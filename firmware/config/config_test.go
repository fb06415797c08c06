package config

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func readSeed(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// statements returns the non-comment lines of a set file, normalized
// through the lexer so that quoting differences do not matter.
func statements(t *testing.T, text string) []string {
	t.Helper()
	toks, err := lex(text)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := setStatements(toks)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range sts {
		out = append(out, s.String())
	}
	slices.Sort(out)
	return out
}

func mustParse(t testing.TB, name, text string) *Config {
	t.Helper()
	c, _, err := Parse(name, text)
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return c
}

func TestSeedValidatesWithoutWarnings(t *testing.T) {
	for _, name := range []string{"srx1.set", "srx2.set"} {
		c := mustParse(t, name, readSeed(t, name))
		if ps := c.Validate(); len(ps) != 0 {
			t.Errorf("%s: got problems %v, want none", name, ps)
		}
	}
}

func TestSeedRoundTrips(t *testing.T) {
	all := RenderOptions{Secrets: true}
	for _, name := range []string{"srx1.set", "srx2.set"} {
		text := readSeed(t, name)
		c := mustParse(t, name, text)

		if got, want := statements(t, c.SetText(all)), statements(t, text); !slices.Equal(got, want) {
			t.Errorf("%s: set -> set\ngot  %q\nwant %q", name, got, want)
		}

		b, err := c.MarshalCBOR()
		if err != nil {
			t.Fatal(err)
		}
		d, err := DecodeCBOR(b)
		if err != nil {
			t.Fatalf("%s: decoding our own CBOR: %v", name, err)
		}
		if got, want := d.SetText(all), c.SetText(all); got != want {
			t.Errorf("%s: set -> CBOR -> set\ngot  %s\nwant %s", name, got, want)
		}

		brace := c.Text(all)
		e := mustParse(t, name+" (brace)", brace)
		if got, want := e.SetText(all), c.SetText(all); got != want {
			t.Errorf("%s: set -> brace -> set\ngot  %s\nwant %s", name, got, want)
		}
	}
}

func TestReorderedSeedWarnsNamingBothPolicies(t *testing.T) {
	text := readSeed(t, "srx1.set") +
		"insert security policies from-zone trust to-zone untrust policy default-permit before policy VPN-OUT\n"
	c, src, err := Parse("srx1-reordered.set", text)
	if err != nil {
		t.Fatal(err)
	}
	ps := c.Validate()
	src.Locate(ps)
	if len(Errors(ps)) != 0 {
		t.Fatalf("got errors %v", Errors(ps))
	}
	want := "srx1-reordered.set:28: warning: set security policies from-zone trust to-zone untrust policy VPN-OUT: " +
		"policy VPN-OUT can never match: policy default-permit above it in from-zone trust to-zone untrust matches all its traffic"
	if len(ps) != 1 || ps[0].Error() != want {
		t.Fatalf("got %v\nwant [%s]", ps, want)
	}
}

func TestSecretsAreMasked(t *testing.T) {
	c := mustParse(t, "srx1.set", readSeed(t, "srx1.set"))
	for name, out := range map[string]string{
		"set":   c.SetText(RenderOptions{}),
		"brace": c.Text(RenderOptions{}),
	} {
		if strings.Contains(out, "ABC123") {
			t.Errorf("%s display shows the pre-shared key", name)
		}
		if !strings.Contains(out, Mask) {
			t.Errorf("%s display has no mask", name)
		}
	}
	if !strings.Contains(c.SetText(RenderOptions{Secrets: true}), `"$ABC123"`) {
		t.Error("secrets display lost the key")
	}
	// A masked display read back must not replace the key.
	_, _, err := Parse("x", c.SetText(RenderOptions{}))
	if err == nil || !strings.Contains(err.Error(), "secret is masked") {
		t.Errorf("reading a masked display: got %v, want a masked-secret error", err)
	}
}

func TestEditOperations(t *testing.T) {
	c := mustParse(t, "srx1.set", readSeed(t, "srx1.set"))
	steps := []struct {
		verb  string
		words string
	}{
		{"delete", "security policies from-zone trust to-zone untrust policy default-permit"},
		{"set", "security policies from-zone trust to-zone untrust policy deny-ssh match source-address any destination-address any"},
		{"set", "security policies from-zone trust to-zone untrust policy deny-ssh match destination-address any"},
		{"set", "security policies from-zone trust to-zone untrust policy deny-ssh match application junos-ssh"},
		{"set", "security policies from-zone trust to-zone untrust policy deny-ssh then deny"},
		{"set", "security policies from-zone trust to-zone untrust policy deny-ssh then reject"},
		{"insert", "security policies from-zone trust to-zone untrust policy deny-ssh before policy VPN-OUT"},
	}
	for _, s := range steps {
		var err error
		w := strings.Fields(s.words)
		switch s.verb {
		case "set":
			err = c.Set(w)
		case "delete":
			err = c.Delete(w)
		case "insert":
			err = c.Insert(w)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", s.verb, s.words, err)
		}
	}
	pols := c.ZonePairs()[0].Policies
	if got := []string{pols[0].Name, pols[1].Name}; !slices.Equal(got, []string{"deny-ssh", "VPN-OUT"}) {
		t.Errorf("policy order: got %v", got)
	}
	if th := pols[0].Then; th.Deny || !th.Reject {
		t.Errorf("then reject should replace then deny: got %+v", th)
	}
	if ps := Errors(c.Validate()); len(ps) != 0 {
		t.Errorf("got errors %v", ps)
	}
}

func TestFailedSetLeavesConfigUnchanged(t *testing.T) {
	c := mustParse(t, "srx1.set", readSeed(t, "srx1.set"))
	before := c.SetText(RenderOptions{Secrets: true})
	if err := c.Set(strings.Fields("security zones security-zone dmz interfaces ge-0/0/9")); err == nil {
		t.Fatal("want an error for a logical interface without unit")
	}
	if got := c.SetText(RenderOptions{Secrets: true}); got != before {
		t.Errorf("configuration changed by a failed set:\n%s", got)
	}
}
