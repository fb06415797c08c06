package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade/palisade/firmware/config"
)

func TestCheckCompileShowDisk(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if code, err := run([]string{"check", "testdata/srx1.set"}, &out, &out); code != 0 || err != nil {
		t.Fatalf("check: %d %v\n%s", code, err, out.String())
	}
	cb := filepath.Join(dir, "srx1.cbor")
	if code, err := run([]string{"compile", "testdata/srx1.set", "-o", cb}, &out, &out); code != 0 || err != nil {
		t.Fatalf("compile: %d %v", code, err)
	}
	out.Reset()
	// CBOR in, set out: the same statements as the source.
	if code, err := run([]string{"show", cb, "--format", "set", "--secrets"}, &out, &out); code != 0 || err != nil {
		t.Fatalf("show: %d %v", code, err)
	}
	src, _ := os.ReadFile("testdata/srx1.set")
	want, _, _ := config.Parse("x", string(src))
	if out.String() != want.SetText(config.RenderOptions{Secrets: true}) {
		t.Errorf("show of compiled CBOR differs:\n%s", out.String())
	}
	if _, err := exec.LookPath("mke2fs"); err != nil {
		if _, err := os.Stat("/sbin/mke2fs"); err != nil {
			t.Skip("no mke2fs")
		}
	}
	img := filepath.Join(dir, "cfg.img")
	if code, err := run([]string{"disk", "testdata/srx1.set", "-o", img}, &out, &out); code != 0 || err != nil {
		t.Fatalf("disk: %d %v", code, err)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	// ext4 superblock at 1024: magic at +0x38, volume name at +0x78.
	if b[1024+0x38] != 0x53 || b[1024+0x39] != 0xef || !bytes.HasPrefix(b[1024+0x78:], []byte("PALISADE\x00")) {
		t.Error("image is not an ext4 filesystem labelled PALISADE")
	}
}

func TestCheckReportsFileLineStatement(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.set")
	os.WriteFile(bad, []byte("set system host-name ok\nset security zones security-zone z interfaces ge-0/0/4.0\n"), 0o600)
	var out bytes.Buffer
	code, err := run([]string{"check", bad}, &out, &out)
	if code != 1 || err != nil {
		t.Fatalf("got %d %v", code, err)
	}
	want := bad + ":2: set security zones security-zone z interfaces ge-0/0/4.0: interface ge-0/0/4.0 is not configured (set interfaces ge-0/0/4 unit 0 ...)\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
	if !strings.Contains(usage, "disk FILE -o OUT.img") {
		t.Error("usage lacks disk")
	}
}

// TestDiff compares the seed's two routers as `show | compare` would show
// turning SRX1 into SRX2: Junos headers and lines, keys masked.
func TestDiff(t *testing.T) {
	var out bytes.Buffer
	if code, err := run([]string{"diff", "testdata/srx1.set", "../../firmware/config/testdata/srx2.set"}, &out, &out); code != 0 || err != nil {
		t.Fatalf("diff: %d %v\n%s", code, err, out.String())
	}
	for _, want := range []string{"[edit system]\n-   host-name SRX1;\n+   host-name SRX2;\n", "[edit "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, out.String())
		}
	}
	src, _ := os.ReadFile("testdata/srx1.set")
	c, _, _ := config.Parse("x", string(src))
	for _, l := range strings.Split(c.SetText(config.RenderOptions{Secrets: true}), "\n") {
		if i := strings.Index(l, "ascii-text "); i >= 0 && strings.Contains(out.String(), strings.TrimSpace(l[i+len("ascii-text "):])) {
			t.Errorf("diff shows a secret: %s", l[i:])
		}
	}
}
