package image

import (
	"bytes"
	"fmt"
	"path"
	"runtime"
	"strings"
	"testing"
)

func sameRecords(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Mode != b[i].Mode || !bytes.Equal(a[i].Data, b[i].Data) ||
			a[i].RdevMajor != b[i].RdevMajor || a[i].RdevMinor != b[i].RdevMinor {
			return false
		}
	}
	return true
}

// FuzzReadCPIO feeds archives to ReadCPIO, as u-root's initramfs or a corrupted download may be. It
// returns records or an error, never both; allocates in proportion to the archive, not to the sizes its
// headers claim; every name is clean and relative; and what it reads, WriteCPIO writes so that ReadCPIO
// reads it back the same.
func FuzzReadCPIO(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteCPIO(&buf, Normalize(sampleRecords())); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:110])
	// A file that only path.Clean names like the trailer.
	buf.Reset()
	if err := WriteCPIO(&buf, []Record{File("./TRAILER!!!", 0o644, []byte("x")), File("init", 0o755, nil)}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("070707"))
	// Headers claiming a 4 GiB file, or a 4 GiB name, and nothing after them.
	hdr := func(size, namesize uint32) []byte {
		h := newcMagic
		for _, v := range []uint32{1, modeRegular | 0o644, 0, 0, 1, 0, size, 0, 0, 0, 0, namesize, 0} {
			h += fmt.Sprintf("%08x", v)
		}
		return []byte(h + "a\x00")
	}
	f.Add(hdr(0xffffffff, 2))
	f.Add(hdr(1, 0xffffffff))
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		recs, err := ReadCPIO(bytes.NewReader(data))
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20+16*uint64(len(data)) {
			t.Fatalf("reading %d bytes allocated %d", len(data), alloc)
		}
		if err != nil {
			if recs != nil {
				t.Fatalf("ReadCPIO returned %d records and an error: %v", len(recs), err)
			}
			return
		}
		for _, r := range recs {
			if r.Name == "" || r.Name != strings.TrimPrefix(path.Clean("/"+r.Name), "/") || len(r.Data) > len(data) {
				t.Fatalf("record %q of %d bytes from %d", r.Name, len(r.Data), len(data))
			}
		}
		var out bytes.Buffer
		if err := WriteCPIO(&out, recs); err != nil {
			// Only a record with data on a file type that holds none, or one that path.Clean named like
			// the trailer, cannot be written back.
			if !strings.Contains(err.Error(), "data on a record") && !strings.Contains(err.Error(), "end-of-archive") {
				t.Fatalf("writing back what was read: %v", err)
			}
			return
		}
		again, err := ReadCPIO(bytes.NewReader(out.Bytes()))
		if err != nil || !sameRecords(again, recs) {
			t.Fatalf("round trip: read %d records, wrote them, read back %d: %v", len(recs), len(again), err)
		}
	})
}
