package boot

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestFindLabel(t *testing.T) {
	mke2fs, err := exec.LookPath("mke2fs")
	if err != nil {
		mke2fs = "/sbin/mke2fs"
		if _, err := os.Stat(mke2fs); err != nil {
			t.Skip("no mke2fs")
		}
	}
	root := t.TempDir()
	sys, dev := filepath.Join(root, "sys"), filepath.Join(root, "dev")
	for _, d := range []string{"vda", "vdb", "vdc"} {
		os.MkdirAll(filepath.Join(sys, d), 0o755)
	}
	os.MkdirAll(dev, 0o755)
	os.WriteFile(filepath.Join(dev, "vda"), make([]byte, 4096), 0o600) // not a filesystem
	for name, label := range map[string]string{"vdb": "OTHER", "vdc": "PALISADE"} {
		if out, err := exec.Command(mke2fs, "-q", "-F", "-t", "ext4", "-L", label, filepath.Join(dev, name), "4M").CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	got, err := FindLabel(sys, dev, "PALISADE")
	if err != nil || got != filepath.Join(dev, "vdc") {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, label := range []string{"NOPE", "PALIS", ""} {
		if got, err := FindLabel(sys, dev, label); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("FindLabel(%q) = %q, %v; want os.ErrNotExist", label, got, err)
		}
	}
}

func TestExtraModules(t *testing.T) {
	got := ExtraModules("console=ttyS0 palisade.modules=foo,bar quiet")
	if len(got) != 2 || got[0] != "foo" || got[1] != "bar" {
		t.Errorf("got %v", got)
	}
	if ExtraModules("console=ttyS0") != nil {
		t.Error("want none")
	}
}
