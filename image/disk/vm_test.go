package disk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

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

// disk builds a disk image of version v whose PALISADE partition holds a configuration naming the host,
// plus the extra set commands.
func (f vmFixture) disk(t *testing.T, version, host string, extra ...string) string {
	t.Helper()
	c, _, err := config.Parse("test.set", "set system host-name "+host+"\n"+strings.Join(extra, "\n")+"\n")
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

// start boots img under UEFI, with the box's ports on the given host nets.
func (f vmFixture) start(t *testing.T, img string, nets ...qemu.HostNet) (*qemu.Lab, *qemu.Guest) {
	t.Helper()
	efi, err := qemu.NewEFI(f.b, img, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	lab := qemu.StartT(t, qemu.Topology{Boxes: []qemu.Box{{Name: "box", Board: f.b, EFI: efi, Timeout: 5 * time.Minute}}, HostNets: nets})
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
// that does not exist, and the init says so on the console, which shows which entry booted. A non-zero
// deadline is the trial's (palisade.deadline); initramfs "" is the one `make images` wrote.
func (f vmFixture) installOnHost(t *testing.T, img, version, initramfs string, deadline time.Duration) (marker string) {
	t.Helper()
	if initramfs == "" {
		initramfs = f.initramfs
	}
	var bundle bytes.Buffer
	if err := WriteBundle(&bundle, f.b, version, f.kernel, initramfs); err != nil {
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
		Board: f.b.Name, KernelArgs: KernelArgs(f.b), Running: running, Deadline: deadline,
		ExtraArgs: "palisade.modules=" + marker,
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

// hangInitramfs builds the board's initramfs with the real init compiled with the palisade_hangtrial
// tag: a firmware that boots, applies the configuration and never confirms its trial.
func (f vmFixture) hangInitramfs(t *testing.T) string {
	t.Helper()
	start := time.Now()
	res, err := image.Build(context.Background(), image.Options{
		Board: f.b, ModuleDir: repo, CacheDir: filepath.Join(repo, "cache"),
		OutDir: filepath.Join(f.dir, "hang"), Tags: []string{"palisade_hangtrial"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built the palisade_hangtrial initramfs in %v", time.Since(start).Round(100*time.Millisecond))
	return res.Initramfs
}

// serveInNetns serves files (path -> bytes) over HTTP on addr inside the network namespace ns. The
// listening socket belongs to the namespace, whichever thread accepts on it later.
func serveInNetns(t *testing.T, ns, addr string, files map[string][]byte) {
	t.Helper()
	// The thread that enters the namespace is never unlocked: it ends with its goroutine, and no other
	// goroutine of the test can run in the namespace by mistake.
	type listened struct {
		ln  net.Listener
		err error
	}
	got := make(chan listened, 1)
	go func() {
		runtime.LockOSThread()
		target, err := netns.GetFromName(ns)
		if err != nil {
			got <- listened{nil, err}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			got <- listened{nil, err}
			return
		}
		ln, err := net.Listen("tcp4", addr)
		got <- listened{ln, err}
	}()
	l := <-got
	ln, err := l.ln, l.err
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", addr, ns, err)
	}
	mux := http.NewServeMux()
	for p, b := range files {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			t.Logf("http: %s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
			w.Write(b)
		})
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// console logs in as root on the serial console and runs operational commands.
type console struct {
	t    *testing.T
	g    *qemu.Guest
	host string
}

// login answers the login prompt bootToLogin waited for.
func (c console) login() {
	c.t.Helper()
	c.g.Send("root")
	expect(c.t, c.g, time.Minute, `Password:`)
	c.g.Send("")
	expect(c.t, c.g, time.Minute, regexp.QuoteMeta("root@"+c.host+"> "))
}

// run sends a command and returns its output up to the next prompt.
func (c console) run(line string) string {
	c.t.Helper()
	c.g.Send(line)
	return expect(c.t, c.g, 3*time.Minute, regexp.QuoteMeta("root@"+c.host+"> "))
}

// slotLine matches a slot's line of `show system software`.
func slotLine(slot, version, status string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + slot + `\s+` + regexp.QuoteMeta(version) + `\s+` + regexp.QuoteMeta(status) + `\s*$`)
}

func wantSlots(t *testing.T, out string, lines ...*regexp.Regexp) {
	t.Helper()
	for _, re := range lines {
		if !re.MatchString(strings.ReplaceAll(out, "\r", "")) {
			t.Fatalf("show system software: no line matching %s:\n%s", re, out)
		}
	}
}

// TestVMUpgrade is an upgrade in the field, through the serial console of the real firmware booted from
// its disk image under UEFI:
//   - `request system software add URL` fetches version 2 over HTTP into slot B and reboots; the init
//     boots it on trial, applies the configuration from the PALISADE partition, confirms itself, and
//     stays across a reboot;
//   - `request system software rollback` brings back version 1 in slot A;
//   - version 2.1 goes into slot B on trial with a 20 s deadline: it confirms, and the watchdog that
//     guards the deadline is disarmed (the box is still up after it);
//   - a version built with palisade_hangtrial goes into slot A with a 20 s deadline: it boots, never
//     confirms, the watchdog reboots it, and the box comes back on version 2.1 by itself.
func TestVMUpgrade(t *testing.T) {
	f := vmSetup(t, "qemu-x86_64")
	hang := f.hangInitramfs(t)
	var v2 bytes.Buffer
	if err := WriteBundle(&v2, f.b, "2.0-vm", f.kernel, f.initramfs); err != nil {
		t.Fatal(err)
	}
	const host = "upgrade-box"
	img := f.disk(t, "1.0-vm", host,
		"set interfaces ge-0/0/0 unit 0 family inet address 10.99.0.1/24",
		"set security zones security-zone trust interfaces ge-0/0/0.0 host-inbound-traffic system-services ping")
	lab, g := f.start(t, img, qemu.HostNet{Netns: "srv", To: qemu.Endpoint{Box: "box", Port: 0}, Addrs: []string{"10.99.0.2/24"}})
	serveInNetns(t, lab.Netns("srv"), "10.99.0.2:8080", map[string][]byte{"/palisade-2.0-vm.bundle": v2.Bytes()})
	ctx := context.Background()
	// restart starts the box again once its QEMU has exited.
	restart := func() *qemu.Guest {
		t.Helper()
		ng, err := lab.Restart(ctx, "box")
		if err != nil {
			t.Fatal(err)
		}
		return ng
	}
	// reboot waits for the guest to reboot (QEMU exits: -no-reboot) and starts it again.
	reboot := func() {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if g.Wait(wctx); wctx.Err() != nil {
			t.Fatal("the box did not reboot")
		}
		g = restart()
	}
	con := func() console { return console{t, g, host} }
	boots := regexp.MustCompile(`Palisade (\S+) on board qemu-x86_64 \(amd64\), slot ([AB])( \(trial\))?\r?\n`)
	// booted waits for the login prompt and checks the version, slot and trial the init announced.
	booted := func(version, slot string, trial bool) string {
		t.Helper()
		out := bootToLogin(t, g, host)
		m := boots.FindStringSubmatch(out)
		if m == nil || m[1] != version || m[2] != slot || (m[3] != "") != trial {
			t.Fatalf("want version %s in slot %s (trial %v), the console said:\n%s", version, slot, trial, out)
		}
		con().login()
		return out
	}

	booted("1.0-vm", "A", false)
	wantSlots(t, con().run("show system software"),
		slotLine("A", "1.0-vm", "running, default, next boot"), slotLine("B", "-", "empty"))
	testStart := time.Now()

	// A bundle that is not there, and one whose sha256 is not the published one, are refused with the
	// reason, and the slots stay as they were.
	const url = "http://10.99.0.2:8080/palisade-2.0-vm.bundle"
	for cmd, want := range map[string]string{
		"request system software add http://10.99.0.2:8080/no-such.bundle":          "404 Not Found",
		"request system software add " + url + " sha256 " + strings.Repeat("0", 64): "bundle sha256 is ",
	} {
		out := con().run(cmd)
		// The echo of the command may itself hold want: look at the error line.
		_, errLine, _ := strings.Cut(out, "error: ")
		errLine, _, _ = strings.Cut(errLine, "\n")
		if !strings.Contains(errLine, want) || strings.Contains(out, "written to slot") {
			t.Fatalf("%s: want an error naming %q:\n%s", cmd, want, out)
		}
	}
	wantSlots(t, con().run("show system software"),
		slotLine("A", "1.0-vm", "running, default, next boot"), slotLine("B", "-", "empty"))

	// Version 2 from an HTTP server with its published sha256, on trial: the init confirms it once the
	// configuration is applied.
	g.Send(fmt.Sprintf("request system software add %s sha256 %x", url, sha256.Sum256(v2.Bytes())))
	expect(t, g, 3*time.Minute, `Firmware 2\.0-vm written to slot B`)
	reboot()
	if out := booted("2.0-vm", "B", true); !strings.Contains(out, "firmware slot B confirmed") {
		t.Fatalf("the trial boot of 2.0-vm did not confirm itself:\n%s", out)
	}
	wantSlots(t, con().run("show system software"),
		slotLine("A", "1.0-vm", ""), slotLine("B", "2.0-vm", "running, default, next boot"))
	g.Send("request system reboot")
	expect(t, g, time.Minute, `Reboot the system \? \[yes,no\] \(no\) `)
	g.Send("yes")
	reboot()
	booted("2.0-vm", "B", false)
	t.Logf("version 2.0-vm added from the console, confirmed by the init and kept over a reboot, %v after the upgrade started",
		time.Since(testStart).Round(time.Second))

	// Back to version 1.
	g.Send("request system software rollback")
	expect(t, g, time.Minute, `Slot A boots next`)
	reboot()
	booted("1.0-vm", "A", false)
	wantSlots(t, con().run("show system software"),
		slotLine("A", "1.0-vm", "running, default, next boot"), slotLine("B", "2.0-vm", ""))

	// Two trials with a 20 s deadline. Version 2.1 confirms and disarms the watchdog: the box is still up
	// past the deadline.
	const deadline = 20 * time.Second
	g.Kill()
	f.installOnHost(t, img, "2.1-vm", "", deadline)
	g = restart()
	if out := booted("2.1-vm", "B", true); !strings.Contains(out, "firmware slot B confirmed") {
		t.Fatalf("the trial boot of 2.1-vm did not confirm itself:\n%s", out)
	}
	select {
	case <-g.Exited():
		t.Fatal("the box rebooted after confirming: the watchdog was not disarmed")
	case <-time.After(time.Until(g.Started().Add(deadline + 10*time.Second))):
	}
	wantSlots(t, con().run("show system software"),
		slotLine("A", "1.0-vm", ""), slotLine("B", "2.1-vm", "running, default, next boot"))

	// Version 3.0-hang never confirms: the watchdog reboots it at the deadline and the box comes back on
	// 2.1-vm by itself.
	g.Kill()
	f.installOnHost(t, img, "3.0-hang", hang, deadline)
	g = restart()
	out := expect(t, g, 4*time.Minute, `built with palisade_hangtrial: not confirming slot A`)
	if m := boots.FindStringSubmatch(out); m == nil || m[1] != "3.0-hang" || m[2] != "A" || m[3] == "" ||
		!strings.Contains(out, "configuration applied: host "+host) {
		t.Fatalf("the trial boot of 3.0-hang did not run slot A with the configuration:\n%s", out)
	}
	hung := time.Now()
	wctx, cancel := context.WithTimeout(ctx, deadline+time.Minute)
	defer cancel()
	if g.Wait(wctx); wctx.Err() != nil {
		t.Fatalf("the trial that never confirms was not rebooted within %v", deadline+time.Minute)
	}
	t.Logf("the watchdog rebooted the unconfirmed trial %v after it hung, %v after QEMU started (deadline %v)",
		time.Since(hung).Round(100*time.Millisecond), time.Since(g.Started()).Round(100*time.Millisecond), deadline)
	g = restart()
	booted("2.1-vm", "B", false)
	wantSlots(t, con().run("show system software"),
		slotLine("A", "3.0-hang", "failed (not confirmed)"), slotLine("B", "2.1-vm", "running, default, next boot"))
	g.Kill()
	t.Logf("upgrade test: %v from the first upgrade to the box back on 2.1-vm", time.Since(testStart).Round(time.Second))
}
