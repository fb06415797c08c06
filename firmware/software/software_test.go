package software

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func bundle(t *testing.T, version, board string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteBundle(&b, version, board, bytes.NewReader([]byte("kernel "+version)), bytes.NewReader([]byte("initrd "+version))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// newESP is an ESP with slot A installed as a new image has it.
func newESP(t *testing.T) DirFS {
	t.Helper()
	fsys := DirFS{Root: t.TempDir()}
	_, err := Add(context.Background(), fsys, bytes.NewReader(bundle(t, "1.0", "qemu-x86_64")),
		AddOptions{Board: "qemu-x86_64", KernelArgs: "console=ttyS0,115200 panic=-1", Slot: SlotA, Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// sdBoot does what systemd-boot does at power-on: pick the entry (Next) and, if it counts boots, rename
// it with one try less. It returns the slot that boots.
func sdBoot(t *testing.T, fsys DirFS) Slot {
	t.Helper()
	st, err := Read(fsys, "")
	if err != nil {
		t.Fatal(err)
	}
	s, ok := st.Next()
	if !ok {
		t.Fatal("no bootable slot")
	}
	cur := st.Slot(s)
	if cur.Entry.Counting && cur.Entry.Left > 0 {
		e := cur.Entry
		e.Left--
		e.Done++
		if err := os.Rename(filepath.Join(fsys.Root, EntriesDir, cur.EntryFile), filepath.Join(fsys.Root, EntriesDir, e.FileName())); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func entries(t *testing.T, fsys DirFS) string {
	t.Helper()
	names, err := fsys.ReadDir(EntriesDir)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, " ")
}

func TestNewImageBootsA(t *testing.T) {
	fsys := newESP(t)
	if got, want := entries(t, fsys), "palisade-a.conf"; got != want {
		t.Fatalf("entries: got %q, want %q", got, want)
	}
	if got := sdBoot(t, fsys); got != SlotA {
		t.Fatalf("boots %v, want A", got)
	}
	data, _ := fsys.ReadFile(EntriesDir + "/palisade-a.conf")
	for _, want := range []string{"options console=ttyS0,115200 panic=-1 palisade.slot=a\n", "linux /palisade/a/linux\n", "version 1.0\n"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("entry lacks %q:\n%s", want, data)
		}
	}
}

func TestUpgradeConfirmed(t *testing.T) {
	fsys := newESP(t)
	ctx := context.Background()
	m, err := Add(ctx, fsys, bytes.NewReader(bundle(t, "2.0", "qemu-x86_64")), AddOptions{Board: "qemu-x86_64", Running: SlotA})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "2.0" {
		t.Errorf("version %q", m.Version)
	}
	if got, want := entries(t, fsys), "palisade-a.conf palisade-b+1.conf"; got != want {
		t.Fatalf("entries: got %q, want %q", got, want)
	}
	if got := sdBoot(t, fsys); got != SlotB {
		t.Fatalf("trial boots %v, want B", got)
	}
	st, _ := Read(fsys, SlotB)
	if !st.B.Trying() && !st.B.Failed() {
		t.Fatalf("B should be counting: %+v", st.B)
	}
	if err := Confirm(fsys, SlotB); err != nil {
		t.Fatal(err)
	}
	if got, want := entries(t, fsys), "palisade-a.conf palisade-b.conf"; got != want {
		t.Fatalf("entries after confirm: got %q, want %q", got, want)
	}
	for i := 0; i < 3; i++ {
		if got := sdBoot(t, fsys); got != SlotB {
			t.Fatalf("boot %d after confirm: %v, want B", i, got)
		}
	}
	// Confirming again changes nothing.
	before := entries(t, fsys)
	if err := Confirm(fsys, SlotB); err != nil || entries(t, fsys) != before {
		t.Fatalf("second confirm: %v, entries %q", err, entries(t, fsys))
	}
	var out strings.Builder
	st, _ = Read(fsys, SlotB)
	st.Write(&out)
	for _, want := range []string{"A     1.0", "B     2.0                          running, default, next boot"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, out.String())
		}
	}

	// Rollback goes to A, confirmed.
	got, err := Rollback(fsys, SlotB)
	if err != nil || got != SlotA {
		t.Fatalf("rollback: %v %v", got, err)
	}
	if got := sdBoot(t, fsys); got != SlotA {
		t.Fatalf("after rollback boots %v, want A", got)
	}
}

func TestUnconfirmedFallsBack(t *testing.T) {
	fsys := newESP(t)
	if _, err := Add(context.Background(), fsys, bytes.NewReader(bundle(t, "2.0", "qemu-x86_64")), AddOptions{Board: "qemu-x86_64", Running: SlotA}); err != nil {
		t.Fatal(err)
	}
	if got := sdBoot(t, fsys); got != SlotB {
		t.Fatalf("trial boots %v, want B", got)
	}
	// No Confirm: the watchdog or a power cycle reboots.
	if got := sdBoot(t, fsys); got != SlotA {
		t.Fatalf("after an unconfirmed trial boots %v, want A", got)
	}
	st, _ := Read(fsys, SlotA)
	if !st.B.Failed() {
		t.Errorf("B should show failed: %+v", st.B)
	}
	if _, err := Rollback(fsys, SlotA); err == nil || !strings.Contains(err.Error(), "failed its trial") {
		t.Errorf("rollback to a failed slot: %v", err)
	}
	var out strings.Builder
	st.Write(&out)
	if !strings.Contains(out.String(), "failed (not confirmed)") {
		t.Errorf("show:\n%s", out.String())
	}
	// A new Add over the failed slot arms a new trial.
	if _, err := Add(context.Background(), fsys, bytes.NewReader(bundle(t, "2.1", "qemu-x86_64")), AddOptions{Board: "qemu-x86_64", Running: SlotA, Tries: 3}); err != nil {
		t.Fatal(err)
	}
	if got, want := entries(t, fsys), "palisade-a.conf palisade-b+3.conf"; got != want {
		t.Fatalf("entries: got %q, want %q", got, want)
	}
}

func TestAddRefuses(t *testing.T) {
	good := bundle(t, "2.0", "qemu-x86_64")
	corrupt := bytes.Replace(good, []byte("kernel 2.0"), []byte("kernel 6.6"), 1)
	for _, tc := range []struct {
		name string
		data []byte
		opts AddOptions
		want string
	}{
		{"other board", bundle(t, "2.0", "qemu-arm64"), AddOptions{}, "for board qemu-arm64"},
		{"corrupt kernel", corrupt, AddOptions{}, "checksum mismatch"},
		{"bundle sum", good, AddOptions{SHA256: strings.Repeat("0", 64)}, "checksum mismatch"},
		{"not a bundle", []byte("hello"), AddOptions{}, "reading the bundle"},
		{"huge manifest", tarOf(t, ManifestFile, append([]byte(BundleMagic+"\n"), bytes.Repeat([]byte("x"), maxManifest)...)), AddOptions{}, "more than 65536"},
		{"running slot", good, AddOptions{Slot: SlotA}, "running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := newESP(t)
			tc.opts.Board, tc.opts.Running = "qemu-x86_64", SlotA
			_, err := Add(context.Background(), fsys, bytes.NewReader(tc.data), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if tc.want == "checksum mismatch" && !errors.Is(err, ErrChecksum) {
				t.Errorf("%v is not ErrChecksum", err)
			}
			if got := sdBoot(t, fsys); got != SlotA {
				t.Errorf("after a refused add boots %v, want A", got)
			}
			st, _ := Read(fsys, SlotA)
			if st.B.Installed {
				t.Errorf("slot B has an entry after a refused add: %+v", st.B)
			}
		})
	}
}

// tarOf is a tar archive holding one file.
func tarOf(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseManifestLongLine(t *testing.T) {
	data := BundleMagic + "\n# " + strings.Repeat("x", 70000) + "\nversion 2.0\n"
	if _, err := ParseManifest([]byte(data)); err == nil || !strings.Contains(err.Error(), "manifest line 2: longer than 65536 bytes") {
		t.Errorf("a manifest with a 70000-byte line: got %v, want an error saying the line is too long", err)
	}
}

func TestEntryNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
		want Entry
	}{
		{"palisade-a.conf", true, Entry{Slot: SlotA}},
		{"palisade-b+3.conf", true, Entry{Slot: SlotB, Counting: true, Left: 3}},
		{"palisade-b+0-1.conf", true, Entry{Slot: SlotB, Counting: true, Left: 0, Done: 1}},
		{"PALISADE-A+2-1.CONF", false, Entry{}},
		{"palisade-c.conf", false, Entry{}},
		{"palisade-a.conf.new", false, Entry{}},
		{"palisade-a+x.conf", false, Entry{}},
		{"debian.conf", false, Entry{}},
	} {
		got, ok := ParseEntryName(tc.name)
		if ok != tc.ok || got.Slot != tc.want.Slot || got.Counting != tc.want.Counting || got.Left != tc.want.Left || got.Done != tc.want.Done {
			t.Errorf("ParseEntryName(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
		if ok && got.FileName() != tc.name {
			t.Errorf("FileName of %q = %q", tc.name, got.FileName())
		}
	}
}

func TestCmdline(t *testing.T) {
	c := "console=ttyS0,115200 panic=-1 palisade.slot=b palisade.deadline=90"
	if s, ok := BootedSlot(c); !ok || s != SlotB {
		t.Errorf("BootedSlot = %v %v", s, ok)
	}
	if d := Deadline(c); d.Seconds() != 90 {
		t.Errorf("Deadline = %v", d)
	}
	if _, ok := BootedSlot("console=ttyS0"); ok {
		t.Error("BootedSlot without palisade.slot")
	}
	if d := Deadline("x"); d != DefaultDeadline {
		t.Errorf("default deadline %v", d)
	}
}

func TestFindESP(t *testing.T) {
	sys := t.TempDir()
	for name, ev := range map[string]string{
		"vda":  "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n",
		"vda1": "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTN=1\nPARTNAME=palisade-esp\n",
		"vda2": "MAJOR=254\nMINOR=2\nDEVNAME=vda2\nDEVTYPE=partition\nPARTN=2\nPARTNAME=PALISADE\n",
	} {
		os.MkdirAll(filepath.Join(sys, name), 0o755)
		os.WriteFile(filepath.Join(sys, name, "uevent"), []byte(ev), 0o644)
	}
	got, err := FindESP(sys, "/dev")
	if err != nil || got != "/dev/vda1" {
		t.Fatalf("FindESP = %q, %v", got, err)
	}
	os.Remove(filepath.Join(sys, "vda1", "uevent"))
	if _, err := FindESP(sys, "/dev"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("FindESP without an ESP: %v", err)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := Manifest{Version: "2026.11.26", Board: "qemu-arm64", Files: map[string]FileSum{
		KernelFile: {SHA256: strings.Repeat("ab", 32), Size: 10}, InitrdFile: {SHA256: strings.Repeat("cd", 32), Size: 20}}}
	got, err := ParseManifest(m.Format())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Format(), m.Format()) {
		t.Errorf("round trip:\n%s\nwant\n%s", got.Format(), m.Format())
	}
	if _, err := ParseManifest([]byte(BundleMagic + "\nversion 1\n")); err == nil || !strings.Contains(err.Error(), "missing board, linux, initrd") {
		t.Errorf("incomplete manifest: %v", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(BundleMagic + "\nversion 1\nboard b\nlinux " + strings.Repeat("ab", 32) + " 1\ninitrd " + strings.Repeat("ab", 32) + " 2\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		again, err := ParseManifest(m.Format())
		if err != nil || !bytes.Equal(again.Format(), m.Format()) {
			t.Fatalf("round trip of %q: %v", data, err)
		}
	})
}

func TestAddInheritsArgs(t *testing.T) {
	fsys := newESP(t)
	if _, err := Add(context.Background(), fsys, bytes.NewReader(bundle(t, "2.0", "qemu-x86_64")),
		AddOptions{Board: "qemu-x86_64", Running: SlotA, Deadline: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	data, err := fsys.ReadFile(EntriesDir + "/palisade-b+1.conf")
	if err != nil {
		t.Fatal(err)
	}
	if want := "options console=ttyS0,115200 panic=-1 palisade.deadline=90 palisade.slot=b\n"; !strings.Contains(string(data), want) {
		t.Errorf("entry lacks %q:\n%s", want, data)
	}
}

func TestOpenBundle(t *testing.T) {
	want := bundle(t, "2.0", "qemu-x86_64")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/palisade.bundle" {
			http.NotFound(w, r)
			return
		}
		w.Write(want)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "b")
	os.WriteFile(file, want, 0o644)
	for _, src := range []string{srv.URL + "/palisade.bundle", file} {
		r, err := OpenBundle(context.Background(), srv.Client(), src)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %d bytes, want %d", src, len(got), len(want))
		}
	}
	if _, err := OpenBundle(context.Background(), srv.Client(), srv.URL+"/missing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing: %v", err)
	}
}
