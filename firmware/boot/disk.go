package boot

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/palisade/palisade/drivers/blockdev"
)

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
// the label. It looks at every block device sysBlock (/sys/class/block)
// lists, partitions and whole disks alike, in name order: a disk written
// whole by palisade-cfg has no partition table. When none has the label the
// error wraps os.ErrNotExist.
func FindLabel(sysBlock, devDir, label string) (string, error) {
	dev, err := blockdev.Find(sysBlock, devDir, func(d blockdev.Device) bool {
		f, err := os.Open(d.Node)
		if err != nil {
			return false
		}
		defer f.Close()
		// extLabel says "" for a device without an ext filesystem too: an
		// empty label must not pick the first disk that is not one.
		l := extLabel(f)
		return l != "" && l == label
	})
	if err != nil {
		return "", fmt.Errorf("no filesystem labelled %s among the block devices: %w", label, err)
	}
	return dev, nil
}
