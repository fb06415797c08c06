package qemu

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/palisade/palisade/board"
)

// EFI is a box that boots like a board with UEFI firmware: the firmware (OVMF on x86_64, AAVMF on arm64,
// as QEMU pflash) starts the boot loader on the ESP of Disk.
type EFI struct {
	// Disk is the raw disk image (make disk), attached read-write as the first virtio disk. Pass a copy if
	// the test must not change the original: a boot changes it (boot counters, commits).
	Disk string
	// Code is the firmware's read-only code; Vars is this box's own writable copy of the variable store
	// (NewEFIVars). Keeping Vars between boots keeps the EFI variables, as a board's flash does.
	Code, Vars string
}

// Firmware images from Debian's ovmf and qemu-efi-aarch64 packages. The code and vars files of a
// firmware must be of the same build and size (the 4M pair for OVMF).
var efiFirmware = map[string]struct{ code, vars string }{
	"amd64": {"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
	"arm64": {"/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"},
}

// pflashSize is the size QEMU's virt machine wants for each arm64 flash device.
const pflashSize = 64 << 20

// NewEFI returns an EFI boot of disk for b, with a fresh variable store copied into dir.
func NewEFI(b board.Board, disk, dir string) (*EFI, error) {
	fw, ok := efiFirmware[b.Arch]
	if !ok {
		return nil, fmt.Errorf("board %s: no UEFI firmware for architecture %s", b.Name, b.Arch)
	}
	if _, err := os.Stat(fw.code); err != nil {
		return nil, fmt.Errorf("board %s: UEFI firmware: %w (apt-get install ovmf qemu-efi-aarch64)", b.Name, err)
	}
	vars := filepath.Join(dir, b.Name+".efivars.fd")
	if err := copyPadded(fw.vars, vars, b.Arch == "arm64"); err != nil {
		return nil, fmt.Errorf("board %s: copying the UEFI variable store: %w", b.Name, err)
	}
	code := fw.code
	if b.Arch == "arm64" {
		if st, err := os.Stat(code); err == nil && st.Size() < pflashSize {
			code = filepath.Join(dir, b.Name+".efi-code.fd")
			if err := copyPadded(fw.code, code, true); err != nil {
				return nil, fmt.Errorf("board %s: padding the UEFI code: %w", b.Name, err)
			}
		}
	}
	return &EFI{Disk: disk, Code: code, Vars: vars}, nil
}

// copyPadded copies src to dst, zero-extended to pflashSize when pad is set (older AAVMF builds ship
// smaller files than the virt machine's flash).
func copyPadded(src, dst string, pad bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	n, cerr := io.Copy(out, in)
	if cerr == nil && pad && n < pflashSize {
		cerr = out.Truncate(pflashSize)
	}
	return errors.Join(cerr, out.Close())
}

// args are QEMU's arguments for the firmware and the boot disk.
func (e *EFI) args(q *board.QEMU) []string {
	return []string{
		"-drive", fmt.Sprintf("if=pflash,format=raw,unit=0,readonly=on,file=%s", e.Code),
		"-drive", fmt.Sprintf("if=pflash,format=raw,unit=1,file=%s", e.Vars),
		"-drive", fmt.Sprintf("file=%s,format=raw,if=none,id=boot0", e.Disk),
		"-device", fmt.Sprintf("%s,drive=boot0,addr=%#x,bootindex=0", q.DiskDevice, bootDiskSlot),
	}
}
