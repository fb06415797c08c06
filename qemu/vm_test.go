package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/image"
)

// VM tests boot real kernels in QEMU. They run only with PALISADE_VM=1 (make test sets it) because they
// take a minute, fetch the kernels on first use, and QEMU is shared by one test run at a time.
func requireVM(t testing.TB, b board.Board) {
	t.Helper()
	if os.Getenv("PALISADE_VM") != "1" {
		t.Skip("VM test: set PALISADE_VM=1 to boot QEMU guests")
	}
	if _, err := exec.LookPath(b.QEMU.Binary); err != nil {
		t.Skipf("VM test: %s not installed (make deps)", b.QEMU.Binary)
	}
}

// buildTestImage builds b's image with a test init (a package path relative to the repository root) into
// a temporary directory, reusing the repository's download cache. PALISADE_INIT_MODULE, if set, is another
// checkout to build the init from (to benchmark a committed init while the working tree is being edited).
func buildTestImage(t testing.TB, b board.Board, initPkg string) (kernel, initramfs string) {
	t.Helper()
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	module := repo
	if m := os.Getenv("PALISADE_INIT_MODULE"); m != "" {
		module = m
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := image.Build(ctx, image.Options{
		Board:     b,
		ModuleDir: module,
		Init:      initPkg,
		CacheDir:  filepath.Join(repo, "cache"),
		OutDir:    t.TempDir(),
		Log:       testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: initramfs %.2f MB gzip, kernel %s %s", b.Name, float64(res.Size)/1e6, res.Kernel.Package, res.Kernel.Version)
	return res.KernelOut, res.Initramfs
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

var helloLine = regexp.MustCompile(`palisade-hello: init running on (\S+)\r?\n`)

func TestVMHello(t *testing.T) {
	for _, name := range []string{"qemu-x86_64", "qemu-arm64"} {
		t.Run(name, func(t *testing.T) {
			b, err := board.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			requireVM(t, b)
			k, i := buildTestImage(t, b, "./qemu/internal/hello")
			lab := StartT(t, Topology{Boxes: []Box{{Name: "hello", Board: b, Kernel: k, Initramfs: i, Timeout: 2 * time.Minute}}})
			g := lab.Guest("hello")
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			out, err := g.Expect(ctx, helloLine)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(g.Started())
			if m := helloLine.FindStringSubmatch(out); m[1] != name {
				t.Errorf("init reports board %q, want %q", m[1], name)
			}
			t.Logf("%s: first init line after %v", name, took.Round(10*time.Millisecond))
			// hello powers off: QEMU must end by itself.
			if err := g.Wait(ctx); err != nil {
				t.Errorf("QEMU after power-off: %v", err)
			}
		})
	}
}

// TestVMNetwork boots two boxes of each QEMU board with the netcheck init: modules through drivers/kmod,
// ports through drivers/ports. Box a's ge-0/0/0 is in a host namespace, a's ge-0/0/1 is wired to b's
// ge-0/0/1. The host pings a through the TAP; b reaches a over the wire.
func TestVMNetwork(t *testing.T) {
	for _, name := range []string{"qemu-x86_64", "qemu-arm64"} {
		t.Run(name, func(t *testing.T) {
			b, err := board.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			requireVM(t, b)
			if os.Geteuid() != 0 {
				t.Skip("VM network test: needs root for host namespaces")
			}
			k, i := buildTestImage(t, b, "./qemu/internal/netcheck")
			box := func(name, args string) Box {
				return Box{Name: name, Board: b, Kernel: k, Initramfs: i, KernelArgs: args, Timeout: 3 * time.Minute}
			}
			lab := StartT(t, Topology{
				Boxes: []Box{
					box("a", "netcheck.addr=ge-0/0/0,10.100.11.1/24 netcheck.addr=ge-0/0/1,172.16.13.1/24"),
					box("b", "netcheck.addr=ge-0/0/1,172.16.13.2/24 netcheck.probe=172.16.13.1"),
				},
				Wires:    []Wire{{A: Endpoint{"a", 1}, B: Endpoint{"b", 1}}},
				HostNets: []HostNet{{Netns: "lan", To: Endpoint{"a", 0}, Addrs: []string{"10.100.11.10/24"}}},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			a, bb := lab.Guest("a"), lab.Guest("b")
			for _, g := range []*Guest{a, bb} {
				out, err := g.Expect(ctx, regexp.MustCompile(`netcheck: ready`))
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"netcheck: modules: ", " 0 failed", "netcheck: port ge-0/0/0 = ge-0-0-0 (", "netcheck: port ge-0/0/1 = ge-0-0-1 ("} {
					if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(out) {
						t.Errorf("box %s: console lacks %q:\n%s", g.Box.Name, want, out)
					}
				}
				t.Logf("box %s ready after %v", g.Box.Name, time.Since(g.Started()).Round(10*time.Millisecond))
			}
			if _, err := bb.Expect(ctx, regexp.MustCompile(`netcheck: probe 172.16.13.1 ok`)); err != nil {
				t.Error(err)
			}
			ns := lab.Netns("lan")
			if ns == "" {
				t.Fatal("no namespace for lan")
			}
			out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.3", "-W", "5", "10.100.11.1").CombinedOutput()
			if err != nil {
				t.Errorf("ping from %s to box a: %v\n%s", ns, err, out)
			}
		})
	}
}

// BenchmarkVMBoot measures the time from starting QEMU to the first init line of a bare u-root boot (the
// hello init) and to Palisade's login prompt, for the same kernel in the same run:
//
//	PALISADE_VM=1 go test -run '^$' -bench VMBoot -benchtime 3x ./qemu/
//
// PALISADE_BOOT_RE overrides the regexp that marks a finished Palisade boot (default "login: ").
func BenchmarkVMBoot(b *testing.B) {
	ready := regexp.MustCompile(`login: `)
	if re := os.Getenv("PALISADE_BOOT_RE"); re != "" {
		ready = regexp.MustCompile(re)
	}
	for _, name := range []string{"qemu-x86_64", "qemu-arm64"} {
		bd, err := board.Lookup(name)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			kind, init string
			re         *regexp.Regexp
		}{
			{"bare", "./qemu/internal/hello", helloLine},
			{"palisade", image.DefaultInit, ready},
		} {
			b.Run(c.kind+"/"+name, func(b *testing.B) {
				requireVM(b, bd)
				if _, err := os.Stat(filepath.Join("..", filepath.FromSlash(c.init))); err != nil {
					b.Skipf("no init %s yet", c.init)
				}
				k, i := buildTestImage(b, bd, c.init)
				box := Box{Name: c.kind, Board: bd, Kernel: k, Initramfs: i, NICs: 2, Timeout: 2 * time.Minute}
				var total time.Duration
				b.ResetTimer()
				for range b.N {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					d, err := BootTime(ctx, box, c.re)
					cancel()
					if err != nil {
						b.Fatal(err)
					}
					total += d
				}
				b.ReportMetric(total.Seconds()/float64(b.N), "s/boot")
			})
		}
	}
}
