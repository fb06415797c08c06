package kmod

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const release = "6.1.0-test"

func testIndex(t *testing.T) *Index {
	t.Helper()
	ix, err := ReadIndex(filepath.Join("testdata", "lib", "modules", release))
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/crypto/ghash-generic.ko": "ghash_generic",
		"kernel/net/ipv4/esp4.ko.xz":     "esp4",
		"aes-ce-blk":                     "aes_ce_blk",
		"kernel/fs/ext4/ext4.ko":         "ext4",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClosure(t *testing.T) {
	ix := testIndex(t)
	got, err := ix.Closure([]string{"crc32c_generic", "nft_ct", "ghash-generic", "af_packet", "nf_tables"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"crc32c_generic", "libcrc32c", "nf_defrag_ipv4", "nf_defrag_ipv6", "nf_conntrack", "nfnetlink",
		"nf_tables", "nft_ct", "gf128mul", "ghash_generic"}
	if !slices.Equal(got, want) {
		t.Errorf("Closure = %v\nwant %v", got, want)
	}
	// every module comes after its dependencies
	pos := map[string]int{}
	for i, m := range got {
		pos[m] = i
	}
	for _, m := range got {
		order, _ := ix.LoadOrder(m)
		for _, d := range order[:len(order)-1] {
			if pos[d] > pos[m] {
				t.Errorf("%s at %d before its dependency %s at %d", m, pos[m], d, pos[d])
			}
		}
	}
}

func TestClosureUnknown(t *testing.T) {
	ix := testIndex(t)
	got, err := ix.Closure([]string{"nosuch", "gf128mul"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("err = %v, want ErrNotFound naming nosuch", err)
	}
	if !slices.Equal(got, []string{"gf128mul"}) {
		t.Errorf("Closure = %v, want the known rest", got)
	}
}

func TestWriteDepRoundTrip(t *testing.T) {
	ix := testIndex(t)
	mods, _ := ix.Closure([]string{"nft_ct"})
	var b strings.Builder
	if err := ix.WriteDep(&b, mods); err != nil {
		t.Fatal(err)
	}
	ix2, err := ParseIndex(strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix2.Closure([]string{"nft_ct"})
	if err != nil || !slices.Equal(got, mods) {
		t.Errorf("after WriteDep: Closure = %v, %v; want %v", got, err, mods)
	}
}

type fakeKernel struct {
	mu     sync.Mutex
	loaded []string
	fail   map[string]error
	hang   map[string]bool
}

func (k *fakeKernel) init(f *os.File, params string, flags int) error {
	name := Name(f.Name())
	if k.hang[name] {
		time.Sleep(time.Second)
	}
	if err := k.fail[name]; err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.loaded = append(k.loaded, name)
	return nil
}

func TestLoadAll(t *testing.T) {
	k := &fakeKernel{fail: map[string]error{"broken": unix.ENOEXEC, "gf128mul": unix.EEXIST}}
	l := Loader{Root: "testdata", Release: release, Init: k.init}
	res, err := l.LoadAll(context.Background(), []string{"crc32c_generic", "nft_ct", "af_packet", "needs_broken", "ghash_generic", "nosuch", "nf_tables"})
	if err != nil {
		t.Fatal(err)
	}
	// nfnetlink has a /sys/module entry in the fake tree: not inserted again.
	wantLoaded := []string{"crc32c_generic", "libcrc32c", "nf_defrag_ipv4", "nf_defrag_ipv6", "nf_conntrack", "nf_tables", "nft_ct", "ghash_generic"}
	if !slices.Equal(k.loaded, wantLoaded) {
		t.Errorf("inserted %v\nwant %v", k.loaded, wantLoaded)
	}
	want := []struct {
		name  string
		state State
		err   string
	}{
		{"crc32c_generic", Loaded, ""},
		{"nft_ct", Loaded, ""},
		{"af_packet", Builtin, ""},
		{"needs_broken", Failed, "module needs_broken: dependency failed: module broken: finit_module"},
		{"ghash_generic", Loaded, ""},
		{"nosuch", Failed, "module nosuch: module not found"},
		{"nf_tables", AlreadyLoaded, ""},
	}
	if len(res) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(res), len(want), res)
	}
	for i, w := range want {
		r := res[i]
		if r.Name != w.name || r.State != w.state {
			t.Errorf("result %d = %s %v, want %s %v", i, r.Name, r.State, w.name, w.state)
		}
		if (r.Err == nil) != (w.err == "") || r.Err != nil && !strings.Contains(r.Err.Error(), w.err) {
			t.Errorf("%s: err = %v, want containing %q", r.Name, r.Err, w.err)
		}
	}
	if got := res[1].Deps; !slices.Equal(got, []string{"libcrc32c", "nf_defrag_ipv4", "nf_defrag_ipv6", "nf_conntrack", "nf_tables"}) {
		t.Errorf("nft_ct deps = %v", got)
	}
	if !errors.Is(res[3].Err, unix.ENOEXEC) {
		t.Errorf("needs_broken: err %v does not wrap ENOEXEC", res[3].Err)
	}
}

func TestLoadTimeout(t *testing.T) {
	k := &fakeKernel{hang: map[string]bool{"gf128mul": true}}
	l := Loader{Root: "testdata", Release: release, Init: k.init, Timeout: 50 * time.Millisecond}
	res, err := l.LoadAll(context.Background(), []string{"ghash_generic", "crc32c_generic"})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].State != Failed || !strings.Contains(res[0].Err.Error(), "timed out") {
		t.Errorf("ghash_generic = %v %v, want a timeout", res[0].State, res[0].Err)
	}
	if res[1].State != Loaded {
		t.Errorf("crc32c_generic = %v %v, want loaded after the timeout", res[1].State, res[1].Err)
	}
	time.Sleep(time.Second) // let the hung fake return before the test ends
}

func TestLoadNoIndex(t *testing.T) {
	l := Loader{Root: t.TempDir(), Release: release}
	if _, err := l.LoadAll(context.Background(), []string{"x"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
}
