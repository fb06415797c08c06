// Command palisade-image builds a board's kernel and initramfs: out/BOARD/kernel and
// out/BOARD/initramfs.cpio.gz.
//
//	palisade-image [-board qemu-x86_64] [-init ./firmware/cmd/init] [-tags t1,t2] [-cache cache] [-out out]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/image"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "palisade-image: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("palisade-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boardName := fs.String("board", "qemu-x86_64", "board to build for: "+strings.Join(board.Names(), ", "))
	initPkg := fs.String("init", image.DefaultInit, "Go package (relative to -module) to build as /init")
	moduleDir := fs.String("module", ".", "root of the Go module holding the init")
	cacheDir := fs.String("cache", "cache", "cache directory for downloads and builds")
	outDir := fs.String("out", "out", "output directory; files go to OUT/BOARD/")
	cmds := fs.String("commands", strings.Join(image.DefaultCommands(), ","), "u-root core commands to include, comma-separated")
	tags := fs.String("tags", "", "Go build tags for the init, comma-separated (palisade_hangtrial: a firmware that never confirms a trial boot)")
	kernelOnly := fs.Bool("kernel-only", false, "only fetch and unpack the kernel into the cache; print its directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := board.Lookup(*boardName)
	if err != nil {
		return err
	}
	var commands []string
	if *cmds != "" {
		commands = strings.Split(*cmds, ",")
	} else {
		commands = []string{}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *kernelOnly {
		k, err := image.FetchKernel(ctx, *cacheDir, b, func(format string, args ...any) {
			fmt.Fprintf(stderr, "palisade-image: "+format+"\n", args...)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n%s\n", k.Image, k.ModuleDir())
		return nil
	}
	res, err := image.Build(ctx, image.Options{
		Board:     b,
		ModuleDir: *moduleDir,
		Init:      *initPkg,
		CacheDir:  *cacheDir,
		OutDir:    filepath.Join(*outDir, b.Name),
		Commands:  commands,
		Tags:      strings.FieldsFunc(*tags, func(r rune) bool { return r == ',' }),
		Log:       stderr,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n%s\n", res.KernelOut, res.Initramfs)
	return nil
}
