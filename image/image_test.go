package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/drivers/kmod"
)

func sampleRecords() []Record {
	return []Record{
		Dir("bin", 0o755),
		File("init", 0o755, []byte("#!init\n")),
		Symlink("bin/sh", "../bbin/gosh"),
		File("bbin/bb", 0o755, []byte("busybox")), // parent bbin is implied
		CharDev("dev/console", 0o600, 5, 1),
		File("etc/palisade/board", 0o644, []byte("qemu-x86_64\n")),
		File("lib/modules/x/a.ko", 0o644, []byte{0, 1, 2}), // odd length: padding
	}
}

func TestCPIORoundTrip(t *testing.T) {
	var buf bytes.Buffer
	want := Normalize(sampleRecords())
	if err := WriteCPIO(&buf, want); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", buf.Len())
	}
	got, err := ReadCPIO(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Mode != w.Mode || !bytes.Equal(g.Data, w.Data) || g.RdevMajor != w.RdevMajor || g.RdevMinor != w.RdevMinor {
			t.Errorf("record %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestNormalize(t *testing.T) {
	recs := append(sampleRecords(), File("init", 0o755, []byte("newer init")))
	got := Normalize(recs)
	var names []string
	for _, r := range got {
		names = append(names, r.Name)
	}
	want := []string{"bbin", "bbin/bb", "bin", "bin/sh", "dev", "dev/console", "etc", "etc/palisade",
		"etc/palisade/board", "init", "lib", "lib/modules", "lib/modules/x", "lib/modules/x/a.ko"}
	if !slices.Equal(names, want) {
		t.Errorf("names = %q\nwant %q", names, want)
	}
	for _, r := range got {
		if r.Name == "init" && string(r.Data) != "newer init" {
			t.Errorf("init = %q, want the later record", r.Data)
		}
	}
}

func TestInitramfsReproducible(t *testing.T) {
	var first []byte
	for i := range 5 {
		recs := sampleRecords()
		rand.Shuffle(len(recs), func(a, b int) { recs[a], recs[b] = recs[b], recs[a] })
		var buf bytes.Buffer
		if err := WriteInitramfs(&buf, recs); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = buf.Bytes()
			continue
		}
		if !bytes.Equal(buf.Bytes(), first) {
			t.Fatalf("run %d: bytes differ for the same records in another order", i)
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("gzip header has mtime %v name %q, want neither", zr.ModTime, zr.Name)
	}
	recs, err := ReadCPIO(zr)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Name != "bbin" {
		t.Errorf("first record %q, want bbin", recs[0].Name)
	}
}

func TestModuleRecords(t *testing.T) {
	k := Kernel{Root: filepath.Join("testdata", "kernel"), Release: "6.1.0-test"}
	recs, mods, missing, err := moduleRecords(k, []string{"nf_tables", "ghash_generic", "af_packet", "nosuch"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"libcrc32c", "nf_tables", "gf128mul", "ghash_generic"}; !slices.Equal(mods, want) {
		t.Errorf("modules = %q, want %q", mods, want)
	}
	if want := []string{"nosuch"}; !slices.Equal(missing, want) {
		t.Errorf("missing = %q, want %q", missing, want)
	}
	files := map[string][]byte{}
	for _, r := range recs {
		files[r.Name] = r.Data
	}
	if _, ok := files["lib/modules/6.1.0-test/kernel/net/unused.ko"]; ok {
		t.Error("unused.ko was included")
	}
	if string(files["lib/modules/6.1.0-test/kernel/crypto/ghash-generic.ko"]) != "ko crypto/ghash-generic\n" {
		t.Error("ghash-generic.ko missing or wrong")
	}
	// The image's modules.dep is enough for the loader on the box.
	ix, err := kmod.ParseIndex(bytes.NewReader(files["lib/modules/6.1.0-test/modules.dep"]), bytes.NewReader(files["lib/modules/6.1.0-test/modules.builtin"]))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ix.Closure([]string{"nf_tables", "ghash_generic", "af_packet"}); err != nil || !slices.Equal(got, mods) {
		t.Errorf("closure from the image's modules.dep = %q, %v; want %q", got, err, mods)
	}
}

// TestBoardModulesExist checks every board's module list against the real kernels, when they are cached
// (after `make image` for both QEMU boards).
func TestBoardModulesExist(t *testing.T) {
	for _, b := range board.All() {
		root, _ := filepath.Glob(filepath.Join("..", "cache", "kernel", b.Arch, b.Kernel.Package+"_"+b.Kernel.Version+"_*"))
		if len(root) != 1 {
			t.Logf("%s: kernel %s not cached; run make image BOARD=qemu-%s first", b.Name, b.Kernel.Package, map[string]string{"amd64": "x86_64", "arm64": "arm64"}[b.Arch])
			continue
		}
		dir := filepath.Join(root[0], "lib", "modules", b.Kernel.Release)
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s: pinned release %s: %v", b.Name, b.Kernel.Release, err)
			continue
		}
		ix, err := kmod.ReadIndex(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range b.Modules {
			if _, err := ix.LoadOrder(m); err != nil && !ix.Builtin(m) {
				t.Errorf("%s: %v", b.Name, err)
			}
		}
	}
}

func TestDebName(t *testing.T) {
	if got, want := debName("kmod", "1:30-1", "amd64"), "kmod_1%3a30-1_amd64.deb"; got != want {
		t.Errorf("debName = %q, want %q", got, want)
	}
	if !strings.HasSuffix(debName("linux-image-6.1.0-56-arm64", "6.1.192-2", "arm64"), "_6.1.192-2_arm64.deb") {
		t.Error("debName of the kernel")
	}
}

func TestStripModuleSignature(t *testing.T) {
	body := []byte("\x7fELF module body")
	sig := []byte("SIGNATURE-BYTES")
	info := []byte{0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(sig))}
	signed := append(append(append(append([]byte{}, body...), sig...), info...), moduleSigMagic...)
	got, err := StripModuleSignature(signed)
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("StripModuleSignature(signed) = %q, %v; want %q", got, err, body)
	}
	if got, err := StripModuleSignature(body); err != nil || !bytes.Equal(got, body) {
		t.Errorf("StripModuleSignature(unsigned) = %q, %v; want it unchanged", got, err)
	}
	bad := append(append([]byte{}, info...), moduleSigMagic...)
	if _, err := StripModuleSignature(bad); err == nil {
		t.Error("StripModuleSignature accepted a signature longer than the file")
	}
}

// fakeBzImage lays out a bzImage: setup_sects real-mode sectors, then the protected-mode part with the
// payload at payload_offset.
func fakeBzImage(t *testing.T, payload []byte) []byte {
	t.Helper()
	const setupSects, payloadOffset = 3, 0x100
	bz := make([]byte, (setupSects+1)*512+payloadOffset+len(payload)+64)
	bz[0x1f1] = setupSects
	copy(bz[0x202:], "HdrS")
	binary.LittleEndian.PutUint32(bz[0x248:], payloadOffset)
	binary.LittleEndian.PutUint32(bz[0x24c:], uint32(len(payload)))
	copy(bz[(setupSects+1)*512+payloadOffset:], payload)
	return bz
}

func TestVmlinuxGzip(t *testing.T) {
	elf := []byte("\x7fELF\x02\x01\x01 a kernel")
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(elf)
	zw.Close()
	got, err := Vmlinux(context.Background(), fakeBzImage(t, z.Bytes()))
	if err != nil || !bytes.Equal(got, elf) {
		t.Errorf("Vmlinux = %q, %v; want %q", got, err, elf)
	}
	if _, err := Vmlinux(context.Background(), []byte("MZ not a kernel")); err == nil {
		t.Error("Vmlinux accepted a file without a boot header")
	}
	if _, err := Vmlinux(context.Background(), fakeBzImage(t, []byte("BZh91AY&SY"))); err == nil {
		t.Error("Vmlinux accepted an unsupported compression")
	}
}
