package software

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// FS is the EFI system partition as the upgrade logic needs it. Names are slash-separated and relative to
// the partition's root. On the box it is a DirFS over the mounted ESP; on the host, the image builder
// implements it over a FAT filesystem inside a disk image.
type FS interface {
	// ReadFile returns a file's contents; a missing file's error wraps fs.ErrNotExist.
	ReadFile(name string) ([]byte, error)
	// ReadDir returns the names in a directory, sorted; a missing directory is empty, not an error.
	ReadDir(name string) ([]string, error)
	// Create truncates or creates a file. Close must return only once the data is on the medium.
	Create(name string) (io.WriteCloser, error)
	// Rename replaces newname with oldname, durably when it returns.
	Rename(oldname, newname string) error
	// Remove deletes a file; a missing file is not an error.
	Remove(name string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(name string) error
}

// DirFS is an FS over a directory: the mounted ESP on the box, a temporary directory in tests.
type DirFS struct{ Root string }

func (d DirFS) path(name string) string { return filepath.Join(d.Root, filepath.FromSlash(name)) }

// ReadFile implements FS.
func (d DirFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(d.path(name)) }

// ReadDir implements FS.
func (d DirFS) ReadDir(name string) ([]string, error) {
	ents, err := os.ReadDir(d.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Create implements FS.
func (d DirFS) Create(name string) (io.WriteCloser, error) {
	f, err := os.Create(d.path(name))
	if err != nil {
		return nil, err
	}
	return syncCloser{f}, nil
}

type syncCloser struct{ f *os.File }

func (s syncCloser) Write(p []byte) (int, error) { return s.f.Write(p) }

func (s syncCloser) Close() error {
	return errors.Join(s.f.Sync(), s.f.Close())
}

// Rename implements FS. The whole filesystem is synced after the rename: vfat keeps the FAT in the buffer
// cache beyond what an fsync of the directory writes, and a power cut right after a confirm lost it (seen
// in TestVMUpgrade: the next boot found a broken entry and went back to the old slot).
func (d DirFS) Rename(oldname, newname string) error {
	if err := os.Rename(d.path(oldname), d.path(newname)); err != nil {
		return err
	}
	return syncFS(d.Root)
}

// Remove implements FS.
func (d DirFS) Remove(name string) error {
	if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return syncFS(d.Root)
}

// MkdirAll implements FS.
func (d DirFS) MkdirAll(name string) error { return os.MkdirAll(d.path(name), 0o755) }

// syncFS writes everything of the filesystem holding dir to the medium (syncfs(2)).
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// writeFile writes data to name through a temporary name and a rename, so a reader (systemd-boot after a
// power loss) sees the old or the new file. The temporary name does not end in .conf, so systemd-boot
// never takes a half-written entry for one.
func writeFile(fsys FS, name string, data []byte) error {
	tmp := name + ".new"
	w, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	_, werr := w.Write(data)
	if err := errors.Join(werr, w.Close()); err != nil {
		fsys.Remove(tmp)
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return fmt.Errorf("renaming %s into place: %w", name, err)
	}
	return nil
}
