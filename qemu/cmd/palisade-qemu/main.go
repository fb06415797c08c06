// Command palisade-qemu boots a board's image in QEMU with the console on the terminal (Ctrl-A X quits).
//
//	palisade-qemu [-board qemu-x86_64] [-out out] [-config out/qemu-x86_64/config.img | -disk out/qemu-x86_64/palisade.img] [-nics 2] [-print]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/qemu"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "palisade-qemu: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("palisade-qemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boardName := fs.String("board", "qemu-x86_64", "QEMU board to boot")
	outDir := fs.String("out", "out", "directory `make image` wrote OUT/BOARD/{kernel,initramfs.cpio.gz} into")
	kernel := fs.String("kernel", "", "kernel image (default OUT/BOARD/kernel)")
	initrd := fs.String("initrd", "", "initramfs (default OUT/BOARD/initramfs.cpio.gz)")
	config := fs.String("config", "", "raw config disk image (a PALISADE filesystem) to attach, optional")
	diskImage := fs.String("disk", "", "boot this disk image (make disk) under UEFI firmware instead of the kernel and initramfs; it is written to")
	nics := fs.Int("nics", 2, "number of ports (ge-0/0/0..) to give the box, unconnected")
	mem := fs.Int("mem", 512, "memory in MB")
	kargs := fs.String("append", "", "extra kernel arguments")
	verbose := fs.Bool("verbose", false, "show the kernel's boot messages")
	printOnly := fs.Bool("print", false, "print the QEMU command line instead of running it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := board.Lookup(*boardName)
	if err != nil {
		return err
	}
	if b.QEMU == nil {
		return fmt.Errorf("board %s is hardware, not a QEMU board", b.Name)
	}
	k, i := qemu.ImagePaths(*outDir, b.Name)
	if *kernel != "" {
		k = *kernel
	}
	if *initrd != "" {
		i = *initrd
	}
	var efi *qemu.EFI
	if *diskImage != "" {
		// A fresh variable store beside the image each run: Palisade keeps its slot state on the ESP,
		// not in EFI variables.
		if efi, err = qemu.NewEFI(b, *diskImage, filepath.Dir(*diskImage)); err != nil {
			return err
		}
		k, i = "", ""
	}
	for _, f := range []string{k, i, *config} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w (build the image with: make image BOARD=%s)", err, b.Name)
		}
	}
	cmdline := qemu.InteractiveCommand(qemu.Box{
		Name: b.Name, Board: b, Kernel: k, Initramfs: i, ConfigDisk: *config,
		NICs: *nics, MemoryMB: *mem, KernelArgs: *kargs, Verbose: *verbose, EFI: efi,
	})
	if *printOnly {
		fmt.Fprintln(stdout, qemu.ShellQuote(cmdline))
		return nil
	}
	fmt.Fprintf(stderr, "palisade-qemu: booting %s (Ctrl-A X quits)\n", b.Name)
	cmd := exec.Command(cmdline[0], cmdline[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s: %w", cmdline[0], err)
	}
	return nil
}
