package disk

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"

	"github.com/diskfs/go-diskfs/filesystem"
)

// FATFS is a software.FS over a FAT filesystem inside an image file, so the host installs and inspects
// slots with the same code the box runs over its mounted ESP.
type FATFS struct{ FS filesystem.FileSystem }

// abs is the name for go-diskfs's own methods (OpenFile, Mkdir, Rename, Remove), rel for its io/fs ones
// (ReadDir, ReadFile), which take fs.ValidPath names.
func abs(name string) string { return path.Join("/", name) }

func rel(name string) string {
	if r := path.Clean("/" + name)[1:]; r != "" {
		return r
	}
	return "."
}

// ReadFile implements software.FS.
func (f FATFS) ReadFile(name string) ([]byte, error) {
	if !f.exists(name) {
		return nil, fmt.Errorf("reading %s: %w", name, fs.ErrNotExist)
	}
	return f.FS.ReadFile(rel(name))
}

// ReadDir implements software.FS.
func (f FATFS) ReadDir(name string) ([]string, error) {
	if name != "" && name != "." && !f.exists(name) {
		return nil, nil
	}
	ents, err := f.FS.ReadDir(rel(name))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", name, err)
	}
	var names []string
	for _, e := range ents {
		if e.Name() == "." || e.Name() == ".." {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// exists reports whether name is in its directory.
func (f FATFS) exists(name string) bool {
	dir, base := path.Split(rel(name))
	if dir != "" && !f.exists(path.Clean(dir)) {
		return false
	}
	ents, err := f.FS.ReadDir(rel(dir))
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Name() == base {
			return true
		}
	}
	return false
}

// Create implements software.FS.
func (f FATFS) Create(name string) (io.WriteCloser, error) {
	w, err := f.FS.OpenFile(abs(name), os.O_CREATE|os.O_RDWR|os.O_TRUNC)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", name, err)
	}
	return w, nil
}

// Rename implements software.FS.
func (f FATFS) Rename(oldname, newname string) error { return f.FS.Rename(abs(oldname), abs(newname)) }

// Remove implements software.FS.
func (f FATFS) Remove(name string) error {
	if !f.exists(name) {
		return nil
	}
	return f.FS.Remove(abs(name))
}

// MkdirAll implements software.FS.
func (f FATFS) MkdirAll(name string) error {
	if err := f.FS.Mkdir(abs(name)); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("making %s: %w", name, err)
	}
	return nil
}
