package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// BzImagePayload returns the compressed kernel (vmlinux) inside an x86 bzImage, using the boot protocol's
// setup header: setup_sects at 0x1f1, payload_offset and payload_length at 0x248 and 0x24c, counted from
// the protected-mode code, which starts after the (setup_sects+1) 512-byte sectors of real-mode code.
func BzImagePayload(bz []byte) ([]byte, error) {
	if len(bz) < 0x250 || string(bz[0x202:0x206]) != "HdrS" {
		return nil, errors.New("not a bzImage (no HdrS boot header)")
	}
	setupSects := int(bz[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	pm := (setupSects + 1) * 512
	off := int(binary.LittleEndian.Uint32(bz[0x248:]))
	n := int(binary.LittleEndian.Uint32(bz[0x24c:]))
	if off == 0 || pm+off+n > len(bz) {
		return nil, fmt.Errorf("bzImage payload %d+%d outside the %d-byte file", pm+off, n, len(bz))
	}
	return bz[pm+off : pm+off+n], nil
}

// Vmlinux returns the uncompressed kernel ELF inside an x86 bzImage. Payloads compressed with gzip are
// decompressed here, xz ones with the xz command (Debian's kernels are xz).
func Vmlinux(ctx context.Context, bz []byte) ([]byte, error) {
	payload, err := BzImagePayload(bz)
	if err != nil {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(payload, []byte("\xfd7zXZ\x00")):
		cmd := exec.CommandContext(ctx, "xz", "--decompress", "--stdout", "--single-stream")
		cmd.Stdin = bytes.NewReader(payload)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("decompressing the kernel with xz: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
		}
		return checkELF(out.Bytes())
	case bytes.HasPrefix(payload, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("decompressing the kernel: %w", err)
		}
		zr.Multistream(false)
		out, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("decompressing the kernel: %w", err)
		}
		return checkELF(out)
	default:
		return nil, fmt.Errorf("kernel payload compressed with an unsupported method (magic % x)", payload[:min(6, len(payload))])
	}
}

func checkELF(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return nil, errors.New("decompressed kernel is not an ELF file")
	}
	return b, nil
}

// pvhKernel returns the path of the uncompressed vmlinux of k, made once and kept beside the extracted
// kernel. QEMU boots it directly through PVH, which skips the real-mode setup and the xz decompression:
// under emulation that halves the time to init (about 6.5 s to 2.6 s measured for qemu-x86_64).
func pvhKernel(ctx context.Context, k Kernel) (string, error) {
	out := filepath.Join(k.Root, "vmlinux.pvh")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	bz, err := os.ReadFile(k.Image)
	if err != nil {
		return "", fmt.Errorf("reading kernel image: %w", err)
	}
	elf, err := Vmlinux(ctx, bz)
	if err != nil {
		return "", fmt.Errorf("unpacking %s for PVH boot: %w", k.Image, err)
	}
	if err := writeFileAtomic(out, elf); err != nil {
		return "", err
	}
	return out, nil
}
