package image

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// File modes of cpio records (the S_IF* bits of st_mode).
const (
	modeDir      = 0o040000
	modeRegular  = 0o100000
	modeSymlink  = 0o120000
	modeCharDev  = 0o020000
	modeTypeMask = 0o170000
)

// Record is one cpio entry. Only what the initramfs needs is kept: everything else (owner, times, inode
// numbers) is fixed when the archive is written, so the same records always give the same bytes.
type Record struct {
	// Name is the path without a leading "/", e.g. "bin/sh".
	Name string
	// Mode holds the file type bits and the permission bits, e.g. 0o100755.
	Mode uint32
	// Data is a regular file's content or a symlink's target.
	Data []byte
	// RdevMajor and RdevMinor are a device node's numbers.
	RdevMajor, RdevMinor uint32
}

// Dir, File, Symlink and CharDev make records.
func Dir(name string, perm uint32) Record { return Record{Name: name, Mode: modeDir | perm} }

// File is a regular file record.
func File(name string, perm uint32, data []byte) Record {
	return Record{Name: name, Mode: modeRegular | perm, Data: data}
}

// Symlink is a symbolic link record.
func Symlink(name, target string) Record {
	return Record{Name: name, Mode: modeSymlink | 0o777, Data: []byte(target)}
}

// CharDev is a character device record.
func CharDev(name string, perm, major, minor uint32) Record {
	return Record{Name: name, Mode: modeCharDev | perm, RdevMajor: major, RdevMinor: minor}
}

const newcMagic = "070701"

// cpioTrailer is the name of the record that ends an archive.
const cpioTrailer = "TRAILER!!!"

// ReadCPIO reads a newc ("070701") archive, as u-root writes it. Hard links are not supported.
func ReadCPIO(r io.Reader) ([]Record, error) {
	br := bufio.NewReader(r)
	var recs []Record
	var off int64
	for {
		hdr := make([]byte, 110)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return nil, fmt.Errorf("cpio header at %d: %w", off, err)
		}
		if string(hdr[:6]) != newcMagic {
			return nil, fmt.Errorf("cpio header at %d: magic %q, want %q (newc)", off, hdr[:6], newcMagic)
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("cpio header at %d: field %d: %w", off, i, err)
			}
			f[i] = uint32(v)
		}
		mode, size, namesize := f[1], f[6], f[11]
		nameLen := pad4(110 + int64(namesize))
		name, err := readN(br, nameLen-110)
		if err != nil {
			return nil, fmt.Errorf("cpio name at %d: %w", off, err)
		}
		n := string(bytes.TrimRight(name[:namesize], "\x00"))
		data, err := readN(br, pad4(int64(size)))
		if err != nil {
			return nil, fmt.Errorf("cpio data of %q: %w", n, err)
		}
		off += nameLen + int64(len(data))
		if n == cpioTrailer {
			return recs, nil
		}
		n = strings.TrimPrefix(path.Clean("/"+n), "/")
		if n == "" {
			continue // "." is the root itself
		}
		if mode&modeTypeMask == modeRegular && f[4] > 1 {
			return nil, fmt.Errorf("cpio record %q: hard links are not supported", n)
		}
		recs = append(recs, Record{Name: n, Mode: mode, Data: data[:size], RdevMajor: f[9], RdevMinor: f[10]})
	}
}

// readN reads exactly n bytes, growing the buffer as they arrive: n comes from a header, and allocating
// it up front made a 112-byte archive claiming a 4 GiB file allocate 4 GiB.
func readN(r io.Reader, n int64) ([]byte, error) {
	var b bytes.Buffer
	if _, err := io.CopyN(&b, r, n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b.Bytes(), nil
}

// Normalize returns recs sorted by name, with a directory record for every missing parent, and the last
// record winning where names repeat (so later layers override earlier ones).
func Normalize(recs []Record) []Record {
	byName := map[string]Record{}
	for _, r := range recs {
		r.Name = strings.TrimPrefix(path.Clean("/"+r.Name), "/")
		if r.Name == "" {
			continue
		}
		byName[r.Name] = r
		for d := path.Dir(r.Name); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := byName[d]; !ok {
				byName[d] = Dir(d, 0o755)
			}
		}
	}
	out := make([]Record, 0, len(byName))
	for _, r := range byName {
		out = append(out, r)
	}
	// Sorting by name puts every directory before its contents ("a" < "a/b").
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WriteCPIO writes recs as a newc archive in the given order, with inode numbers counting from 1, owner
// root, mtime 0 and one link each: the output depends on nothing but recs.
func WriteCPIO(w io.Writer, recs []Record) error {
	bw := bufio.NewWriter(w)
	write := func(ino uint32, r Record) error {
		name := r.Name + "\x00"
		var size uint32
		if t := r.Mode & modeTypeMask; t == modeRegular || t == modeSymlink {
			size = uint32(len(r.Data))
		} else if len(r.Data) > 0 {
			return fmt.Errorf("cpio record %q: data on a record of mode %o", r.Name, r.Mode)
		}
		nlink := uint32(1)
		if r.Mode&modeTypeMask == modeDir {
			nlink = 2
		}
		fields := []uint32{ino, r.Mode, 0, 0, nlink, 0, size, 0, 0, r.RdevMajor, r.RdevMinor, uint32(len(name)), 0}
		bw.WriteString(newcMagic)
		for _, v := range fields {
			fmt.Fprintf(bw, "%08x", v)
		}
		bw.WriteString(name)
		bw.Write(make([]byte, pad4(110+int64(len(name)))-110-int64(len(name))))
		if size > 0 {
			bw.Write(r.Data)
			bw.Write(make([]byte, pad4(int64(size))-int64(size)))
		}
		return nil
	}
	for i, r := range recs {
		if r.Name == "" || strings.HasPrefix(r.Name, "/") {
			return fmt.Errorf("cpio record %d: name %q must be relative", i, r.Name)
		}
		// ReadCPIO cleans "./TRAILER!!!" to this; written as it is, it ended the archive early.
		if r.Name == cpioTrailer {
			return fmt.Errorf("cpio record %d: name %q is the end-of-archive marker", i, r.Name)
		}
		if err := write(uint32(i+1), r); err != nil {
			return err
		}
	}
	if err := write(0, Record{Name: cpioTrailer}); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing cpio: %w", err)
	}
	return nil
}

func pad4(n int64) int64 { return (n + 3) &^ 3 }
