// Command palisade-disk builds a board's flashable disk image, out/BOARD/palisade.img, from the kernel
// and initramfs `make image` built, and the upgrade bundle of the same firmware, out/BOARD/palisade.bundle
// (with its sha256 in palisade.bundle.sha256). See image/disk.
//
//	palisade-disk [-board qemu-x86_64] [-version V] [-config-image srx1.img] [-cache cache] [-out out]
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/image"
	"github.com/palisade/palisade/image/disk"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "palisade-disk: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("palisade-disk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boardName := fs.String("board", "qemu-x86_64", "board: "+strings.Join(board.Names(), ", "))
	version := fs.String("version", "", "firmware version string (required)")
	cfgImage := fs.String("config-image", "", "ext4 image labelled PALISADE (palisade-cfg disk CONFIG -o FILE) for the configuration partition; default: an empty one (factory default)")
	cacheDir := fs.String("cache", "cache", "cache directory for downloads")
	outDir := fs.String("out", "out", "output directory: reads OUT/BOARD/initramfs.cpio.gz, writes OUT/BOARD/palisade.img")
	output := fs.String("o", "", "image file to write; default OUT/BOARD/palisade.img")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *version == "" {
		return errors.New("-version is required")
	}
	b, err := board.Lookup(*boardName)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "palisade-disk: "+format+"\n", args...) }
	start := time.Now()
	// The kernel package's vmlinuz is the EFI stub; out/BOARD/kernel may be the PVH vmlinux QEMU boots
	// directly, which no firmware can start.
	k, err := image.FetchKernel(ctx, *cacheDir, b, logf)
	if err != nil {
		return err
	}
	loader, err := disk.FetchSystemdBoot(ctx, *cacheDir, b.Arch, logf)
	if err != nil {
		return err
	}
	dir := filepath.Join(*outDir, b.Name)
	o := disk.Options{
		Board: b, Kernel: k.Image, Initramfs: filepath.Join(dir, "initramfs.cpio.gz"),
		Version: *version, BootLoader: loader, ConfigImage: *cfgImage,
	}
	img := *output
	if img == "" {
		img = filepath.Join(dir, "palisade.img")
	}
	if err := disk.Build(ctx, o, img); err != nil {
		return err
	}
	bundle := filepath.Join(filepath.Dir(img), "palisade.bundle")
	sum, err := writeBundle(bundle, o)
	if err != nil {
		return err
	}
	logf("%s: wrote %s and %s (version %s, kernel %s %s) in %v", b.Name, img, bundle, *version, k.Package, k.Version,
		time.Since(start).Round(100*time.Millisecond))
	fmt.Fprintf(stdout, "%s\n%s sha256 %s\n", img, bundle, sum)
	return nil
}

func writeBundle(name string, o disk.Options) (string, error) {
	f, err := os.Create(name + ".tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(name + ".tmp")
	h := sha256.New()
	werr := disk.WriteBundle(io.MultiWriter(f, h), o.Board, o.Version, o.Kernel, o.Initramfs)
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := os.WriteFile(name+".sha256", []byte(sum+"  "+filepath.Base(name)+"\n"), 0o644); err != nil {
		return "", err
	}
	return sum, nil
}
