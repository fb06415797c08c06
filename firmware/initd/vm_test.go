package initd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/store"
	"github.com/palisade/palisade/qemu"
	"github.com/palisade/palisade/tools/cfgdisk"
)

// The VM tests boot the image `make images` built (out/BOARD) in QEMU. They
// run with PALISADE_VM=1, one at a time.
func vmBoard(t *testing.T, name string) (board.Board, string, string) {
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
	k, i := qemu.ImagePaths("../../out", name)
	for _, f := range []string{k, i} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s: build the image first (make image BOARD=%s): %v", f, name, err)
		}
	}
	return b, k, i
}

func seedConfig(t *testing.T, name string) *config.Config {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Parse(name, string(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
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

// login waits for the login prompt and logs in as root.
func login(t *testing.T, g *qemu.Guest, host string) {
	t.Helper()
	expect(t, g, 3*time.Minute, `login: $`)
	g.Send("root")
	expect(t, g, 30*time.Second, `Password:`)
	g.Send("")
	expect(t, g, 30*time.Second, regexp.QuoteMeta("root@"+host+"> "))
}

func nsRun(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	return string(out), err
}

// TestVMBootSeed boots each QEMU board with a configuration disk made from
// srx1.set: the ports carry the seed's addresses, the default route is in,
// and a host on ge-0/0/0 gets answers to ping.
func TestVMBootSeed(t *testing.T) {
	for _, name := range []string{"qemu-x86_64", "qemu-arm64"} {
		t.Run(name, func(t *testing.T) {
			b, k, i := vmBoard(t, name)
			// The compressed initramfs must stay small enough for small
			// boards' boot partitions.
			st, err := os.Stat(i)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() >= 8_000_000 {
				t.Errorf("%s: initramfs is %d bytes, want under 8 MB", name, st.Size())
			}
			t.Logf("%s: initramfs %.2f MB gzip", name, float64(st.Size())/1e6)
			disk := filepath.Join(t.TempDir(), "srx1.img")
			if err := cfgdisk.Build(seedConfig(t, "srx1.set"), disk, time.Now()); err != nil {
				t.Fatal(err)
			}
			lab := qemu.StartT(t, qemu.Topology{
				Boxes: []qemu.Box{{Name: "srx1", Board: b, Kernel: k, Initramfs: i, ConfigDisk: disk, NICs: 2, Timeout: 6 * time.Minute}},
				HostNets: []qemu.HostNet{{Netns: "host1", To: qemu.Endpoint{Box: "srx1", Port: 0},
					Addrs: []string{"10.100.11.10/24"}, Gateway: "10.100.11.1"}},
			})
			g := lab.Guest("srx1")
			expect(t, g, 3*time.Minute, `configuration applied: host SRX1`)
			login(t, g, "SRX1")
			g.Send("show interfaces terse")
			out := expect(t, g, 30*time.Second, `(?s)ge-0/0/1\.0.*?172\.16\.13\.1/24.*?root@SRX1> `)
			if !regexp.MustCompile(`ge-0/0/0\.0\s+up\s+up\s+inet\s+10\.100\.11\.1/24`).MatchString(out) {
				t.Errorf("show interfaces terse lacks ge-0/0/0.0 10.100.11.1/24:\n%s", out)
			}
			g.Send("show route")
			out = expect(t, g, 30*time.Second, `(?s)0\.0\.0\.0/0.*?root@SRX1> `)
			if !strings.Contains(out, "to 172.16.13.2 via ge-0/0/1.0") {
				t.Errorf("show route lacks the default route via 172.16.13.2:\n%s", out)
			}
			g.Send("show version")
			out = expect(t, g, 30*time.Second, `(?s)Linux kernel: .*?root@SRX1> `)
			if want := fmt.Sprintf(`Hostname: SRX1\r?\nModel: %s \(%s\)\r?\nPalisade: `, regexp.QuoteMeta(b.Name), b.Arch); !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("show version lacks %s:\n%s", want, out)
			}
			var perr error
			for range 10 {
				var pout string
				if pout, perr = nsRun(t, lab.Netns("host1"), "ping", "-c", "1", "-W", "2", "10.100.11.1"); perr == nil {
					break
				} else {
					perr = fmt.Errorf("%w: %s", perr, pout)
				}
			}
			if perr != nil {
				t.Fatalf("ping from host1 to 10.100.11.1: %v", perr)
			}
		})
	}
}

// TestVMBootFaults: a broken active configuration falls back to the last
// good one with a console message; no disk means the factory default; a
// module that does not exist is logged and boot completes.
func TestVMBootFaults(t *testing.T) {
	b, k, i := vmBoard(t, "qemu-x86_64")
	good, err := store.Encode(seedConfig(t, "srx1.set"), store.Meta{Time: time.Unix(1700000000, 0), User: "test"})
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(t.TempDir(), "broken.img")
	if err := cfgdisk.BuildRaw(map[string][]byte{"config.1.cbor": good, "config.2.cbor": []byte("\xa2not cbor at all")}, disk); err != nil {
		t.Fatal(err)
	}
	t.Run("broken active config", func(t *testing.T) {
		lab := qemu.StartT(t, qemu.Topology{Boxes: []qemu.Box{{Name: "b", Board: b, Kernel: k, Initramfs: i, ConfigDisk: disk, NICs: 2, Timeout: 5 * time.Minute}}})
		g := lab.Guest("b")
		expect(t, g, 3*time.Minute, `configuration not usable: rollback 0: .*config\.2\.cbor`)
		expect(t, g, 30*time.Second, `using the newest good configuration instead: rollback 1`)
		expect(t, g, 30*time.Second, `configuration applied: host SRX1`)
	})
	t.Run("no disk and a missing module", func(t *testing.T) {
		lab := qemu.StartT(t, qemu.Topology{Boxes: []qemu.Box{{Name: "f", Board: b, Kernel: k, Initramfs: i, NICs: 1,
			KernelArgs: "palisade.modules=no_such_module", Timeout: 5 * time.Minute}}})
		g := lab.Guest("f")
		expect(t, g, 3*time.Minute, `module no_such_module failed to load`)
		expect(t, g, time.Minute, `no configuration disk \(no filesystem labelled PALISADE\): running the factory default configuration`)
		login(t, g, "palisade")
	})
}
