// Command trialinit is a stand-in init for the VM test of trial boots: it does, with nothing else around
// it, what Palisade's init does with the slots (software.StartBoot early, Confirm once up), so the test
// proves the mechanism in a real kernel: the ESP mounted read-write through vfat, the loader entry renamed
// by Linux, the watchdog rebooting a trial that hangs.
//
// palisade.test.hang=1 on the kernel command line makes it hang instead of confirming, as a broken
// firmware would.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/palisade/palisade/drivers/kmod"
	"github.com/palisade/palisade/firmware/boot"
	"github.com/palisade/palisade/firmware/software"
)

// Modules is what the stand-in needs: the disk, FAT with the kernel's default codepage and iocharset,
// and a watchdog. The VM test builds the initramfs with the same list.
func Modules() []string {
	return []string{"virtio_pci", "virtio_blk", "vfat", "nls_cp437", "nls_ascii", "softdog"}
}

func main() {
	say := func(format string, a ...any) { fmt.Printf("trialinit: "+format+"\n", a...) }
	if err := boot.DoMounts(boot.Mounts()); err != nil {
		say("mounts: %v", err)
	}
	if _, err := (kmod.Loader{}).LoadAll(context.Background(), Modules()); err != nil {
		say("modules: %v", err)
	}
	cmdline, _ := os.ReadFile("/proc/cmdline")
	version, _ := os.ReadFile("/etc/palisade/version")
	// The disk's partitions may appear a moment after virtio_blk is loaded.
	var b *software.Boot
	var err error
	for i := 0; i < 50; i++ {
		if b, err = software.StartBoot(string(cmdline), software.BootOptions{}); err == nil || !strings.Contains(err.Error(), "no partition") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		say("start: %v", err)
	}
	if b == nil {
		say("not booted from a slot")
		hang()
	}
	say("slot %s version %s trying %v deadline %v", b.Running, strings.TrimSpace(string(version)), b.Trying, b.Deadline)
	if strings.Contains(string(cmdline), "palisade.test.hang=1") {
		say("hanging")
		hang()
	}
	if b.Trying {
		if err := b.Confirm(); err != nil {
			say("confirm: %v", err)
		} else {
			say("confirmed")
		}
	}
	if st, err := b.State(); err == nil {
		var s strings.Builder
		st.Write(&s)
		fmt.Print(s.String())
	}
	say("up")
	hang()
}

// hang blocks forever without letting the Go runtime call it a deadlock (which would end PID 1 and
// panic the kernel: a reboot, but not the watchdog's).
func hang() {
	for {
		time.Sleep(time.Hour)
	}
}
