package boot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// ErrNoConfigDisk says no filesystem carries the PALISADE label.
var ErrNoConfigDisk = errors.New("no filesystem labelled PALISADE")

// ext4 superblock fields, at offset 1024 of the filesystem.
const (
	superblockOffset = 1024
	extMagicOffset   = 0x38
	extLabelOffset   = 0x78
	extLabelLen      = 16
)

// extLabel returns the label of an ext2/3/4 filesystem, or "" if r does not
// hold one.
func extLabel(r io.ReaderAt) string {
	sb := make([]byte, 0x100)
	if _, err := r.ReadAt(sb, superblockOffset); err != nil {
		return ""
	}
	if sb[extMagicOffset] != 0x53 || sb[extMagicOffset+1] != 0xef {
		return ""
	}
	// The label is a C string: it ends at the first NUL, as e2label and blkid read it, even when the
	// bytes after it are not NUL.
	label, _, _ := bytes.Cut(sb[extLabelOffset:extLabelOffset+extLabelLen], []byte{0})
	return string(label)
}

// FindLabel returns the block device (under devDir) whose ext filesystem has
// the label. It looks at every block device sysfs lists, partitions and
// whole disks alike, in name order.
func FindLabel(sysBlock, devDir, label string) (string, error) {
	ents, err := os.ReadDir(sysBlock)
	if err != nil {
		return "", fmt.Errorf("listing block devices: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		dev := filepath.Join(devDir, n)
		f, err := os.Open(dev)
		if err != nil {
			continue
		}
		l := extLabel(f)
		f.Close()
		if l == label {
			return dev, nil
		}
	}
	return "", ErrNoConfigDisk
}
