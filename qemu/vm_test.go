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
// a temporary directory, reusing the repository's download cache.
func buildTestImage(t testing.TB, b board.Board, initPkg string) (kernel, initramfs string) {
	t.Helper()
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := image.Build(ctx, image.Options{
		Board:     b,
		ModuleDir: repo,
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

var helloLine = regexp.MustCompile(`palisade-hello: init running on (\S+)`)

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
