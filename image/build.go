// Package image builds Palisade's boot image for a board: the board's pinned Debian kernel, and a gzip'd
// cpio initramfs holding the Go init as /init, u-root's debugging commands, the board's kernel modules and
// /etc/palisade/board.
//
// The same inputs give the same bytes: records are sorted, owners, times and inode numbers are fixed, and
// the gzip header carries no time or name. Downloads and builds are cached under Options.CacheDir.
package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/drivers/kmod"
)

// Options says what to build. Board, ModuleDir, CacheDir and OutDir are required.
type Options struct {
	Board board.Board
	// ModuleDir is the root of the Go module holding the init (the repository root).
	ModuleDir string
	// Init is the init's package path relative to ModuleDir; "" means DefaultInit.
	Init string
	// CacheDir keeps downloads and builds between runs (kernel packages, u-root).
	CacheDir string
	// OutDir receives kernel and initramfs.cpio.gz.
	OutDir string
	// Commands are u-root core commands to include; nil means DefaultCommands, empty means none.
	Commands []string
	// Tags are Go build tags for the init, such as palisade_hangtrial for a
	// firmware that never confirms its trial boot.
	Tags []string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// DefaultInit is the package built as /init.
const DefaultInit = "./firmware/cmd/init"

// BoardFile is where the image records the board's name; the init reads it and calls board.Lookup.
const BoardFile = "etc/palisade/board"

// Result says what Build wrote.
type Result struct {
	Kernel    Kernel
	KernelOut string // path of the kernel image written
	Initramfs string // path of initramfs.cpio.gz written
	Size      int64  // compressed initramfs size
	Modules   []string
	// MissingModules are board modules the kernel does not have (reported, not fatal: the init logs them).
	MissingModules []string
}

// Build fetches the kernel, builds the initramfs and writes both to opts.OutDir.
func Build(ctx context.Context, opts Options) (Result, error) {
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, "palisade-image: "+format+"\n", args...)
		}
	}
	b := opts.Board
	if b.Name == "" || opts.ModuleDir == "" || opts.CacheDir == "" || opts.OutDir == "" {
		return Result{}, fmt.Errorf("building image: Board, ModuleDir, CacheDir and OutDir must be set")
	}
	for _, d := range []*string{&opts.ModuleDir, &opts.CacheDir, &opts.OutDir} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return Result{}, fmt.Errorf("building image: %w", err)
		}
		*d = abs
	}
	if opts.Init == "" {
		opts.Init = DefaultInit
	}
	if opts.Commands == nil {
		opts.Commands = DefaultCommands()
	}
	start := time.Now()
	k, err := FetchKernel(ctx, opts.CacheDir, b, logf)
	if err != nil {
		return Result{}, fmt.Errorf("board %s: %w", b.Name, err)
	}
	res := Result{Kernel: k}

	modRecs, mods, missing, err := moduleRecords(k, b.Modules)
	if err != nil {
		return Result{}, fmt.Errorf("board %s: %w", b.Name, err)
	}
	res.Modules, res.MissingModules = mods, missing
	for _, m := range missing {
		logf("WARNING: board %s lists module %s, which kernel %s %s does not have", b.Name, m, k.Package, k.Version)
	}

	initBin, err := buildInit(ctx, opts, logf)
	if err != nil {
		return Result{}, fmt.Errorf("board %s: %w", b.Name, err)
	}
	bb, err := urootBusybox(ctx, opts.CacheDir, b.Arch, opts.Commands, logf)
	if err != nil {
		return Result{}, fmt.Errorf("board %s: %w", b.Name, err)
	}

	recs := BaseRecords()
	recs = append(recs, bb...)
	if contains(opts.Commands, "gosh") {
		recs = append(recs, Symlink("bin/sh", "../bbin/gosh"))
	}
	recs = append(recs, modRecs...)
	recs = append(recs,
		File("init", 0o755, initBin),
		File(BoardFile, 0o644, []byte(b.Name+"\n")),
	)
	var gz bytes.Buffer
	if err := WriteInitramfs(&gz, recs); err != nil {
		return Result{}, fmt.Errorf("board %s: %w", b.Name, err)
	}

	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("making output dir: %w", err)
	}
	res.KernelOut = filepath.Join(opts.OutDir, "kernel")
	res.Initramfs = filepath.Join(opts.OutDir, "initramfs.cpio.gz")
	kernelImage := k.Image
	if b.QEMU != nil && b.QEMU.PVH {
		if kernelImage, err = pvhKernel(ctx, k); err != nil {
			return Result{}, fmt.Errorf("board %s: %w", b.Name, err)
		}
	}
	kdata, err := os.ReadFile(kernelImage)
	if err != nil {
		return Result{}, fmt.Errorf("reading kernel image: %w", err)
	}
	if err := writeFileAtomic(res.KernelOut, kdata); err != nil {
		return Result{}, err
	}
	if err := writeFileAtomic(res.Initramfs, gz.Bytes()); err != nil {
		return Result{}, err
	}
	res.Size = int64(gz.Len())
	manifest := fmt.Sprintf("board %s\narch %s\nkernel %s %s sha256 %s fallback %v release %s\nkernel image %s\ninit %s\ncommands %s\nmodules %s\nmissing %s\n",
		b.Name, b.Arch, k.Package, k.Version, k.SHA256, k.Fallback, k.Release, filepath.Base(kernelImage), opts.Init,
		strings.Join(opts.Commands, " "), strings.Join(mods, " "), strings.Join(missing, " "))
	if err := writeFileAtomic(filepath.Join(opts.OutDir, "manifest.txt"), []byte(manifest)); err != nil {
		return Result{}, err
	}
	logf("%s: wrote %s and %s (%d modules, %.1f MB gzip) in %v", b.Name, res.KernelOut, res.Initramfs,
		len(mods), float64(res.Size)/1e6, time.Since(start).Round(100*time.Millisecond))
	return res, nil
}

// BaseRecords are the directories and device nodes every image has. /dev/console must exist in the
// initramfs for the kernel to give /init a console before anything is mounted.
func BaseRecords() []Record {
	return []Record{
		Dir("bin", 0o755), Dir("dev", 0o755), Dir("etc", 0o755), Dir("etc/palisade", 0o755),
		Dir("lib", 0o755), Dir("mnt", 0o755), Dir("proc", 0o555), Dir("run", 0o755), Dir("sys", 0o555),
		Dir("tmp", 0o1777), Dir("var", 0o755),
		CharDev("dev/console", 0o600, 5, 1),
		CharDev("dev/null", 0o666, 1, 3),
	}
}

// WriteInitramfs writes recs, normalized, as a gzip'd newc archive with a fixed gzip header.
func WriteInitramfs(w io.Writer, recs []Record) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	// The zero Header has no name and a zero mtime, so the bytes depend on the content only.
	if err := WriteCPIO(zw, Normalize(recs)); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compressing initramfs: %w", err)
	}
	return nil
}

// moduleRecords returns the .ko files of the closure of names, with a modules.dep for just them and the
// kernel's modules.builtin, under lib/modules/RELEASE.
func moduleRecords(k Kernel, names []string) (recs []Record, mods, missing []string, err error) {
	ix, err := kmod.ReadIndex(k.ModuleDir())
	if err != nil {
		return nil, nil, nil, err
	}
	for _, n := range names {
		if _, err := ix.LoadOrder(n); err != nil {
			missing = append(missing, n)
		}
	}
	mods, _ = ix.Closure(names) // the error repeats missing
	base := path.Join("lib", "modules", k.Release)
	for _, m := range mods {
		rel, _ := ix.Path(m)
		data, err := os.ReadFile(filepath.Join(k.ModuleDir(), rel))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading module %s: %w", m, err)
		}
		if data, err = StripModuleSignature(data); err != nil {
			return nil, nil, nil, fmt.Errorf("module %s: %w", m, err)
		}
		recs = append(recs, File(path.Join(base, rel), 0o644, data))
	}
	var dep bytes.Buffer
	if err := ix.WriteDep(&dep, mods); err != nil {
		return nil, nil, nil, err
	}
	recs = append(recs, File(path.Join(base, "modules.dep"), 0o644, dep.Bytes()))
	builtin, err := os.ReadFile(filepath.Join(k.ModuleDir(), "modules.builtin"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading modules.builtin: %w", err)
	}
	recs = append(recs, File(path.Join(base, "modules.builtin"), 0o644, builtin))
	return recs, mods, missing, nil
}

// buildInit compiles the init package for the board: static, stripped, with no build paths or IDs.
func buildInit(ctx context.Context, opts Options, logf func(string, ...any)) ([]byte, error) {
	pkgDir := filepath.Join(opts.ModuleDir, filepath.FromSlash(opts.Init))
	if st, err := os.Stat(pkgDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("init package %s not found in %s", opts.Init, opts.ModuleDir)
	}
	dir := filepath.Join(opts.CacheDir, "build", opts.Board.Arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("making build dir: %w", err)
	}
	// A file of its own: builds of the same board may run at once (make image beside a VM test).
	f, err := os.CreateTemp(dir, "init-*")
	if err != nil {
		return nil, fmt.Errorf("making build output: %w", err)
	}
	out := f.Name()
	f.Close()
	defer os.Remove(out)
	logf("building %s for %s (tags %q)", opts.Init, opts.Board.Arch, strings.Join(opts.Tags, ","))
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + opts.Board.Arch}
	if _, err := command(ctx, opts.ModuleDir, env, "go", "build", "-trimpath", "-buildvcs=false",
		"-tags="+strings.Join(opts.Tags, ","), "-ldflags=-s -w -buildid=", "-o", out, opts.Init); err != nil {
		return nil, fmt.Errorf("building init: %w", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("reading init: %w", err)
	}
	return data, nil
}

func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Chmod(0o644), f.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}
