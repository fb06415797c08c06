package disk

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/firmware/software"
)

func fakeInputs(t *testing.T) (dir string, o Options) {
	t.Helper()
	dir = t.TempDir()
	b, err := board.Lookup("qemu-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"vmlinuz": "MZ fake kernel", "initramfs.cpio.gz": "fake initramfs", "systemd-bootx64.efi": "MZ fake loader"}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, Options{Board: b, Kernel: filepath.Join(dir, "vmlinuz"), Initramfs: filepath.Join(dir, "initramfs.cpio.gz"),
		BootLoader: filepath.Join(dir, "systemd-bootx64.efi"), Version: "1.2.3", ESPSizeMiB: 40}
}

func TestBuild(t *testing.T) {
	dir, o := fakeInputs(t)
	img := filepath.Join(dir, "palisade.img")
	if err := Build(context.Background(), o, img); err != nil {
		t.Fatal(err)
	}
	d, err := diskfs.Open(img, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := d.GetPartitionTable()
	if err != nil {
		t.Fatal(err)
	}
	parts := tbl.(*gpt.Table).Partitions
	if len(parts) < 2 || parts[0].Type != gpt.EFISystemPartition || parts[0].Name != software.ESPPartName ||
		parts[1].Type != gpt.LinuxFilesystem || parts[1].Name != ConfigPartName {
		t.Fatalf("partitions: %+v", parts)
	}
	if parts[0].Start*512%mib != 0 || parts[1].Start*512%mib != 0 {
		t.Errorf("partitions not aligned to 1 MiB: %d, %d", parts[0].Start, parts[1].Start)
	}
	// The init finds the configuration by its ext4 label, at the partition's offset.
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	sb := raw[int64(parts[1].Start)*512+1024:]
	if sb[0x38] != 0x53 || sb[0x39] != 0xef || string(bytes.TrimRight(sb[0x78:0x88], "\x00")) != "PALISADE" {
		t.Errorf("partition 2 has no ext4 filesystem labelled PALISADE")
	}
	d.Close()

	d, esp, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	loader, err := esp.ReadFile("EFI/BOOT/BOOTX64.EFI")
	if err != nil || string(loader) != "MZ fake loader" {
		t.Errorf("boot loader: %q, %v", loader, err)
	}
	st, err := software.Read(esp, "")
	if err != nil {
		t.Fatal(err)
	}
	if next, ok := st.Next(); !ok || next != software.SlotA || st.A.Version != "1.2.3" || st.B.Installed {
		t.Fatalf("state: %+v", st)
	}
	entry, _ := esp.ReadFile(software.EntriesDir + "/" + st.A.EntryFile)
	if !strings.Contains(string(entry), "options console=ttyS0,115200 panic=-1 no_timer_check quiet palisade.slot=a\n") {
		t.Errorf("entry:\n%s", entry)
	}
	initrd, _ := esp.ReadFile(software.SlotDir(software.SlotA) + "/" + software.InitrdFile)
	if !bytes.HasPrefix(initrd, []byte("fake initramfs")) || len(initrd) <= len("fake initramfs") {
		t.Errorf("slot initrd should be the initramfs followed by the version archive (%d bytes)", len(initrd))
	}
}

func TestBuildReproducible(t *testing.T) {
	dir, o := fakeInputs(t)
	var images [][]byte
	for _, name := range []string{"one.img", "two.img"} {
		img := filepath.Join(dir, name)
		if err := Build(context.Background(), o, img); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, b)
	}
	// The GPT (first 34 sectors) does not depend on time or randomness.
	if !bytes.Equal(images[0][:34*512], images[1][:34*512]) {
		t.Error("two builds of the same inputs have different partition tables")
	}
}

func TestUpgradeOnImage(t *testing.T) {
	dir, o := fakeInputs(t)
	img := filepath.Join(dir, "palisade.img")
	if err := Build(context.Background(), o, img); err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := WriteBundle(&bundle, o.Board, "2.0", o.Kernel, o.Initramfs); err != nil {
		t.Fatal(err)
	}
	d, esp, err := Open(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := software.Add(context.Background(), esp, &bundle, software.AddOptions{Board: o.Board.Name, Running: software.SlotA}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, esp, err = Open(img)
	if err != nil {
		t.Fatal(err)
	}
	st, err := software.Read(esp, "")
	if err != nil {
		t.Fatal(err)
	}
	if next, _ := st.Next(); next != software.SlotB || !st.B.Trying() || st.B.Version != "2.0" || st.B.EntryFile != "palisade-b+1.conf" {
		t.Fatalf("after add on the image: %+v", st.B)
	}
}
