package policy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade/palisade/firmware/config"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func parseConfig(t testing.TB, text string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("test.set", text)
	if err != nil {
		t.Fatalf("parsing config: %v", err)
	}
	return cfg
}

func readSeed(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "seed", name))
	if err != nil {
		b, err = os.ReadFile(filepath.Join("testdata", name))
	}
	if err != nil {
		t.Fatalf("reading seed: %v", err)
	}
	return string(b)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestCompileSeed(t *testing.T) {
	for _, name := range []string{"srx1.set", "srx2.set"} {
		t.Run(name, func(t *testing.T) {
			cfg := parseConfig(t, readSeed(t, name))
			c, err := Compile(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(name, ".set")+".nft", c.Ruleset.Text())
		})
	}
}
