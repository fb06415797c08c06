package config

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds configuration text to the parser. It must never panic,
// and whatever parses must survive set -> parse -> set unchanged.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"srx1.set", "srx2.set"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
		c := mustParse(f, name, string(b))
		f.Add(c.Text(RenderOptions{Secrets: true}))
	}
	f.Add("set a b\ndelete c\ninsert x before y\n")
	f.Add("system { host-name \"a b\"; /* c */ }\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, _, err := Parse("fuzz", text)
		if err != nil {
			return
		}
		all := RenderOptions{Secrets: true}
		out := c.SetText(all)
		d, _, err := Parse("again", out)
		if err != nil {
			t.Fatalf("re-parsing our own set output: %v\n%s", err, out)
		}
		if again := d.SetText(all); again != out {
			t.Fatalf("set round trip differs:\n%s\n---\n%s", out, again)
		}
		_ = c.Validate()
		// A configuration compared with itself has no changes, and with
		// nothing, only additions.
		if diff := Compare(c, d); diff != "" {
			t.Fatalf("Compare of a configuration with its own round trip:\n%s", diff)
		}
		for _, l := range strings.Split(strings.TrimSpace(Compare(&Config{}, c)), "\n") {
			if l != "" && !strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "[edit") {
				t.Fatalf("Compare from nothing has a line that is no addition: %q", l)
			}
		}
	})
}

// FuzzDecodeCBOR feeds bytes to the strict decoder: no panic, and anything
// that decodes re-encodes to the same bytes.
func FuzzDecodeCBOR(f *testing.F) {
	for _, name := range []string{"srx1.set", "srx2.set"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		c := mustParse(f, name, string(b))
		enc, err := c.MarshalCBOR()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte("\xa2\x66schema\x01\x6dconfiguration\xa0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCBOR(data)
		if err != nil {
			return
		}
		enc, err := c.MarshalCBOR()
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("decoded bytes re-encode differently")
		}
	})
}

// bigConfig builds n policies over m addresses in one zone pair.
func bigConfig(n, m int) string {
	var b strings.Builder
	b.WriteString(base)
	b.WriteString("set security address-book global address-set lans address lan\n")
	for i := range m {
		fmt.Fprintf(&b, "set security address-book global address a%d 10.%d.%d.0/24\n", i, 100+i/256, i%256)
	}
	apps := []string{"junos-http", "junos-https", "junos-ssh", "junos-dns-udp", "any"}
	for i := range n {
		fmt.Fprintf(&b, "set security policies from-zone trust to-zone untrust policy p%d match source-address a%d destination-address a%d application %s\n",
			i, i%m, (i*7+3)%m, apps[i%(len(apps)-1)])
		fmt.Fprintf(&b, "set security policies from-zone trust to-zone untrust policy p%d then permit\n", i)
	}
	return b.String()
}

// BenchmarkCheckAndCompile10k parses, validates (shadow detection
// included) and encodes 10,000 policies over 1,000 addresses. The goal is
// under one second per operation.
func BenchmarkCheckAndCompile10k(b *testing.B) {
	text := bigConfig(10000, 1000)
	b.ResetTimer()
	for b.Loop() {
		c, _, err := Parse("big", text)
		if err != nil {
			b.Fatal(err)
		}
		if ps := Errors(c.Validate()); len(ps) > 0 {
			b.Fatal(ps[0])
		}
		if _, err := c.MarshalCBOR(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBigConfigIsValid(t *testing.T) {
	c := mustParse(t, "big", bigConfig(200, 50))
	if ps := Errors(c.Validate()); len(ps) > 0 {
		t.Fatal(ps[0])
	}
	if got := len(c.ZonePairs()[0].Policies); got != 200 {
		t.Fatalf("got %d policies", got)
	}
}
