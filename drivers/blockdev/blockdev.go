// Package blockdev finds the box's block devices by what they hold, before
// anything is mounted: the init looks for its configuration filesystem by
// label and for the EFI system partition by GPT partition name. It reads
// only what the kernel already parsed, /sys/class/block and the device
// nodes, never a partition table, so it finds exactly the devices the kernel
// can mount.
//
// It imports nothing else of Palisade's.
package blockdev

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Device is one block device that sysfs lists: a whole disk or a partition.
type Device struct {
	// Name is the kernel's name for it: vda, vda1, mmcblk0p2.
	Name string
	// Sys is its directory under the sysBlock given to Find.
	Sys string
	// Node is its device node under the devDir given to Find.
	Node string
}

// Find returns the node of the first block device that match accepts,
// looking at every device sysBlock (/sys/class/block) lists, partitions and
// whole disks alike, in name order so that the same disks give the same
// answer on every boot. When none matches the error is os.ErrNotExist, for
// the caller to wrap with what it looked for.
func Find(sysBlock, devDir string, match func(Device) bool) (string, error) {
	// ReadDir sorts by name.
	ents, err := os.ReadDir(sysBlock)
	if err != nil {
		return "", fmt.Errorf("listing block devices: %w", err)
	}
	for _, e := range ents {
		d := Device{Name: e.Name(), Sys: filepath.Join(sysBlock, e.Name()), Node: filepath.Join(devDir, e.Name())}
		if match(d) {
			return d.Node, nil
		}
	}
	return "", os.ErrNotExist
}

// PartName matches the partition whose GPT partition name is name. The
// kernel reports it as PARTNAME= in the partition's uevent; a device without
// a readable uevent does not match.
func PartName(name string) func(Device) bool {
	return func(d Device) bool {
		ev, err := os.ReadFile(filepath.Join(d.Sys, "uevent"))
		if err != nil {
			return false
		}
		for _, line := range strings.Split(string(ev), "\n") {
			if line == "PARTNAME="+name {
				return true
			}
		}
		return false
	}
}
