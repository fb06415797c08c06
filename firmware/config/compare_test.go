package config

import (
	"os"
	"strings"
	"testing"
)

// TestCompare changes the seed as an SRX user would and checks the Junos
// `show | compare` form: headers per level, a new block written out whole,
// a removed leaf, secrets masked.
func TestCompare(t *testing.T) {
	b, err := os.ReadFile("testdata/srx1.set")
	if err != nil {
		t.Fatal(err)
	}
	a := mustParse(t, "srx1.set", string(b))
	c := mustParse(t, "srx1.set", string(b))
	for _, line := range []string{
		"set security policies from-zone trust to-zone untrust policy web match source-address any",
		"set security policies from-zone trust to-zone untrust policy web match destination-address any",
		"set security policies from-zone trust to-zone untrust policy web match application junos-http",
		"set security policies from-zone trust to-zone untrust policy web then permit",
		"set security ike policy IKE-POL pre-shared-key ascii-text other-secret",
	} {
		if err := c.Set(strings.Fields(line)[1:]); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	if err := c.Delete(strings.Fields("system host-name")); err != nil {
		t.Fatal(err)
	}
	got := Compare(a, c)
	for _, want := range []string{
		// The system block held only the host name: it goes whole.
		"[edit]\n-   system {\n-       host-name SRX1;\n-   }\n",
		"[edit security policies from-zone trust to-zone untrust]\n+   policy web {\n+       match {\n+           source-address any;\n",
		"+       then {\n+           permit;\n+       }\n+   }\n",
		// A changed key shows as changed, masked.
		"[edit security ike policy IKE-POL pre-shared-key]\n-   ascii-text \"<secret>\"; ## SECRET-DATA\n+   ascii-text \"<secret>\"; ## SECRET-DATA\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("compare lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "other-secret") {
		t.Errorf("compare shows a secret:\n%s", got)
	}
	if Compare(a, a) != "" {
		t.Errorf("a configuration compared with itself has changes:\n%s", Compare(a, a))
	}
}
