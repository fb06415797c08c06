package disk

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/software"
	"github.com/palisade/palisade/image"
	"github.com/palisade/palisade/qemu"
	"github.com/palisade/palisade/tools/cfgdisk"
)

// The VM tests build disk images from the kernel in cache/ and the initramfs `make images` wrote to
// out/BOARD, and boot them under UEFI firmware. They run with PALISADE_VM=1, one at a time.

const repo = "../.."

type vmFixture struct {
	b         board.Board
	kernel    string // EFI stub
	initramfs string
	loader    string
	dir       string
}

func vmSetup(t *testing.T, name string) vmFixture {
	t.Helper()
	if os.Getenv("PALISADE_VM") != "1" {
		t.Skip("VM test: set PALISADE_VM=1 (make test-vm) to boot QEMU guests")
	}
	b, err := board.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath(b.QEMU.Binary); err != nil {
		t.Skipf("VM test: %s not installed (make deps)", b.QEMU.Binary)
	}
	_, initramfs := qemu.ImagePaths(filepath.Join(repo, "out"), name)
	if _, err := os.Stat(initramfs); err != nil {
		t.Fatalf("build the image first (make image BOARD=%s): %v", name, err)
	}
	ctx := context.Background()
	logf := func(format string, args ...any) { t.Logf(format, args...) }
	k, err := image.FetchKernel(ctx, filepath.Join(repo, "cache"), b, logf)
	if err != nil {
		t.Fatal(err)
	}
	loader, err := FetchSystemdBoot(ctx, filepath.Join(repo, "cache"), b.Arch, logf)
	if err != nil {
		t.Fatal(err)
	}
	return vmFixture{b: b, kernel: k.Image, initramfs: initramfs, loader: loader, dir: t.TempDir()}
}

// disk builds a disk image of version v whose PALISADE partition holds a configuration naming the host.
func (f vmFixture) disk(t *testing.T, version, host string) string {
	t.Helper()
	c, _, err := config.Parse("test.set", "set system host-name "+host+"\n")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(f.dir, "config.img")
	if err := cfgdisk.Build(c, cfg, time.Unix(1_800_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(f.dir, "palisade.img")
	start := time.Now()
	if err := Build(context.Background(), Options{
		Board: f.b, Kernel: f.kernel, Initramfs: f.initramfs, Version: version, BootLoader: f.loader, ConfigImage: cfg,
	}, out); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s (version %s) in %v", out, version, time.Since(start).Round(time.Millisecond))
	return out
}

func (f vmFixture) start(t *testing.T, img string) (*qemu.Lab, *qemu.Guest) {
	t.Helper()
	efi, err := qemu.NewEFI(f.b, img, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	lab := qemu.StartT(t, qemu.Topology{Boxes: []qemu.Box{{Name: "box", Board: f.b, EFI: efi, Timeout: 5 * time.Minute}}})
	return lab, lab.Guest("box")
}

func expect(t *testing.T, g *qemu.Guest, timeout time.Duration, re string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := g.Expect(ctx, regexp.MustCompile(re))
	if err != nil {
		t.Fatalf("waiting for %q: %v", re, err)
	}
	return out
}

// bootToLogin waits for the configuration from the PALISADE partition and the login prompt, and returns
// what the console printed on the way.
func bootToLogin(t *testing.T, g *qemu.Guest, host string) string {
	t.Helper()
	start := time.Now()
	out := expect(t, g, 4*time.Minute, `configuration applied: host `+regexp.QuoteMeta(host))
	out += expect(t, g, time.Minute, `login: $`)
	t.Logf("%s: login prompt %v after QEMU started", g.Box.Board.Name, time.Since(start).Round(100*time.Millisecond))
	return out
}

func TestVMDiskBoot(t *testing.T) {
	for _, name := range []string{"qemu-x86_64", "qemu-arm64"} {
		t.Run(name, func(t *testing.T) {
			f := vmSetup(t, name)
			img := f.disk(t, "1.0-vm", "disk-"+strings.ReplaceAll(strings.TrimPrefix(name, "qemu-"), "_", "-"))
			_, g := f.start(t, img)
			out := bootToLogin(t, g, "disk-"+strings.ReplaceAll(strings.TrimPrefix(name, "qemu-"), "_", "-"))
			if !strings.Contains(out, "/dev/vda2") {
				t.Errorf("the configuration did not come from partition 2 of the disk:\n%s", out)
			}
		})
	}
}

// installOnHost writes a bundle of version into the image's inactive slot as `request system software
// add` does on the box, with a marker on the new slot's command line: palisade.modules names a module
// that does not exist, and the init says so on the console, which shows which entry booted.
func (f vmFixture) installOnHost(t *testing.T, img, version string) (marker string) {
	t.Helper()
	var bundle bytes.Buffer
	if err := WriteBundle(&bundle, f.b, version, f.kernel, f.initramfs); err != nil {
		t.Fatal(err)
	}
	d, esp, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	marker = "palisade_version_" + strings.NewReplacer(".", "_", "-", "_").Replace(version)
	st, err := software.Read(esp, "")
	if err != nil {
		t.Fatal(err)
	}
	running, _ := st.Default()
	if _, err := software.Add(context.Background(), esp, &bundle, software.AddOptions{
		Board: f.b.Name, KernelArgs: KernelArgs(f.b), Running: running, ExtraArgs: "palisade.modules=" + marker,
	}); err != nil {
		t.Fatal(err)
	}
	return marker
}

func readState(t *testing.T, img string) software.State {
	t.Helper()
	d, esp, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, err := software.Read(esp, "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	st.Write(&b)
	names, _ := esp.ReadDir(software.EntriesDir)
	t.Logf("slots (entries %v):\n%s", names, b.String())
	return st
}

// TestVMUpgrade installs a second version, boots it on trial, and checks both ends of the trial: a boot
// that is not confirmed returns to the old version by itself on the next boot, and a confirmed one stays.
// Until the init confirms by itself (software.StartBoot/Confirm), the test confirms from the host between
// boots, and the never-confirming firmware is the current one: a power cycle stands in for the watchdog.
func TestVMUpgrade(t *testing.T) {
	f := vmSetup(t, "qemu-x86_64")
	const host = "upgrade-box"
	img := f.disk(t, "1.0-vm", host)
	lab, g := f.start(t, img)
	ctx := context.Background()
	// boot powers the box off (it has no disk writes pending once at the login prompt) and on again.
	boot := func() *qemu.Guest {
		t.Helper()
		g.Kill()
		ng, err := lab.Restart(ctx, "box")
		if err != nil {
			t.Fatal(err)
		}
		g = ng
		return ng
	}
	bootToLogin(t, g, host)
	testStart := time.Now()

	// Version 2 on trial, never confirmed.
	g.Kill()
	marker := f.installOnHost(t, img, "2.0-vm")
	if st := readState(t, img); !st.B.Trying() {
		t.Fatalf("after add, slot B is not on trial: %+v", st.B)
	}
	out := bootToLogin(t, boot(), host)
	if !strings.Contains(out, marker) {
		t.Fatalf("the trial boot did not run slot B (no %s on the console):\n%s", marker, out)
	}
	if strings.Contains(out, "firmware slot B confirmed") {
		// The real init confirms a trial once it has applied the
		// configuration. The new version must then stay, with the same
		// configuration (the host name in the prompt), across reboots.
		for i := 0; i < 2; i++ {
			out = bootToLogin(t, boot(), host)
			if !strings.Contains(out, marker) || strings.Contains(out, "(trial)") {
				t.Fatalf("boot %d after the init confirmed slot B: not the confirmed slot B (no %s):\n%s", i+1, marker, out)
			}
		}
		t.Logf("upgrade confirmed by the init and kept over 2 reboots, %v after the upgrade started", time.Since(testStart).Round(time.Second))
		// The never-confirms case is TestVMTrialBoot: a trial that hangs is
		// rebooted by the watchdog into slot A.
		return
	}
	g.Kill()
	st := readState(t, img)
	if !st.B.Failed() {
		t.Fatalf("after the trial boot, slot B should have no tries left: %+v", st.B)
	}
	out = bootToLogin(t, boot(), host)
	if strings.Contains(out, marker) {
		t.Fatalf("after an unconfirmed trial the box booted slot B again:\n%s", out)
	}
	t.Logf("never confirmed: back on slot A (version 1.0-vm), %v after the upgrade started", time.Since(testStart).Round(time.Second))

	// Version 3 on trial, confirmed.
	g.Kill()
	marker = f.installOnHost(t, img, "3.0-vm")
	out = bootToLogin(t, boot(), host)
	if !strings.Contains(out, marker) {
		t.Fatalf("the trial boot did not run slot B (no %s on the console):\n%s", marker, out)
	}
	g.Kill()
	func() {
		d, esp, err := Open(img)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := software.Confirm(esp, software.SlotB); err != nil {
			t.Fatal(err)
		}
	}()
	for i := 0; i < 2; i++ {
		out = bootToLogin(t, boot(), host)
		if !strings.Contains(out, marker) {
			t.Fatalf("boot %d after confirming: not slot B (no %s):\n%s", i+1, marker, out)
		}
	}
	g.Kill()
	st = readState(t, img)
	if next, _ := st.Next(); st.B.Version != "3.0-vm" || next != software.SlotB {
		t.Fatalf("after confirming, B should be version 3.0-vm and boot next: %+v", st)
	}
	t.Logf("upgrade test: %v for 5 boots", time.Since(testStart).Round(time.Second))
}

// trialFixture is vmFixture with an initramfs whose init is the stand-in internal/trialinit, which does
// what the init must do with the slots (StartBoot, Confirm) and nothing else.
func trialFixture(t *testing.T, name string) vmFixture {
	t.Helper()
	f := vmSetup(t, name)
	b := f.b
	// The stand-in's own modules (its Modules, kept in sync by hand: it is a main package).
	b.Modules = []string{"virtio_pci", "virtio_blk", "vfat", "nls_cp437", "nls_ascii", "softdog"}
	q := *b.QEMU
	q.PVH = false // only the initramfs is used; the disk boots the EFI stub
	b.QEMU = &q
	start := time.Now()
	res, err := image.Build(context.Background(), image.Options{
		Board: b, ModuleDir: repo, Init: "./image/disk/internal/trialinit", CacheDir: filepath.Join(repo, "cache"),
		OutDir: filepath.Join(f.dir, "trial"), Commands: []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.MissingModules) > 0 {
		t.Fatalf("kernel lacks %v", res.MissingModules)
	}
	t.Logf("built the trial initramfs in %v", time.Since(start).Round(100*time.Millisecond))
	f.initramfs = res.Initramfs
	return f
}

// installTrial writes version into the inactive slot with a short deadline, as `request system software
// add` does on the box.
func (f vmFixture) installTrial(t *testing.T, img, version, extra string, deadline time.Duration) {
	t.Helper()
	var bundle bytes.Buffer
	if err := WriteBundle(&bundle, f.b, version, f.kernel, f.initramfs); err != nil {
		t.Fatal(err)
	}
	d, esp, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, err := software.Read(esp, "")
	if err != nil {
		t.Fatal(err)
	}
	running, _ := st.Default()
	if _, err := software.Add(context.Background(), esp, &bundle, software.AddOptions{
		Board: f.b.Name, KernelArgs: KernelArgs(f.b), Running: running, Deadline: deadline, ExtraArgs: extra,
	}); err != nil {
		t.Fatal(err)
	}
}

// TestVMTrialBoot runs the in-guest half of an upgrade with the stand-in init: a trial that hangs is
// rebooted by the watchdog at its deadline and the box comes back on the old slot by itself; a trial
// that confirms renames its own loader entry through Linux's vfat and stays.
func TestVMTrialBoot(t *testing.T) {
	f := trialFixture(t, "qemu-x86_64")
	img := filepath.Join(f.dir, "palisade.img")
	if err := Build(context.Background(), Options{
		Board: f.b, Kernel: f.kernel, Initramfs: f.initramfs, Version: "1.0-trial", BootLoader: f.loader,
	}, img); err != nil {
		t.Fatal(err)
	}
	lab, g := f.start(t, img)
	ctx := context.Background()
	boot := func() *qemu.Guest {
		t.Helper()
		ng, err := lab.Restart(ctx, "box")
		if err != nil {
			t.Fatal(err)
		}
		g = ng
		return ng
	}
	expect(t, g, 3*time.Minute, `trialinit: slot A version 1.0-trial trying false`)
	expect(t, g, time.Minute, `trialinit: up`)
	g.Kill()

	// A trial that hangs: the watchdog ends it at the deadline, and the next boot is slot A.
	const deadline = 20 * time.Second
	f.installTrial(t, img, "2.0-hang", "palisade.test.hang=1", deadline)
	boot()
	expect(t, g, 3*time.Minute, `trialinit: slot B version 2.0-hang trying true deadline 20s`)
	expect(t, g, time.Minute, `trialinit: hanging`)
	hung := time.Now()
	wctx, cancel := context.WithTimeout(ctx, deadline+time.Minute)
	defer cancel()
	g.Wait(wctx) // QEMU exits on the guest's reboot (-no-reboot)
	if wctx.Err() != nil {
		t.Fatalf("the hung trial was not rebooted within %v", deadline+time.Minute)
	}
	t.Logf("the watchdog rebooted the hung trial %v after it hung (deadline %v)", time.Since(hung).Round(100*time.Millisecond), deadline)
	if st := readState(t, img); !st.B.Failed() {
		t.Fatalf("slot B should have failed: %+v", st.B)
	}
	boot()
	expect(t, g, 3*time.Minute, `trialinit: slot A version 1.0-trial trying false`)
	expect(t, g, time.Minute, `trialinit: up`)
	g.Kill()

	// A trial that confirms stays.
	f.installTrial(t, img, "3.0-good", "", deadline)
	boot()
	expect(t, g, 3*time.Minute, `trialinit: slot B version 3.0-good trying true`)
	expect(t, g, time.Minute, `trialinit: confirmed`)
	expect(t, g, time.Minute, `trialinit: up`)
	// Past the deadline: the watchdog was disarmed.
	time.Sleep(deadline + 5*time.Second)
	select {
	case <-g.Exited():
		t.Fatal("the box rebooted after confirming: the watchdog was not disarmed")
	default:
	}
	g.Kill()
	if st := readState(t, img); st.B.Entry.Counting || st.B.EntryFile != "palisade-b.conf" {
		t.Fatalf("slot B should be confirmed by the guest: %+v", st.B)
	}
	boot()
	expect(t, g, 3*time.Minute, `trialinit: slot B version 3.0-good trying false`)
	g.Kill()
}
