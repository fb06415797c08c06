package image

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// moduleSigMagic ends a signed kernel module; before it is a struct module_signature (12 bytes, the
// signature's length big-endian in the last 4) and before that the signature itself.
const moduleSigMagic = "~Module signature appended~\n"

// StripModuleSignature returns a module file without its appended signature, or the file unchanged if it
// has none.
//
// Debian's modules are signed, but the kernel does not enforce signatures, and checking one costs about
// 20 ms per module under emulation (RSA in software), which adds up to a second at boot. The kernel loads an
// unsigned module the same way; it logs "module verification failed ... tainting kernel" once. The
// initramfs is not signed either, so the signatures protect nothing here.
func StripModuleSignature(ko []byte) ([]byte, error) {
	if !bytes.HasSuffix(ko, []byte(moduleSigMagic)) {
		return ko, nil
	}
	end := len(ko) - len(moduleSigMagic)
	const infoLen = 12
	if end < infoLen {
		return nil, fmt.Errorf("module signature: file too short (%d bytes)", len(ko))
	}
	sigLen := int(binary.BigEndian.Uint32(ko[end-4 : end]))
	start := end - infoLen - sigLen
	if sigLen == 0 || start < 0 {
		return nil, fmt.Errorf("module signature: bad length %d in a %d-byte file", sigLen, len(ko))
	}
	return ko[:start], nil
}
