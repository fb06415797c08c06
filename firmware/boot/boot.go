package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
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

	portsMu sync.Mutex // guards Ports once boot is done: hot-plugged NICs are added
}

// PortList returns the ports: boot's, and those adopted since.
func (b *Box) PortList() []ports.Port {
	b.portsMu.Lock()
	defer b.portsMu.Unlock()
	return slices.Clone(b.Ports)
}

// AdoptPorts names the NICs that appeared since boot (see ports.Adopt) and
// adds them to the box's ports, returning the new ones.
func (b *Box) AdoptPorts(sysfs string) ([]ports.Port, error) {
	b.portsMu.Lock()
	defer b.portsMu.Unlock()
	fresh, err := ports.Adopt(b.Netlink, sysfs, b.Board.Ports, b.Ports)
	b.Ports = append(b.Ports, fresh...)
	return fresh, err
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

// Env is what the boot steps touch: files, the kernel, the clock and the
// console. Real gives the box's; tests point the paths at a tree of their
// own and fake what a test process cannot do (mounts, modules, firmware
// slots, the configuration disk).
type Env struct {
	Log *slog.Logger
	Say Say
	Now func() time.Time
	// Files the image builder and the kernel provide.
	BoardFile, VersionFile, CmdlineFile string
	// Sysfs is where ports are discovered (/sys).
	Sysfs string
	// Mount makes the early filesystems (proc, sys, dev, ...).
	Mount func() error
	// LoadModules loads kernel modules in order.
	LoadModules func(ctx context.Context, names []string) ([]kmod.Result, error)
	// StartSlot starts the boot of an A/B firmware slot (nil, nil when the
	// kernel was not started from one).
	StartSlot func(cmdline string) (*software.Boot, error)
	// Netlink opens the handle that ports and the commit stages use.
	Netlink func() (*netlink.Handle, error)
	// ConfigDisk finds and mounts the PALISADE filesystem and returns
	// its mount point.
	ConfigDisk func(log *slog.Logger) (string, error)
}

// Real is the box's environment.
func Real(log *slog.Logger, say Say) Env {
	return Env{
		Log: log, Say: say, Now: time.Now,
		BoardFile: BoardFile, VersionFile: VersionFile, CmdlineFile: "/proc/cmdline", Sysfs: "/sys",
		Mount:       func() error { return DoMounts(Mounts()) },
		LoadModules: kmod.Loader{}.LoadAll,
		StartSlot: func(cmdline string) (*software.Boot, error) {
			return software.StartBoot(cmdline, software.BootOptions{})
		},
		Netlink:    func() (*netlink.Handle, error) { return netlink.NewHandle() },
		ConfigDisk: mountConfigDisk,
	}
}

func (env *Env) cmdline() string {
	b, _ := os.ReadFile(env.CmdlineFile)
	return string(b)
}

// Step is one boot step. A step that fails is logged (or said on the
// console, where the operator must see it) and boot goes on: a box with a
// missing module or no configuration disk must still reach its console.
// Only a Required step ends the boot, when nothing after it could run.
type Step struct {
	Name     string
	Required bool
	Run      func(ctx context.Context, env *Env, box *Box) error
}

// Steps are the boot, in order. stages gives the commit stages once the
// kernel handles exist.
func Steps(stages func(*Box) []commit.Stage) []Step {
	return []Step{
		{Name: "mounts", Run: func(_ context.Context, env *Env, _ *Box) error { return env.Mount() }},
		{Name: "board", Required: true, Run: readBoardStep},
		{Name: "modules", Run: loadModules},
		{Name: "firmware slot", Run: startSlot},
		{Name: "ports", Required: true, Run: setupPorts},
		{Name: "configuration", Run: func(ctx context.Context, env *Env, box *Box) error {
			return applyConfig(ctx, env, box, stages)
		}},
	}
}

// Up runs the boot steps in order over env.
func Up(ctx context.Context, env Env, stages func(*Box) []commit.Stage) (*Box, error) {
	box := &Box{Started: env.Now()}
	for _, st := range Steps(stages) {
		if err := st.Run(ctx, &env, box); err != nil {
			if st.Required {
				return nil, fmt.Errorf("boot step %s: %w", st.Name, err)
			}
			env.Log.Error("boot step failed; going on", "step", st.Name, "err", err)
		}
	}
	return box, nil
}

func readBoardStep(_ context.Context, env *Env, box *Box) error {
	b, err := ReadBoard(env.BoardFile)
	if err != nil {
		return err
	}
	box.Board = b
	box.Version = "dev"
	if v, err := os.ReadFile(env.VersionFile); err == nil {
		box.Version = strings.TrimSpace(string(v))
	}
	return nil
}

func loadModules(ctx context.Context, env *Env, box *Box) error {
	modules := slices.Concat(box.Board.Modules, ExtraModules(env.cmdline()))
	results, err := env.LoadModules(ctx, modules)
	if err != nil {
		env.Say("modules: %v", err)
	}
	loaded := 0
	for _, r := range results {
		if r.State == kmod.Failed {
			env.Say("module %s failed to load: %v", r.Name, r.Err)
			continue
		}
		loaded++
	}
	env.Log.Info("modules loaded", "ok", loaded, "requested", len(results))
	return nil
}

// startSlot arms the deadline of a trial boot of a new slot: if the box
// never gets to confirm, the watchdog reboots into the old slot.
func startSlot(_ context.Context, env *Env, box *Box) error {
	sw, err := env.StartSlot(env.cmdline())
	if err != nil {
		env.Say("firmware slots: %v", err)
	}
	box.Software = sw
	slot := ""
	if sw != nil {
		slot = fmt.Sprintf(", slot %s", sw.Running)
		if sw.Trying {
			slot += " (trial)"
		}
	}
	env.Say("Palisade %s on board %s (%s)%s", box.Version, box.Board.Name, box.Board.Arch, slot)
	return nil
}

func setupPorts(_ context.Context, env *Env, box *Box) error {
	h, err := env.Netlink()
	if err != nil {
		return fmt.Errorf("opening netlink: %w", err)
	}
	box.Netlink = h
	nics, err := ports.Discover(env.Sysfs)
	if err != nil {
		env.Say("ports: %v", err)
	}
	box.Ports = ports.Assign(nics, box.Board.Ports)
	if err := ports.Setup(h, box.Ports); err != nil {
		env.Say("ports: %v", err)
	}
	for _, p := range box.Ports {
		env.Log.Info("port", "name", p.Junos, "nic", p.NIC.Name, "driver", p.NIC.Driver, "mac", p.NIC.MAC)
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		h.LinkSetUp(lo)
	}
	return nil
}

// applyConfig makes the pipeline and applies the newest good stored
// configuration (or the factory default).
func applyConfig(ctx context.Context, env *Env, box *Box, stages func(*Box) []commit.Stage) error {
	box.Pipeline = &commit.Pipeline{Log: env.Log, Present: func(junos string) bool {
		for _, p := range box.PortList() {
			if p.Junos == junos {
				return true
			}
		}
		return false
	}}
	in := loadConfig(box, env)
	box.Pipeline.Store = box.Store
	box.Pipeline.Stages = stages(box)
	for _, w := range in.Warnings {
		env.Log.Warn("configuration", "warning", w.Error())
	}
	// The intent was compiled (and validated) while choosing the newest
	// good configuration; it is applied as it is. The last stage turns
	// forwarding on, once the firewall of the configuration is in.
	if err := box.Pipeline.Apply(ctx, in, commit.Options{}); err != nil {
		env.Say("applying the configuration failed: %v", err)
		return nil
	}
	env.Say("configuration applied: host %s", in.Config.HostName("palisade"))
	if box.Software != nil && box.Software.Trying {
		confirmTrial(box.Software, env.Say)
	}
	return nil
}

// mountConfigDisk finds the PALISADE filesystem and mounts it.
func mountConfigDisk(log *slog.Logger) (string, error) {
	dev, err := FindLabel("/sys/class/block", "/dev", store.Label)
	if err != nil {
		return "", fmt.Errorf("no configuration disk (no filesystem labelled %s)", store.Label)
	}
	if err := os.MkdirAll(ConfigMount, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", ConfigMount, err)
	}
	if err := unix.Mount(dev, ConfigMount, "ext4", unix.MS_NOATIME|unix.MS_NODEV|unix.MS_NOSUID, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return "", fmt.Errorf("mounting %s: %w", dev, err)
	}
	log.Info("configuration disk", "device", dev, "mount", ConfigMount)
	return ConfigMount, nil
}

// loadConfig finds the PALISADE filesystem and returns the compiled intent
// of the newest good configuration on it, falling back to the factory
// default with a console message saying why. Compiling is the check of
// "good": a configuration is validated once, here, on its way to the
// kernel.
func loadConfig(box *Box, env *Env) *commit.Intent {
	factory := func(why string) *commit.Intent {
		env.Say("%s: running the factory default configuration", why)
		c, _, err := config.Parse("factory-default", FactoryDefault)
		if err == nil {
			var in *commit.Intent
			if in, err = box.Pipeline.Compile(c); err == nil {
				return in
			}
		}
		panic("the factory default does not compile: " + err.Error())
	}
	dir, err := env.ConfigDisk(env.Log)
	if err != nil {
		return factory(err.Error())
	}
	box.Store = &store.Store{Dir: dir}
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
		env.Say("configuration not usable: %v", s)
	}
	if err != nil {
		return factory(err.Error())
	}
	if len(skipped) > 0 {
		env.Say("using the newest good configuration instead: rollback %d, committed %s", len(skipped), e.Time.Format(time.RFC3339))
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
