// Package cfgdisk builds a PALISADE configuration disk image on the host,
// without root: the store's files are laid out in a temporary directory and
// mke2fs -d copies them into a fresh ext4 filesystem inside a regular file.
package cfgdisk

import (
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/palisade/palisade/firmware/auth"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/store"
)

// SizeMiB is the size of a configuration disk: room for 50 rollbacks of a
// large configuration and the SSH host key, with ext4's journal.
const SizeMiB = 16

// Build writes an ext4 image holding c as the active configuration.
func Build(c *config.Config, out string, now time.Time) error {
	dir, err := os.MkdirTemp("", "palisade-cfgdisk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The disk never holds a plain-text password: hash it as commit does.
	c, err = auth.HashPlainText(c, nil)
	if err != nil {
		return err
	}
	s := &store.Store{Dir: dir}
	if _, err := s.Commit(c, store.Meta{Time: now, User: "palisade-cfg", Comment: "built by palisade-cfg disk"}); err != nil {
		return fmt.Errorf("laying out the store: %w", err)
	}
	return mkfs(dir, out)
}

// BuildRaw writes an ext4 image with the given files (name -> bytes) in its
// root, for tests that need a broken or unusual store.
func BuildRaw(files map[string][]byte, out string) error {
	dir, err := os.MkdirTemp("", "palisade-cfgdisk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for name, b := range files {
		if err := os.WriteFile(dir+"/"+name, b, 0o600); err != nil {
			return err
		}
	}
	return mkfs(dir, out)
}

func mkfs(dir, out string) error {
	mke2fs, err := exec.LookPath("mke2fs")
	if err != nil {
		if _, serr := os.Stat("/sbin/mke2fs"); serr != nil {
			return fmt.Errorf("mke2fs not found (apt-get install e2fsprogs): %w", err)
		}
		mke2fs = "/sbin/mke2fs"
	}
	os.Remove(out)
	// ext4 with its journal: the rename of a new commit survives a power
	// loss together with the file's contents.
	cmd := exec.Command(mke2fs, "-q", "-F", "-t", "ext4", "-L", store.Label, "-d", dir,
		"-E", "root_owner=0:0", out, fmt.Sprintf("%dM", SizeMiB))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mke2fs %s: %w\n%s", out, err, b)
	}
	return nil
}
