package blockdev

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fakeSysfs lays out a /sys/class/block in a temporary directory: as in the
// real one, each entry is a symlink to the device's directory, which holds
// its uevent (none when the uevent is "").
func fakeSysfs(t *testing.T, uevents map[string]string) string {
	t.Helper()
	root := t.TempDir()
	class, devices := filepath.Join(root, "class", "block"), filepath.Join(root, "devices")
	if err := os.MkdirAll(class, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, ev := range uevents {
		dir := filepath.Join(devices, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if ev != "" {
			if err := os.WriteFile(filepath.Join(dir, "uevent"), []byte(ev), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(dir, filepath.Join(class, name)); err != nil {
			t.Fatal(err)
		}
	}
	return class
}

func TestFindPartName(t *testing.T) {
	sys := fakeSysfs(t, map[string]string{
		"vda":   "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n",
		"vda1":  "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTN=1\nPARTNAME=palisade-esp-old\n",
		"vda2":  "MAJOR=254\nMINOR=2\nDEVNAME=vda2\nDEVTYPE=partition\nPARTN=2\nPARTNAME=palisade-esp\n",
		"vda3":  "MAJOR=254\nMINOR=3\nDEVNAME=vda3\nDEVTYPE=partition\nPARTN=3\nPARTNAME=PALISADE\n",
		"vdb1":  "MAJOR=254\nMINOR=17\nDEVNAME=vdb1\nDEVTYPE=partition\nPARTN=1\nPARTNAME=palisade-esp\n",
		"loop0": "",
	})
	for _, tc := range []struct{ name, want string }{
		// vdb1 has the same name: the first in name order wins.
		{"palisade-esp", "/dev/vda2"},
		{"PALISADE", "/dev/vda3"},
	} {
		got, err := Find(sys, "/dev", PartName(tc.name))
		if err != nil || got != tc.want {
			t.Errorf("Find(PartName(%q)) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, name := range []string{"palisade", "palisade-es", ""} {
		if got, err := Find(sys, "/dev", PartName(name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Find(PartName(%q)) = %q, %v; want os.ErrNotExist", name, got, err)
		}
	}
}

func TestFindOrder(t *testing.T) {
	sys := fakeSysfs(t, map[string]string{"vdb": "", "sda": "", "vda1": "", "vda": "", "mmcblk0p2": ""})
	var seen []Device
	got, err := Find(sys, "/devroot", func(d Device) bool {
		seen = append(seen, d)
		return d.Name == "vda1"
	})
	if err != nil || got != "/devroot/vda1" {
		t.Fatalf("Find = %q, %v; want /devroot/vda1", got, err)
	}
	var names []string
	for _, d := range seen {
		names = append(names, d.Name)
		if d.Sys != filepath.Join(sys, d.Name) || d.Node != filepath.Join("/devroot", d.Name) {
			t.Errorf("device %+v", d)
		}
	}
	if want := []string{"mmcblk0p2", "sda", "vda", "vda1"}; !slices.Equal(names, want) {
		t.Errorf("looked at %q, want %q and no further", names, want)
	}
}

func TestFindNoSysfs(t *testing.T) {
	got, err := Find(filepath.Join(t.TempDir(), "missing"), "/dev", func(Device) bool { return true })
	if err == nil {
		t.Fatalf("Find without sysfs = %q", got)
	}
}
