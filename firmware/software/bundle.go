package software

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// An upgrade bundle is an uncompressed tar (the kernel and the gzip'd initramfs do not compress further)
// holding, in this order:
//
//	manifest  text, one "key value" per line (see Manifest)
//	linux     the kernel, an EFI stub image
//	initrd    the initramfs
//
// The manifest comes first so the files can be checked while they stream into the inactive slot, and the
// bundle never has to be held in memory or on a disk of its own.

// BundleMagic is the first line of a manifest.
const BundleMagic = "palisade-bundle 1"

// Manifest describes a bundle, and is kept as the slot's manifest once installed.
type Manifest struct {
	Version string
	Board   string
	// Files are the kernel and the initrd, by name (KernelFile, InitrdFile).
	Files map[string]FileSum
}

// FileSum is a file's sha256 (hex) and size.
type FileSum struct {
	SHA256 string
	Size   int64
}

// Format renders the manifest.
func (m Manifest) Format() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nversion %s\nboard %s\n", BundleMagic, m.Version, m.Board)
	for _, name := range []string{KernelFile, InitrdFile} {
		if f, ok := m.Files[name]; ok {
			fmt.Fprintf(&b, "%s %s %d\n", name, f.SHA256, f.Size)
		}
	}
	return []byte(b.String())
}

// ParseManifest reads a manifest and checks that it names a version, a board and both files.
func ParseManifest(data []byte) (Manifest, error) {
	m := Manifest{Files: map[string]FileSum{}}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != BundleMagic {
		return Manifest{}, fmt.Errorf("manifest: first line must be %q", BundleMagic)
	}
	n := 2
	for ; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "version", "board":
			if len(f) != 2 {
				return Manifest{}, fmt.Errorf("manifest line %d: want %q VALUE", n, f[0])
			}
			if f[0] == "version" {
				m.Version = f[1]
			} else {
				m.Board = f[1]
			}
		case KernelFile, InitrdFile:
			if len(f) != 3 {
				return Manifest{}, fmt.Errorf("manifest line %d: want %s SHA256 SIZE", n, f[0])
			}
			sum, err := hex.DecodeString(f[1])
			if err != nil || len(sum) != sha256.Size {
				return Manifest{}, fmt.Errorf("manifest line %d: %s: %q is not a sha256", n, f[0], f[1])
			}
			size, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil || size <= 0 {
				return Manifest{}, fmt.Errorf("manifest line %d: %s: bad size %q", n, f[0], f[2])
			}
			m.Files[f[0]] = FileSum{SHA256: strings.ToLower(f[1]), Size: size}
		default:
			// Later bundle versions may add keys; an older firmware installing a newer bundle ignores them.
		}
	}
	if err := sc.Err(); err != nil {
		// A line longer than the scanner's buffer: say so rather than
		// report the keys after it as missing.
		if errors.Is(err, bufio.ErrTooLong) {
			return Manifest{}, fmt.Errorf("manifest line %d: longer than %d bytes", n, bufio.MaxScanTokenSize)
		}
		return Manifest{}, fmt.Errorf("manifest line %d: %w", n, err)
	}
	var missing []string
	if m.Version == "" {
		missing = append(missing, "version")
	}
	if m.Board == "" {
		missing = append(missing, "board")
	}
	for _, name := range []string{KernelFile, InitrdFile} {
		if _, ok := m.Files[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Manifest{}, fmt.Errorf("manifest: missing %s", strings.Join(missing, ", "))
	}
	return m, nil
}

// WriteBundle writes a bundle of the given kernel and initrd. The readers are read twice (for the sums,
// then for the contents), so they must be io.ReadSeekers.
func WriteBundle(w io.Writer, version, board string, kernel, initrd io.ReadSeeker) error {
	m := Manifest{Version: version, Board: board, Files: map[string]FileSum{}}
	srcs := map[string]io.ReadSeeker{KernelFile: kernel, InitrdFile: initrd}
	for _, name := range []string{KernelFile, InitrdFile} {
		h := sha256.New()
		n, err := io.Copy(h, srcs[name])
		if err != nil {
			return fmt.Errorf("bundle: hashing %s: %w", name, err)
		}
		if _, err := srcs[name].Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("bundle: rewinding %s: %w", name, err)
		}
		m.Files[name] = FileSum{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	}
	tw := tar.NewWriter(w)
	manifest := m.Format()
	if err := tw.WriteHeader(&tar.Header{Name: ManifestFile, Mode: 0o644, Size: int64(len(manifest)), Format: tar.FormatUSTAR}); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if _, err := tw.Write(manifest); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	for _, name := range []string{KernelFile, InitrdFile} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: m.Files[name].Size, Format: tar.FormatUSTAR}); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		if _, err := io.Copy(tw, srcs[name]); err != nil {
			return fmt.Errorf("bundle: writing %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return nil
}

// ErrChecksum says a file of a bundle does not match its manifest (or the bundle its expected sum).
var ErrChecksum = errors.New("checksum mismatch")

// hashingReader counts and hashes what passes through it.
type hashingReader struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func newHashingReader(r io.Reader) *hashingReader { return &hashingReader{r: r, h: sha256.New()} }

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashingReader) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }
