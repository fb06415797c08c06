// Package boot holds the init's steps: mounts, modules, ports, the
// configuration disk, the first commit, and clean shutdown. Each step is a
// small function over an Env whose paths can point at a test tree.
package boot

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Mount is one filesystem the init mounts.
type Mount struct {
	Source, Target, FSType string
	Flags                  uintptr
	Data                   string
}

// Mounts are the filesystems every box needs, in order.
func Mounts() []Mount {
	return []Mount{
		{Source: "proc", Target: "/proc", FSType: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{Source: "sysfs", Target: "/sys", FSType: "sysfs", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{Source: "devtmpfs", Target: "/dev", FSType: "devtmpfs", Flags: unix.MS_NOSUID, Data: "mode=0755"},
		{Source: "devpts", Target: "/dev/pts", FSType: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "ptmxmode=0666,mode=0620"},
		{Source: "tmpfs", Target: "/run", FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=0755"},
		{Source: "tmpfs", Target: "/tmp", FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV},
	}
}

// DoMounts mounts each filesystem, creating its mount point. One already
// mounted (the kernel may mount devtmpfs itself) is fine.
func DoMounts(ms []Mount) error {
	var errs []error
	for _, m := range ms {
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("creating %s: %w", m.Target, err))
			continue
		}
		if err := unix.Mount(m.Source, m.Target, m.FSType, m.Flags, m.Data); err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mounting %s on %s: %w", m.FSType, m.Target, err))
		}
	}
	return errors.Join(errs...)
}
