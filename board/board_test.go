package board

import (
	"regexp"
	"strings"
	"testing"
)

func TestAllBoardsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, b := range All() {
		if b.Name == "" {
			t.Fatalf("board with empty name: %+v", b)
		}
		if seen[b.Name] {
			t.Errorf("board name %q is used twice", b.Name)
		}
		seen[b.Name] = true
		if b.Arch != "amd64" && b.Arch != "arm64" {
			t.Errorf("%s: Arch = %q, want amd64 or arm64", b.Name, b.Arch)
		}
		if b.Console == "" || b.Baud == 0 {
			t.Errorf("%s: console %q baud %d, want both set", b.Name, b.Console, b.Baud)
		}
		if len(b.Modules) == 0 {
			t.Errorf("%s: no modules", b.Name)
		}
		mods := map[string]bool{}
		for _, m := range b.Modules {
			if mods[m] {
				t.Errorf("%s: module %q listed twice", b.Name, m)
			}
			mods[m] = true
			if strings.Contains(m, "-") || strings.HasSuffix(m, ".ko") {
				t.Errorf("%s: module %q: want the kernel's name (underscores, no .ko)", b.Name, m)
			}
		}
		// crc32c_generic must come before anything that pulls nf_tables.
		if i, j := indexOf(b.Modules, "crc32c_generic"), indexOf(b.Modules, "nft_ct"); i < 0 || j < 0 || i > j {
			t.Errorf("%s: crc32c_generic at %d, nft_ct at %d: want crc32c_generic first", b.Name, i, j)
		}
		for _, m := range []string{"esp4", "xfrm_user", "drbg", "ext4", "nft_xfrm"} {
			if !mods[m] {
				t.Errorf("%s: module %q missing", b.Name, m)
			}
		}
		if len(b.Ports) == 0 {
			t.Errorf("%s: no port rules", b.Name)
		}
		k := b.Kernel
		if k.Package == "" || k.Version == "" || k.Meta == "" || k.Release == "" || !hex64.MatchString(k.SHA256) {
			t.Errorf("%s: incomplete kernel pin %+v", b.Name, k)
		}
		if !strings.HasSuffix(k.Package, b.Arch) || !strings.HasSuffix(k.Meta, b.Arch) {
			t.Errorf("%s: kernel packages %q/%q do not match arch %q", b.Name, k.Package, k.Meta, b.Arch)
		}
		if (b.QEMU != nil) != strings.HasPrefix(b.Name, "qemu-") {
			t.Errorf("%s: QEMU settings %v do not match the name", b.Name, b.QEMU)
		}
		if b.QEMU != nil && !b.Tested {
			t.Errorf("%s: QEMU boards are booted by the VM tests, want Tested", b.Name)
		}
		if !b.Tested && b.Notes == "" {
			t.Errorf("%s: untested board without notes", b.Name)
		}
	}
	for _, want := range []string{"qemu-x86_64", "qemu-arm64", "pcengines-apu2"} {
		if !seen[want] {
			t.Errorf("board %q missing", want)
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func TestLookup(t *testing.T) {
	b, err := Lookup("qemu-arm64")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Console, "ttyAMA0"; got != want {
		t.Errorf("console = %q, want %q", got, want)
	}
	_, err = Lookup("wrt54g")
	if err == nil {
		t.Fatal("Lookup(wrt54g) succeeded, want an error")
	}
	for _, name := range Names() {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name valid board %q", err, name)
		}
	}
}

func TestAllReturnsCopies(t *testing.T) {
	a := All()
	a[0].Modules[0] = "changed"
	if b := All(); b[0].Modules[0] == "changed" {
		t.Error("All shares state between calls")
	}
}

func TestKernelArgs(t *testing.T) {
	for name, want := range map[string]string{
		"qemu-x86_64":    "console=ttyS0,115200 panic=-1 no_timer_check",
		"qemu-arm64":     "console=ttyAMA0,115200 panic=-1",
		"pcengines-apu2": "console=ttyS0,115200 panic=-1",
	} {
		b, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.KernelArgs(); got != want {
			t.Errorf("%s: kernel args %q, want %q", name, got, want)
		}
	}
}
