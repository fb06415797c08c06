package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/drivers/kmod"
	"github.com/palisade/palisade/drivers/ports"
	"github.com/palisade/palisade/firmware/commit"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/software"
	"github.com/palisade/palisade/firmware/store"
)

// Paths on the box.
const (
	VersionFile = "/etc/palisade/version" // written into each slot's initrd
	BoardFile   = "/etc/palisade/board"
	ConfigMount = "/config"
)

// FactoryDefault is the configuration of a box with no configuration disk:
// a name and nothing else, so no port admits any traffic until someone
// configures zones on the serial console.
const FactoryDefault = `set system host-name palisade
`

// Box is what boot brought up, for the services that run after it.
type Box struct {
	Board    board.Board
	Ports    []ports.Port
	Store    *store.Store // nil without a configuration disk
	Pipeline *commit.Pipeline
	Netlink  *netlink.Handle
	Started  time.Time
	// Software is the A/B firmware slot this boot runs from; nil when the
	// kernel was started directly (QEMU -kernel), not from a disk slot.
	Software *software.Boot
	Version  string
}

// ExtraModules returns the modules named by palisade.modules=a,b on the
// kernel command line: a field fix (load a driver the board lacks) that
// also lets tests check that a missing module does not stop the boot.
func ExtraModules(cmdline string) []string {
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, "palisade.modules="); ok {
			return strings.FieldsFunc(v, func(r rune) bool { return r == ',' })
		}
	}
	return nil
}

func readCmdline() string {
	b, _ := os.ReadFile("/proc/cmdline")
	return string(b)
}

// ReadBoard reads the board name the image builder wrote.
func ReadBoard(path string) (board.Board, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return board.Board{}, fmt.Errorf("reading board name: %w", err)
	}
	return board.Lookup(strings.TrimSpace(string(b)))
}

// Say prints a line on the console, for what the operator must see.
type Say func(format string, a ...any)

// Up runs the boot steps in order. A step that fails is logged and boot goes
// on: a box with a missing module or no config disk must still reach its
// console.
func Up(ctx context.Context, log *slog.Logger, say Say, stages func(*Box) []commit.Stage) (*Box, error) {
	box := &Box{Started: time.Now()}
	if err := DoMounts(Mounts()); err != nil {
		log.Error("mounts", "err", err)
	}
	b, err := ReadBoard(BoardFile)
	if err != nil {
		return nil, err
	}
	box.Board = b
	box.Version = "dev"
	if v, err := os.ReadFile(VersionFile); err == nil {
		box.Version = strings.TrimSpace(string(v))
	}

	modules := slices.Concat(b.Modules, ExtraModules(readCmdline()))
	results, err := kmod.Loader{}.LoadAll(ctx, modules)
	if err != nil {
		say("modules: %v", err)
	}
	loaded := 0
	for _, r := range results {
		if r.State == kmod.Failed {
			say("module %s failed to load: %v", r.Name, r.Err)
			continue
		}
		loaded++
	}
	log.Info("modules loaded", "ok", loaded, "requested", len(results))

	// A trial boot of a new slot arms its deadline now: if the box never
	// gets to confirm, the watchdog reboots into the old slot.
	sw, err := software.StartBoot(readCmdline(), software.BootOptions{})
	if err != nil {
		say("firmware slots: %v", err)
	}
	box.Software = sw
	slot := ""
	if sw != nil {
		slot = fmt.Sprintf(", slot %s", sw.Running)
		if sw.Trying {
			slot += " (trial)"
		}
	}
	say("Palisade %s on board %s (%s)%s", box.Version, b.Name, b.Arch, slot)

	h, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("opening netlink: %w", err)
	}
	box.Netlink = h
	nics, err := ports.Discover("/sys")
	if err != nil {
		say("ports: %v", err)
	}
	box.Ports = ports.Assign(nics, b.Ports)
	if err := ports.Setup(h, box.Ports); err != nil {
		say("ports: %v", err)
	}
	for _, p := range box.Ports {
		log.Info("port", "name", p.Junos, "nic", p.NIC.Name, "driver", p.NIC.Driver, "mac", p.NIC.MAC)
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		h.LinkSetUp(lo)
	}

	box.Pipeline = &commit.Pipeline{Log: log, Present: func(junos string) bool {
		for _, p := range box.Ports {
			if p.Junos == junos {
				return true
			}
		}
		return false
	}}
	in := loadConfig(box, log, say)
	box.Pipeline.Store = box.Store
	box.Pipeline.Stages = stages(box)
	for _, w := range in.Warnings {
		log.Warn("configuration", "warning", w.Error())
	}
	// The intent was compiled (and validated) while choosing the newest
	// good configuration; it is applied as it is. The last stage turns
	// forwarding on, once the firewall of the configuration is in.
	if err := box.Pipeline.Apply(ctx, in, commit.Options{}); err != nil {
		say("applying the configuration failed: %v", err)
		return box, nil
	}
	say("configuration applied: host %s", in.Config.HostName("palisade"))
	if sw != nil && sw.Trying {
		confirmTrial(sw, say)
	}
	return box, nil
}

// loadConfig finds the PALISADE filesystem and returns the compiled intent
// of the newest good configuration on it, falling back to the factory
// default with a console message saying why. Compiling is the check of
// "good": a configuration is validated once, here, on its way to the
// kernel.
func loadConfig(box *Box, log *slog.Logger, say Say) *commit.Intent {
	factory := func(why string) *commit.Intent {
		say("%s: running the factory default configuration", why)
		c, _, err := config.Parse("factory-default", FactoryDefault)
		if err == nil {
			var in *commit.Intent
			if in, err = box.Pipeline.Compile(c); err == nil {
				return in
			}
		}
		panic("the factory default does not compile: " + err.Error())
	}
	dev, err := FindLabel("/sys/class/block", "/dev", store.Label)
	if err != nil {
		return factory("no configuration disk (no filesystem labelled " + store.Label + ")")
	}
	if err := os.MkdirAll(ConfigMount, 0o755); err != nil {
		return factory("creating " + ConfigMount + ": " + err.Error())
	}
	if err := unix.Mount(dev, ConfigMount, "ext4", unix.MS_NOATIME|unix.MS_NODEV|unix.MS_NOSUID, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return factory(fmt.Sprintf("mounting %s: %v", dev, err))
	}
	log.Info("configuration disk", "device", dev, "mount", ConfigMount)
	box.Store = &store.Store{Dir: ConfigMount}
	entries, _ := box.Store.List()
	if len(entries) == 0 {
		return factory("the configuration disk holds no configuration")
	}
	// A disk written by other means may still hold a plain-text password;
	// the compile hashes it, so the running configuration only holds the
	// hash.
	var in *commit.Intent
	e, skipped, err := box.Store.LoadGood(func(c *config.Config) error {
		var err error
		in, err = box.Pipeline.Compile(c)
		var ve *commit.ValidationError
		if errors.As(err, &ve) && len(ve.Problems) > 0 {
			return ve.Problems[0]
		}
		return err
	})
	for _, s := range skipped {
		say("configuration not usable: %v", s)
	}
	if err != nil {
		return factory(err.Error())
	}
	if len(skipped) > 0 {
		say("using the newest good configuration instead: rollback %d, committed %s", len(skipped), e.Time.Format(time.RFC3339))
	}
	return in
}

// Shutdown syncs and unmounts the configuration disk, then reboots or powers
// off. It returns only on failure.
func Shutdown(powerOff bool) error {
	unix.Sync()
	// An unmounted ESP has its FAT dirty bit cleared.
	unix.Unmount(software.ESPMount, 0)
	if err := unix.Unmount(ConfigMount, 0); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		// Remount read-only so the journal is clean even if a file is open.
		unix.Mount("", ConfigMount, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	}
	unix.Sync()
	cmd := unix.LINUX_REBOOT_CMD_RESTART
	if powerOff {
		cmd = unix.LINUX_REBOOT_CMD_POWER_OFF
	}
	return unix.Reboot(cmd)
}
