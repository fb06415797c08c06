package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/firmware/config"
)

func cfg(t *testing.T, host string) *config.Config {
	t.Helper()
	c, _, err := config.Parse("t", "set system host-name "+host+"\n")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCommitRollbackAndPrune(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	for i := range Keep + 5 {
		if _, err := s.Commit(cfg(t, fmt.Sprintf("h%d", i)), Meta{Time: time.Unix(int64(i), 0), User: "root"}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != Keep {
		t.Fatalf("got %d stored, want %d", len(list), Keep)
	}
	for n, want := range map[int]string{0: "h54", 1: "h53", 49: "h5"} {
		e, err := s.Get(n)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Config.HostName(""); got != want {
			t.Errorf("rollback %d: got %s, want %s", n, got, want)
		}
	}
	if _, err := s.Get(50); err == nil || !strings.Contains(err.Error(), "rollback 50 does not exist") {
		t.Errorf("got %v", err)
	}
}

func TestLoadGoodSkipsBrokenNewest(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	if _, err := s.Commit(cfg(t, "good"), Meta{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "config.2.cbor"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, skipped, err := s.LoadGood(nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Config.HostName("") != "good" || len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "rollback 0") {
		t.Fatalf("got %s, skipped %v", e.Config.HostName(""), skipped)
	}
	// A new commit goes after the broken one, never overwriting it.
	seq, err := s.Commit(cfg(t, "newer"), Meta{})
	if err != nil || seq != 3 {
		t.Fatalf("got seq %d, %v", seq, err)
	}
}

func TestRescue(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	if _, err := s.Rescue(); err == nil {
		t.Fatal("want an error with no rescue configuration")
	}
	if err := s.SaveRescue(cfg(t, "rescue"), Meta{}); err != nil {
		t.Fatal(err)
	}
	c, err := s.Rescue()
	if err != nil || c.HostName("") != "rescue" {
		t.Fatalf("got %v, %v", c, err)
	}
}

func FuzzDecode(f *testing.F) {
	c, _, _ := config.Parse("t", "set system host-name a\n")
	b, _ := Encode(c, Meta{User: "root"})
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = Decode(data)
	})
}
