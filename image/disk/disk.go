package disk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/firmware/software"
	"github.com/palisade/palisade/firmware/store"
	"github.com/palisade/palisade/image"
	"github.com/palisade/palisade/tools/cfgdisk"
)

// Partition layout. Partitions start on 1 MiB boundaries (what eMMC and flash erase blocks like); the
// last MiB holds the backup GPT.
const (
	mib = 1 << 20
	// DefaultESPSizeMiB holds two slots of the larger (arm64: 33 MB Image + 4 MB initramfs) firmware with
	// room to grow, and is above 260 MiB so FAT32 uses 4 KiB clusters.
	DefaultESPSizeMiB = 320
	// ConfigSizeMiB is the PALISADE partition: exactly the filesystem palisade-cfg disk builds.
	ConfigSizeMiB = cfgdisk.SizeMiB
	// ESPLabel is the FAT volume label (11 characters at most).
	ESPLabel = "PALISADEEFI"
	// ConfigPartName is the GPT name of the configuration partition; the init finds it by its ext4
	// label, this name is for people reading the partition table, so it is the same word.
	ConfigPartName = store.Label
	// VersionFile is where a slot's initramfs says which version it is.
	VersionFile = "etc/palisade/version"
)

// Partition numbers (1-based, as the kernel names them: vda1, vda2).
const (
	ESPPartition    = 1
	ConfigPartition = 2
)

// Options says what to build.
type Options struct {
	Board board.Board
	// Kernel is the EFI-stub kernel image (Debian's vmlinuz, not the PVH vmlinux QEMU boots directly).
	Kernel string
	// Initramfs is the board's initramfs.cpio.gz from `make image`.
	Initramfs string
	// Version names the firmware; it goes into the slot's manifest, its loader entry and VersionFile.
	Version string
	// BootLoader is systemd-boot's EFI binary (FetchSystemdBoot).
	BootLoader string
	// ConfigImage, if set, is an ext4 image labelled PALISADE (palisade-cfg disk) copied into the
	// configuration partition; "" makes an empty one, so the box boots the factory default and keeps
	// what is committed.
	ConfigImage string
	// ESPSizeMiB is the ESP's size; 0 means DefaultESPSizeMiB.
	ESPSizeMiB int
	// ExtraArgs are appended to slot A's kernel command line.
	ExtraArgs string
}

// KernelArgs is the command line of a slot's entry without the slot: the board's console and panic
// arguments, and quiet, as the QEMU harness boots the image.
func KernelArgs(b board.Board) string { return b.KernelArgs() + " quiet" }

// SlotInitramfs returns the initramfs a slot boots: the board's, followed by a second gzip'd cpio
// archive holding VersionFile. The kernel unpacks concatenated archives in order, so the version is
// added without rebuilding the initramfs.
func SlotInitramfs(initramfs []byte, version string) ([]byte, error) {
	var extra bytes.Buffer
	if err := image.WriteInitramfs(&extra, []image.Record{
		image.Dir("etc", 0o755), image.Dir("etc/palisade", 0o755),
		image.File(VersionFile, 0o644, []byte(version+"\n")),
	}); err != nil {
		return nil, fmt.Errorf("writing the version archive: %w", err)
	}
	return append(append([]byte(nil), initramfs...), extra.Bytes()...), nil
}

// WriteBundle writes the upgrade bundle of a firmware version (see package software): the kernel and the
// slot initramfs with VersionFile.
func WriteBundle(w io.Writer, b board.Board, version, kernel, initramfs string) error {
	k, err := os.ReadFile(kernel)
	if err != nil {
		return fmt.Errorf("reading the kernel: %w", err)
	}
	ird, err := os.ReadFile(initramfs)
	if err != nil {
		return fmt.Errorf("reading the initramfs: %w", err)
	}
	if ird, err = SlotInitramfs(ird, version); err != nil {
		return err
	}
	return software.WriteBundle(w, version, b.Name, bytes.NewReader(k), bytes.NewReader(ird))
}

// Build writes the disk image to out: a GPT with the ESP (systemd-boot, slot A holding this firmware
// confirmed, slot B empty) and the PALISADE configuration partition. It needs no root and no loop device:
// go-diskfs writes the partition table and the FAT filesystem into the file, and the ext4 filesystem
// is made by mke2fs in a file of its own and copied in.
func Build(ctx context.Context, o Options, out string) error {
	if o.Board.Name == "" || o.Kernel == "" || o.Initramfs == "" || o.BootLoader == "" || o.Version == "" {
		return errors.New("building the disk: Board, Kernel, Initramfs, BootLoader and Version must be set")
	}
	arch, ok := efiArch[o.Board.Arch]
	if !ok {
		return fmt.Errorf("building the disk: board %s: no EFI boot path for architecture %s", o.Board.Name, o.Board.Arch)
	}
	espMiB := o.ESPSizeMiB
	if espMiB == 0 {
		espMiB = DefaultESPSizeMiB
	}
	tmpDir, err := os.MkdirTemp("", "palisade-disk-")
	if err != nil {
		return fmt.Errorf("building the disk: %w", err)
	}
	defer os.RemoveAll(tmpDir)

	cfgImage := o.ConfigImage
	if cfgImage == "" {
		cfgImage = filepath.Join(tmpDir, "config.img")
		if err := cfgdisk.BuildRaw(nil, cfgImage); err != nil {
			return fmt.Errorf("building the empty configuration filesystem: %w", err)
		}
	}
	cfg, err := os.Open(cfgImage)
	if err != nil {
		return fmt.Errorf("opening the configuration image: %w", err)
	}
	defer cfg.Close()
	if st, err := cfg.Stat(); err != nil || st.Size() > ConfigSizeMiB*mib {
		return fmt.Errorf("configuration image %s must be at most %d MiB", cfgImage, ConfigSizeMiB)
	}

	var bundle bytes.Buffer
	if err := WriteBundle(&bundle, o.Board, o.Version, o.Kernel, o.Initramfs); err != nil {
		return fmt.Errorf("building the disk: %w", err)
	}
	loader, err := os.ReadFile(o.BootLoader)
	if err != nil {
		return fmt.Errorf("reading the boot loader: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("building the disk: %w", err)
	}
	tmp := out + ".tmp"
	os.Remove(tmp)
	defer os.Remove(tmp)
	size := int64(1+espMiB+ConfigSizeMiB+1) * mib
	d, err := diskfs.Create(tmp, size, diskfs.SectorSize512)
	if err != nil {
		return fmt.Errorf("creating %s: %w", tmp, err)
	}
	closed := false
	defer func() {
		if !closed { // go-diskfs panics on a second Close
			d.Close()
		}
	}()
	const sector = 512
	espStart := uint64(mib / sector)
	espEnd := espStart + uint64(espMiB*mib/sector) - 1
	cfgStart := espEnd + 1
	cfgEnd := cfgStart + uint64(ConfigSizeMiB*mib/sector) - 1
	table := &gpt.Table{
		LogicalSectorSize:  sector,
		PhysicalSectorSize: sector,
		ProtectiveMBR:      true,
		GUID:               stableGUID(o.Board.Name, "disk"),
		Partitions: []*gpt.Partition{
			{Index: ESPPartition, Start: espStart, End: espEnd, Type: gpt.EFISystemPartition, Name: software.ESPPartName, GUID: stableGUID(o.Board.Name, "esp")},
			{Index: ConfigPartition, Start: cfgStart, End: cfgEnd, Type: gpt.LinuxFilesystem, Name: ConfigPartName, GUID: stableGUID(o.Board.Name, "config")},
		},
	}
	if err := d.Partition(table); err != nil {
		return fmt.Errorf("writing the partition table: %w", err)
	}
	fat, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: ESPPartition, FSType: filesystem.TypeFat32, VolumeLabel: ESPLabel, Reproducible: true})
	if err != nil {
		return fmt.Errorf("making the ESP's FAT32: %w", err)
	}
	esp := FATFS{FS: fat}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{arch.removable, loader},
		{software.LoaderConf, software.LoaderConfig()},
	} {
		if err := esp.MkdirAll(filepath.Dir(f.name)); err != nil {
			return err
		}
		if err := writeAll(esp, f.name, f.data); err != nil {
			return err
		}
	}
	if _, err := software.Add(ctx, esp, &bundle, software.AddOptions{
		Board: o.Board.Name, KernelArgs: KernelArgs(o.Board), Slot: software.SlotA, Confirmed: true, ExtraArgs: o.ExtraArgs,
	}); err != nil {
		return fmt.Errorf("installing slot A: %w", err)
	}
	if _, err := d.WritePartitionContents(ConfigPartition, cfg); err != nil {
		return fmt.Errorf("copying the configuration filesystem into partition %d: %w", ConfigPartition, err)
	}
	closed = true
	if err := d.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("building the disk: %w", err)
	}
	return nil
}

func writeAll(fsys software.FS, name string, data []byte) error {
	w, err := fsys.Create(name)
	if err != nil {
		return err
	}
	_, werr := w.Write(data)
	if err := errors.Join(werr, w.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// stableGUID derives a GUID from the board's name, so the same inputs give the same image. Every image
// of a board shares them; nothing on the box relies on them being unique (the init finds partitions by
// name and label).
func stableGUID(boardName, what string) string {
	h := sha256.Sum256([]byte("palisade " + boardName + " " + what))
	h[6] = h[6]&0x0f | 0x50 // version 5 style: name-based
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

// Open opens the ESP of an existing image for software's functions: read the slots, install a bundle,
// as the box itself does through its mounted ESP. Close the returned disk when done.
func Open(image string) (*disk.Disk, software.FS, error) {
	d, err := diskfs.Open(image, diskfs.WithSectorSize(diskfs.SectorSize512))
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s: %w", image, err)
	}
	fat, err := d.GetFilesystem(ESPPartition)
	if err != nil {
		d.Close()
		return nil, nil, fmt.Errorf("opening the ESP of %s: %w", image, err)
	}
	return d, FATFS{FS: fat}, nil
}
