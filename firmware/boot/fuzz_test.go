package boot

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/palisade/palisade/board"
)

// ext4Superblock is the start of a superblock mke2fs -L PALISADE wrote (a 4 MiB ext4), up to the end
// of the label.
func ext4Superblock(label string) []byte {
	sb := make([]byte, 0x100)
	copy(sb, []byte{0x00, 0x04, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0xcc, 0x00, 0x00, 0x00, 0xc3, 0x0e, 0x00, 0x00})
	copy(sb[0x18:], []byte{0x02, 0x00, 0x00, 0x00}) // log block size: 4096
	sb[extMagicOffset], sb[extMagicOffset+1] = 0x53, 0xef
	copy(sb[extLabelOffset:extLabelOffset+extLabelLen], label)
	return sb
}

// FuzzExtLabel feeds the superblock region of a block device to extLabel, as FindLabel reads it from
// every disk at boot. A label is at most 16 bytes, ends at the first NUL as e2label and blkid read it,
// and comes only from a superblock with the ext magic; writing a label into a superblock reads back.
func FuzzExtLabel(f *testing.F) {
	for _, sb := range [][]byte{
		ext4Superblock("PALISADE"),
		ext4Superblock("OTHER"),
		ext4Superblock("0123456789abcdef"),
		ext4Superblock("PALISADE\x00OLDLONGLABEL"[:16]),
		ext4Superblock("PALISADE")[:0x80],
		make([]byte, 0x100),
		nil,
	} {
		f.Add(sb, "PALISADE")
	}
	f.Fuzz(func(t *testing.T, sb []byte, label string) {
		dev := append(make([]byte, superblockOffset), sb...)
		got := extLabel(bytes.NewReader(dev))
		if len(got) > extLabelLen || strings.Contains(got, "\x00") {
			t.Fatalf("label %q", got)
		}
		if got != "" && (len(sb) < 0x100 || sb[extMagicOffset] != 0x53 || sb[extMagicOffset+1] != 0xef ||
			!bytes.HasPrefix(sb[extLabelOffset:], []byte(got))) {
			t.Fatalf("label %q from a superblock without it", got)
		}
		if len(sb) < 0x100 {
			return
		}
		if len(label) > extLabelLen {
			label = label[:extLabelLen]
		}
		label, _, _ = strings.Cut(label, "\x00")
		// What tune2fs -L does: clear the field, copy the label.
		sb = slices.Clone(sb)
		sb[extMagicOffset], sb[extMagicOffset+1] = 0x53, 0xef
		clear(sb[extLabelOffset : extLabelOffset+extLabelLen])
		copy(sb[extLabelOffset:], label)
		if got := extLabel(bytes.NewReader(append(make([]byte, superblockOffset), sb...))); got != label {
			t.Fatalf("label %q written, %q read", label, got)
		}
	})
}

// FuzzReadBoard feeds /etc/palisade/board to ReadBoard: a board or an error, never both; the board is
// the one the file names; and the error names what was in the file.
func FuzzReadBoard(f *testing.F) {
	for _, name := range board.Names() {
		f.Add([]byte(name + "\n"))
	}
	f.Add([]byte(" qemu-x86_64 \r\n\n"))
	f.Add([]byte("qemu-x86_64\x00"))
	f.Add([]byte("qemu"))
	f.Add([]byte(nil))
	file := filepath.Join(f.TempDir(), "board")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := ReadBoard(file)
		if err != nil {
			if !reflect.DeepEqual(b, board.Board{}) {
				t.Fatalf("ReadBoard returned %+v and an error: %v", b, err)
			}
			return
		}
		if name := strings.TrimSpace(string(data)); b.Name != name {
			t.Fatalf("ReadBoard of %q = %q", data, b.Name)
		}
		want, err := board.Lookup(b.Name)
		if err != nil || !reflect.DeepEqual(b, want) {
			t.Fatalf("ReadBoard = %+v, Lookup = %+v, %v", b, want, err)
		}
	})
}

// FuzzExtraModules feeds kernel command lines to ExtraModules: the names are those of the first
// palisade.modules=, none empty, none holding a comma or white space.
func FuzzExtraModules(f *testing.F) {
	f.Add("console=ttyS0 palisade.modules=foo,bar quiet")
	f.Add("palisade.modules=,,a,,")
	f.Add("palisade.modules= palisade.modules=x")
	f.Add("palisade.modules=a\tpalisade.modules=b")
	f.Add("console=ttyS0")
	f.Fuzz(func(t *testing.T, cmdline string) {
		got := ExtraModules(cmdline)
		var want []string
		for _, w := range strings.Fields(cmdline) {
			if v, ok := strings.CutPrefix(w, "palisade.modules="); ok {
				for _, m := range strings.Split(v, ",") {
					if m != "" {
						want = append(want, m)
					}
				}
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ExtraModules(%q) = %q, want %q", cmdline, got, want)
		}
		for _, m := range got {
			if m == "" || strings.ContainsAny(m, ", \t\n") {
				t.Fatalf("ExtraModules(%q) has module %q", cmdline, m)
			}
		}
	})
}
