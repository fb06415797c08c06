package software

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade/palisade/drivers/blockdev"
)

// Kernel command line parameters the slots' entries carry.
const (
	// CmdlineSlot names the slot the kernel was booted from: palisade.slot=a.
	CmdlineSlot = "palisade.slot"
	// CmdlineDeadline overrides DefaultDeadline for a trial boot, in seconds: palisade.deadline=120.
	CmdlineDeadline = "palisade.deadline"
)

// ESPPartName is the GPT partition name of Palisade's EFI system partition; the kernel shows it as
// PARTNAME in the partition's uevent, which is how the box finds the partition without reading the
// partition table itself.
const ESPPartName = "palisade-esp"

// ESPMount is where the init mounts the ESP.
const ESPMount = "/boot"

// cmdlineValue returns the value of key=value on the kernel command line.
func cmdlineValue(cmdline, key string) (string, bool) {
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// BootedSlot returns the slot named by palisade.slot on the kernel command line.
func BootedSlot(cmdline string) (Slot, bool) {
	v, ok := cmdlineValue(cmdline, CmdlineSlot)
	if !ok {
		return "", false
	}
	s, err := ParseSlot(v)
	return s, err == nil
}

// Deadline returns how long a trial boot has to confirm: palisade.deadline, else DefaultDeadline.
func Deadline(cmdline string) time.Duration {
	if v, ok := cmdlineValue(cmdline, CmdlineDeadline); ok {
		// The watchdog takes its timeout as a C int of seconds, and a larger n would also overflow the
		// Duration: 18446744074 seconds came out as 0.29 s.
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= math.MaxInt32 {
			return time.Duration(n) * time.Second
		}
	}
	return DefaultDeadline
}

// FindESP returns the device (under devDir) of the partition named ESPPartName, looking at every block
// device sysBlock (/sys/class/block) lists, in name order. When there is none the error wraps
// os.ErrNotExist.
func FindESP(sysBlock, devDir string) (string, error) {
	dev, err := blockdev.Find(sysBlock, devDir, blockdev.PartName(ESPPartName))
	if err != nil {
		return "", fmt.Errorf("no partition named %s among the block devices: %w", ESPPartName, err)
	}
	return dev, nil
}

// MountESP mounts the FAT filesystem of dev on dir, read-write: confirming a trial renames its loader
// entry. It needs the modules vfat, nls_cp437 and nls_ascii (the kernel's default codepage and iocharset
// for FAT).
func MountESP(dev, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	err := unix.Mount(dev, dir, "vfat", unix.MS_NOATIME|unix.MS_NODEV|unix.MS_NOSUID|unix.MS_NOEXEC, "")
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mounting the ESP %s on %s: %w", dev, dir, err)
	}
	return nil
}

// Watchdog is an armed boot deadline: if the firmware neither confirms nor disarms it in time, the kernel
// reboots the box, and systemd-boot, finding the trial's tries used up, boots the old slot.
type Watchdog struct{ f *os.File }

// ArmWatchdog opens the watchdog device (/dev/watchdog; the module softdog provides one on any board,
// a hardware watchdog also catches a hung kernel) and sets its timeout to d. Nothing pets it: the
// deadline is for the whole boot, not a liveness check.
func ArmWatchdog(dev string, d time.Duration) (*Watchdog, error) {
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("arming the boot deadline: %w", err)
	}
	secs := int(d.Round(time.Second) / time.Second)
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.WDIOC_SETTIMEOUT, secs); err != nil {
		f.Close()
		return nil, fmt.Errorf("arming the boot deadline: setting the timeout of %s to %ds: %w", dev, secs, err)
	}
	// The new timeout counts from now.
	if err := unix.IoctlSetInt(int(f.Fd()), unix.WDIOC_KEEPALIVE, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("arming the boot deadline: %w", err)
	}
	return &Watchdog{f: f}, nil
}

// Disarm stops the watchdog with the magic close ('V', then close), which the kernel honours unless it
// was built with nowayout.
func (w *Watchdog) Disarm() error {
	_, werr := w.f.Write([]byte("V"))
	if err := errors.Join(werr, w.f.Close()); err != nil {
		return fmt.Errorf("disarming the boot deadline: %w", err)
	}
	return nil
}

// Boot is the running firmware's hold on its slots, for the init: StartBoot early in the boot, Confirm
// once the configuration is applied.
type Boot struct {
	// ESP is the mounted EFI system partition.
	ESP DirFS
	// Running is the slot the kernel booted from.
	Running Slot
	// Trying is true when this boot is a trial that must confirm before Deadline.
	Trying   bool
	Deadline time.Duration
	watchdog *Watchdog
}

// BootOptions are the paths StartBoot uses; the zero value means the box's own.
type BootOptions struct {
	SysBlock, DevDir, Mount, WatchdogDev string
}

func (o BootOptions) withDefaults() BootOptions {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.SysBlock, "/sys/class/block")
	def(&o.DevDir, "/dev")
	def(&o.Mount, ESPMount)
	def(&o.WatchdogDev, "/dev/watchdog")
	return o
}

// StartBoot mounts the ESP and, when this boot is a trial, arms the deadline. It returns nil and no
// error when the kernel was not booted from a slot (QEMU's -kernel, a netboot): there is nothing to
// confirm then. When the deadline cannot be armed the boot goes on and the error says why: a trial
// without a deadline still falls back on the next power cycle.
func StartBoot(cmdline string, o BootOptions) (*Boot, error) {
	running, ok := BootedSlot(cmdline)
	if !ok {
		return nil, nil
	}
	o = o.withDefaults()
	dev, err := FindESP(o.SysBlock, o.DevDir)
	if err != nil {
		return nil, err
	}
	if err := MountESP(dev, o.Mount); err != nil {
		return nil, err
	}
	b := &Boot{ESP: DirFS{Root: o.Mount}, Running: running, Deadline: Deadline(cmdline)}
	st, err := Read(b.ESP, running)
	if err != nil {
		return b, err
	}
	cur := st.Slot(running)
	b.Trying = cur.Installed && cur.Entry.Counting
	if b.Trying {
		if b.watchdog, err = ArmWatchdog(o.WatchdogDev, b.Deadline); err != nil {
			return b, err
		}
	}
	return b, nil
}

// State reads both slots.
func (b *Boot) State() (State, error) { return Read(b.ESP, b.Running) }

// Confirm makes the running slot the default and disarms the deadline.
func (b *Boot) Confirm() error {
	if err := Confirm(b.ESP, b.Running); err != nil {
		return err
	}
	b.Trying = false
	if b.watchdog != nil {
		w := b.watchdog
		b.watchdog = nil
		return w.Disarm()
	}
	return nil
}
