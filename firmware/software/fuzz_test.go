package software

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// entryNameRE is the grammar of a slot entry's file name as systemd-boot reads boot counters:
// NAME+LEFT-DONE.conf with LEFT and DONE made of decimal digits and nothing else.
var entryNameRE = regexp.MustCompile(`^palisade-[ab](\+([0-9]+)(-([0-9]+))?)?\.conf$`)

// FuzzParseEntryName checks the file names the init finds in loader/entries at every boot: a name is
// taken for a slot entry exactly when it follows systemd-boot's grammar, and FileName gives back a name
// that parses to the same entry.
func FuzzParseEntryName(f *testing.F) {
	for _, name := range []string{
		"palisade-a.conf", "palisade-b+3.conf", "palisade-b+0-1.conf", "palisade-b+1-0.conf",
		"PALISADE-A+2-1.CONF", "palisade-c.conf", "palisade-a.conf.new", "palisade-a+x.conf",
		"debian.conf", "palisade-b+.conf", "palisade-b++1.conf", "palisade-b+1-+2.conf", "palisade-b+0--1.conf", "palisade-b+1-.conf", "palisade-b+99999999999999999999.conf",
	} {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, file string) {
		e, ok := ParseEntryName(file)
		if !ok {
			if !reflect.DeepEqual(e, Entry{}) {
				t.Fatalf("ParseEntryName(%q) = %+v with ok false", file, e)
			}
		} else {
			if !e.Slot.Valid() || e.Left < 0 || e.Done < 0 || (!e.Counting && (e.Left != 0 || e.Done != 0)) || e.Fields != nil {
				t.Fatalf("ParseEntryName(%q) = %+v", file, e)
			}
			again, ok := ParseEntryName(e.FileName())
			if !ok || !reflect.DeepEqual(again, e) {
				t.Fatalf("ParseEntryName(%q) = %+v; its FileName %q parses to %+v, %v", file, e, e.FileName(), again, ok)
			}
		}
		// The base name is compared in lower case, as FAT folds it.
		base, _ := strings.CutSuffix(file, ".conf")
		m := entryNameRE.FindStringSubmatch(strings.ToLower(base) + ".conf")
		if !strings.HasSuffix(file, ".conf") {
			m = nil
		}
		switch {
		case ok && m == nil:
			t.Fatalf("ParseEntryName(%q) = %+v, but systemd-boot would not read a boot counter from the name", file, e)
		case !ok && m != nil && len(m[2]) < 10 && len(m[4]) < 10:
			t.Fatalf("ParseEntryName(%q) refuses a slot entry name", file)
		case ok && m[1] != "":
			left, _ := strconv.Atoi(m[2])
			done, _ := strconv.Atoi(m[4])
			if !e.Counting || e.Left != left || e.Done != done {
				t.Fatalf("ParseEntryName(%q) = %+v, want %d left and %d done", file, e, left, done)
			}
		case ok && e.Counting:
			t.Fatalf("ParseEntryName(%q) = %+v counts boots", file, e)
		}
	})
}

// FuzzParseEntry feeds loader entry files, as a corrupted ESP may hold them, to ParseEntry: the fields it
// returns are the keys and values systemd-boot sees, and Format then ParseEntry gives them back.
func FuzzParseEntry(f *testing.F) {
	for _, e := range []Entry{
		NewEntry(SlotA, "1.0", "console=ttyS0,115200 panic=-1"),
		{Slot: SlotB, Counting: true, Left: 0, Done: 1, Fields: NewEntry(SlotB, "2.0", "").Fields},
	} {
		f.Add(e.FileName(), e.Format())
	}
	f.Add("palisade-b+1.conf", []byte("# a comment\n\ntitle  Palisade 2.0  \r\nversion\t2.0\noptions\n"))
	f.Add("palisade-a.conf", []byte("title Palisade 1.0 (slot A)\nversion 1."))
	f.Add("palisade-a.conf", []byte("\xff\xfe\x00title\n"))
	f.Add("palisade-a.conf", bytes.Repeat([]byte("x"), 70<<10))
	f.Add("other.conf", []byte("title x\n"))
	f.Fuzz(func(t *testing.T, file string, data []byte) {
		e, err := ParseEntry(file, data)
		if err != nil {
			if !reflect.DeepEqual(e, Entry{}) {
				t.Fatalf("ParseEntry returned %+v and an error: %v", e, err)
			}
			if !strings.Contains(err.Error(), file) {
				t.Fatalf("error %q does not name the file %q", err, file)
			}
			return
		}
		name, ok := ParseEntryName(file)
		if !ok {
			t.Fatalf("ParseEntry accepted %q, which ParseEntryName refuses", file)
		}
		name.Fields = e.Fields
		if !reflect.DeepEqual(name, e) {
			t.Fatalf("ParseEntry(%q) = %+v, the name says %+v", file, e, name)
		}
		for _, fl := range e.Fields {
			// systemd-boot splits a line at the first space or tab.
			if fl.Key == "" || strings.ContainsAny(fl.Key, " \t\n") || strings.HasPrefix(fl.Key, "#") {
				t.Fatalf("key %.80q (value %.80q)", fl.Key, fl.Value)
			}
			if strings.Contains(fl.Value, "\n") || fl.Value != strings.TrimSpace(fl.Value) {
				t.Fatalf("value %.80q of %.80q", fl.Value, fl.Key)
			}
		}
		again, err := ParseEntry(e.FileName(), e.Format())
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip of %.200q:\n%.200v\nbecame\n%.200v, %v", data, e, again, err)
		}
	})
}

// FuzzCmdline checks the palisade.* parameters the init reads from the kernel command line: the boot
// deadline is always a duration a watchdog can be armed with, and InheritedArgs drops exactly the
// parameters that belong to one slot or one trial.
func FuzzCmdline(f *testing.F) {
	for _, c := range []string{
		"console=ttyS0,115200 panic=-1 palisade.slot=b palisade.deadline=90",
		"console=ttyS0", "x", "palisade.slot=A palisade.slot=b", "palisade.deadline=0", "palisade.deadline=-5",
		"palisade.deadline=+30", "palisade.deadline=9223372037", "palisade.deadline=18446744074",
		"palisade.deadline=99999999999999999999", "palisade.deadline= palisade.slot=", "palisade.slotx=a\tpalisade.deadline=1",
	} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, cmdline string) {
		d := Deadline(cmdline)
		if d < time.Second || d > math.MaxInt32*time.Second || d%time.Second != 0 {
			t.Fatalf("Deadline(%q) = %v", cmdline, d)
		}
		v, set := cmdlineValue(cmdline, CmdlineDeadline)
		if n, err := strconv.ParseInt(v, 10, 64); set && err == nil && n > 0 && n <= math.MaxInt32 && d != time.Duration(n)*time.Second {
			t.Fatalf("Deadline(%q) = %v, want %ds", cmdline, d, n)
		}
		if !set && d != DefaultDeadline {
			t.Fatalf("Deadline(%q) = %v without %s", cmdline, d, CmdlineDeadline)
		}
		s, ok := BootedSlot(cmdline)
		if ok != s.Valid() {
			t.Fatalf("BootedSlot(%q) = %q, %v", cmdline, s, ok)
		}
		if v, set := cmdlineValue(cmdline, CmdlineSlot); ok && (!set || !strings.EqualFold(v, string(s))) {
			t.Fatalf("BootedSlot(%q) = %v, the command line says %q", cmdline, s, v)
		}

		inh := InheritedArgs(cmdline)
		if _, ok := BootedSlot(inh); ok {
			t.Fatalf("InheritedArgs(%q) = %q keeps the slot", cmdline, inh)
		}
		if _, set := cmdlineValue(inh, CmdlineDeadline); set {
			t.Fatalf("InheritedArgs(%q) = %q keeps the deadline", cmdline, inh)
		}
		var want []string
		for _, w := range strings.Fields(cmdline) {
			if !strings.HasPrefix(w, CmdlineSlot+"=") && !strings.HasPrefix(w, CmdlineDeadline+"=") {
				want = append(want, w)
			}
		}
		if got := strings.Fields(inh); !slices.Equal(got, want) {
			t.Fatalf("InheritedArgs(%q) = %q, want %q", cmdline, got, want)
		}
		if again := InheritedArgs(inh); again != inh {
			t.Fatalf("InheritedArgs is not idempotent: %q then %q", inh, again)
		}
	})
}

// memFS is an FS in memory, so that FuzzAdd can install thousands of bundles without touching a disk.
// A file may not grow beyond limit bytes: an Add must never write more than the bundle it read.
type memFS struct {
	files    map[string][]byte
	dirs     map[string]bool
	limit    int
	overflow string // the file that went over limit
}

func newMemFS() *memFS {
	return &memFS{files: map[string][]byte{}, dirs: map[string]bool{".": true}, limit: math.MaxInt}
}

func (m *memFS) ReadFile(name string) ([]byte, error) {
	b, ok := m.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(b), nil
}

func (m *memFS) ReadDir(name string) ([]string, error) {
	var names []string
	for _, set := range []map[string]bool{m.dirs, keysOf(m.files)} {
		for p := range set {
			if p != "." && path.Dir(p) == name {
				names = append(names, path.Base(p))
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

func keysOf(files map[string][]byte) map[string]bool {
	set := map[string]bool{}
	for p := range files {
		set[p] = true
	}
	return set
}

func (m *memFS) Create(name string) (io.WriteCloser, error) {
	if !m.dirs[path.Dir(name)] {
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrNotExist}
	}
	m.files[name] = nil
	return &memFile{m, name}, nil
}

type memFile struct {
	m    *memFS
	name string
}

func (f *memFile) Write(p []byte) (int, error) {
	if len(f.m.files[f.name])+len(p) > f.m.limit {
		f.m.overflow = f.name
		return 0, fmt.Errorf("writing %s: beyond %d bytes", f.name, f.m.limit)
	}
	f.m.files[f.name] = append(f.m.files[f.name], p...)
	return len(p), nil
}

func (f *memFile) Close() error { return nil }

func (m *memFS) Rename(oldname, newname string) error {
	b, ok := m.files[oldname]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	delete(m.files, oldname)
	m.files[newname] = b
	return nil
}

func (m *memFS) Remove(name string) error {
	delete(m.files, name)
	return nil
}

func (m *memFS) MkdirAll(name string) error {
	for d := name; d != "." && d != "/"; d = path.Dir(d) {
		m.dirs[d] = true
	}
	return nil
}

func (m *memFS) snapshot() map[string]string {
	s := map[string]string{}
	for p, b := range m.files {
		s[p] = string(b)
	}
	return s
}

const fuzzBoard = "qemu-x86_64"

func makeBundle(tb testing.TB, version, board string) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := WriteBundle(&b, version, board, strings.NewReader("kernel "+version), strings.NewReader("initrd "+version)); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// fuzzESP is an ESP with slot A (bundle a) confirmed and running and, if b is not nil, slot B holding a
// trial of bundle b.
func fuzzESP(tb testing.TB, a, b []byte) *memFS {
	tb.Helper()
	m := newMemFS()
	ctx := context.Background()
	if _, err := Add(ctx, m, bytes.NewReader(a),
		AddOptions{Board: fuzzBoard, KernelArgs: "console=ttyS0,115200 panic=-1", Slot: SlotA, Confirmed: true}); err != nil {
		tb.Fatal(err)
	}
	if b != nil {
		if _, err := Add(ctx, m, bytes.NewReader(b), AddOptions{Board: fuzzBoard, Running: SlotA}); err != nil {
			tb.Fatal(err)
		}
	}
	return m
}

// tarBlock is a USTAR header block, for bundles tar.Writer refuses to write.
func tarBlock(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func paxRecord(k, v string) string {
	r := " " + k + "=" + v + "\n"
	n := len(r) + 1
	for len(strconv.Itoa(n))+len(r) != n {
		n++
	}
	return strconv.Itoa(n) + r
}

func pad512(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }

// sparseBundle is a bundle whose kernel is a GNU sparse file of a terabyte of holes, in a few kilobytes:
// the manifest claims that size, so only the checksum, after the copy, could refuse it.
func sparseBundle() []byte {
	const size = 1 << 40
	man := Manifest{Version: "2.0", Board: fuzzBoard, Files: map[string]FileSum{
		KernelFile: {SHA256: strings.Repeat("ab", 32), Size: size}, InitrdFile: {SHA256: strings.Repeat("cd", 32), Size: 1}}}
	var b []byte
	mf := man.Format()
	b = append(b, tarBlock(ManifestFile, '0', int64(len(mf)))...)
	b = append(b, pad512(mf)...)
	pax := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
		paxRecord("GNU.sparse.name", KernelFile) + paxRecord("GNU.sparse.realsize", strconv.Itoa(size))
	b = append(b, tarBlock("PaxHeaders/linux", 'x', int64(len(pax)))...)
	b = append(b, pad512([]byte(pax))...)
	b = append(b, tarBlock(KernelFile, '0', 512)...)
	b = append(b, pad512([]byte("0\n"))...) // the sparse map: no data, all hole
	return append(b, make([]byte, 1024)...)
}

// FuzzAdd installs fuzzed bundles, as a URL may deliver anything. A bundle that does not install leaves
// an error, no value, and the state as it was: slot A untouched and running, slot B as before or, if it
// held something, empty (Add makes the slot unbootable before writing it). Nothing written to the ESP is
// larger than the bundle.
func FuzzAdd(f *testing.F) {
	good := makeBundle(f, "2.0", fuzzBoard)
	for _, seed := range [][]byte{
		good,
		makeBundle(f, "2.0", "qemu-arm64"),
		bytes.Replace(good, []byte("kernel 2.0"), []byte("kernel 6.6"), 1),
		good[:len(good)/2],
		good[:1024],
		[]byte("hello"),
		nil,
		sparseBundle(),
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	a, b := makeBundle(f, "1.0", fuzzBoard), makeBundle(f, "1.5", fuzzBoard)
	f.Fuzz(func(t *testing.T, data []byte, withB bool) {
		m := fuzzESP(t, a, nil)
		if withB {
			m = fuzzESP(t, a, b)
		}
		before, err := Read(m, SlotA)
		if err != nil {
			t.Fatal(err)
		}
		files := m.snapshot()
		m.limit = len(data)
		man, err := Add(context.Background(), m, bytes.NewReader(data), AddOptions{Board: fuzzBoard, Running: SlotA})
		if m.overflow != "" {
			t.Fatalf("a %d-byte bundle wrote more than %d bytes into %s", len(data), len(data), m.overflow)
		}
		after, rerr := Read(m, SlotA)
		if rerr != nil {
			t.Fatalf("Read after Add: %v", rerr)
		}
		if !reflect.DeepEqual(after.A, before.A) {
			t.Fatalf("slot A changed:\n%+v\n%+v", before.A, after.A)
		}
		now := m.snapshot()
		for p, b := range files {
			if !strings.HasPrefix(p, SlotDir(SlotB)+"/") && !strings.HasPrefix(p, EntriesDir+"/"+EntryPrefix+"b") && now[p] != b {
				t.Fatalf("%s changed", p)
			}
		}
		if err == nil {
			if man.Board != fuzzBoard || !after.B.Trying() || after.B.Version != man.Version {
				t.Fatalf("installed %+v: slot B is %+v", man, after.B)
			}
			if next, _ := after.Next(); next != SlotB {
				t.Fatalf("installed %+v, but %v boots next", man, next)
			}
			for _, name := range []string{KernelFile, InitrdFile} {
				b, _ := m.ReadFile(SlotDir(SlotB) + "/" + name)
				h := newHashingReader(bytes.NewReader(b))
				io.Copy(io.Discard, h)
				if want := man.Files[name]; h.n != want.Size || h.sum() != want.SHA256 {
					t.Fatalf("slot B's %s: %d bytes with %s, the manifest says %+v", name, h.n, h.sum(), want)
				}
			}
			return
		}
		if !reflect.DeepEqual(man, Manifest{}) {
			t.Fatalf("Add returned %+v and an error: %v", man, err)
		}
		if after.B.Installed && !reflect.DeepEqual(after.B, before.B) {
			t.Fatalf("a failed Add (%v) left slot B as\n%+v\nbefore\n%+v", err, after.B, before.B)
		}
		if !withB && !reflect.DeepEqual(after, before) {
			t.Fatalf("a failed Add (%v) changed the state:\n%+v\n%+v", err, before, after)
		}
		if next, _ := after.Next(); next != SlotA {
			t.Fatalf("a failed Add (%v) boots %v next", err, next)
		}
	})
}

// The memFS must behave like DirFS for Add to be fuzzed on it.
var _ FS = (*memFS)(nil)

// sparseBundle must really be a tar whose kernel reads as a terabyte, or FuzzAdd's seed proves nothing.
func TestSparseBundleSeed(t *testing.T) {
	tr := tar.NewReader(bytes.NewReader(sparseBundle()))
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Name != KernelFile || hdr.Size != 1<<40 {
		t.Fatalf("kernel header %+v", hdr)
	}
	n, err := io.CopyN(io.Discard, tr, 1<<20)
	if n != 1<<20 || err != nil {
		t.Fatalf("read %d bytes of holes: %v", n, err)
	}
}
