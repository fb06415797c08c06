// Package store keeps the committed configurations on the PALISADE
// filesystem: the active one, the rollbacks 1..49 and the rescue
// configuration.
//
// Each commit is one new file, config.<seq>.cbor, written to a temporary
// name, synced, renamed into place and followed by a sync of the directory.
// A rename is atomic on ext4, so after a power loss the newest file is either
// the new configuration or absent, and the previous one is still there: the
// store never holds a half-written active configuration. The active
// configuration is the newest file; rollback N is the N-th older one.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/palisade/palisade/firmware/config"
)

// Keep is how many configurations are kept: the active one and 49 rollbacks.
const Keep = 50

// Label is the ext4 label of the filesystem the store lives on (at most 16
// bytes, the superblock's field). The init finds the configuration disk by
// it, while palisade-cfg and the image builder write it: all of them take it
// from here, so a disk the host tools make is a disk the box finds.
const Label = "PALISADE"

// Meta describes a commit.
type Meta struct {
	Time    time.Time
	User    string
	Comment string
}

// Entry is one stored configuration.
type Entry struct {
	Meta
	Seq    uint64
	Config *config.Config
}

// envelope is the file format: the commit's metadata and the configuration
// in its canonical stored form.
type envelope struct {
	Time    int64  `cbor:"time"`
	User    string `cbor:"user"`
	Comment string `cbor:"comment,omitempty"`
	Config  []byte `cbor:"config"`
}

// Store is a directory of configurations.
type Store struct {
	Dir string
}

const prefix, suffix = "config.", ".cbor"

// Encode returns the file bytes for a configuration.
func Encode(c *config.Config, m Meta) ([]byte, error) {
	body, err := c.MarshalCBOR()
	if err != nil {
		return nil, fmt.Errorf("encoding configuration: %w", err)
	}
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		return nil, err
	}
	return em.Marshal(envelope{Time: m.Time.Unix(), User: m.User, Comment: m.Comment, Config: body})
}

// Decode reads file bytes written by Encode.
func Decode(b []byte) (*config.Config, Meta, error) {
	dm, err := cbor.DecOptions{ExtraReturnErrors: cbor.ExtraDecErrorUnknownField}.DecMode()
	if err != nil {
		return nil, Meta{}, err
	}
	var e envelope
	if err := dm.Unmarshal(b, &e); err != nil {
		return nil, Meta{}, fmt.Errorf("decoding stored commit: %w", err)
	}
	c, err := config.DecodeCBOR(e.Config)
	if err != nil {
		return nil, Meta{}, err
	}
	return c, Meta{Time: time.Unix(e.Time, 0).UTC(), User: e.User, Comment: e.Comment}, nil
}

// seqs lists the stored sequence numbers, newest first.
func (s *Store) seqs() ([]uint64, error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("reading configuration store %s: %w", s.Dir, err)
	}
	var out []uint64
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, suffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(n, prefix), suffix), 10, 64)
		if err == nil {
			out = append(out, seq)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

func (s *Store) path(seq uint64) string {
	return filepath.Join(s.Dir, prefix+strconv.FormatUint(seq, 10)+suffix)
}

// Get returns rollback n (0 is the active configuration).
func (s *Store) Get(n int) (Entry, error) {
	seqs, err := s.seqs()
	if err != nil {
		return Entry{}, err
	}
	if n < 0 || n >= len(seqs) {
		return Entry{}, fmt.Errorf("rollback %d does not exist (%d stored)", n, len(seqs))
	}
	return s.read(seqs[n])
}

func (s *Store) read(seq uint64) (Entry, error) {
	b, err := os.ReadFile(s.path(seq))
	if err != nil {
		return Entry{}, fmt.Errorf("reading %s: %w", s.path(seq), err)
	}
	c, m, err := Decode(b)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", s.path(seq), err)
	}
	return Entry{Meta: m, Seq: seq, Config: c}, nil
}

// List returns the stored commits, newest first. Files that do not decode
// are listed with a nil Config.
func (s *Store) List() ([]Entry, error) {
	seqs, err := s.seqs()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(seqs))
	for _, seq := range seqs {
		e, err := s.read(seq)
		if err != nil {
			e = Entry{Seq: seq}
		}
		out = append(out, e)
	}
	return out, nil
}

// LoadGood returns the newest configuration that decodes and passes
// validate, and the problems of every newer one it had to skip, so the
// caller can say on the console why it fell back.
func (s *Store) LoadGood(validate func(*config.Config) error) (Entry, []error, error) {
	seqs, err := s.seqs()
	if err != nil {
		return Entry{}, nil, err
	}
	var skipped []error
	for i, seq := range seqs {
		e, err := s.read(seq)
		if err == nil && validate != nil {
			if verr := validate(e.Config); verr != nil {
				err = fmt.Errorf("%s: %w", s.path(seq), verr)
			}
		}
		if err != nil {
			skipped = append(skipped, fmt.Errorf("rollback %d: %w", i, err))
			continue
		}
		return e, skipped, nil
	}
	return Entry{}, skipped, errors.New("no stored configuration is usable")
}

// Commit stores c as the new active configuration and prunes the oldest
// beyond Keep.
func (s *Store) Commit(c *config.Config, m Meta) (uint64, error) {
	b, err := Encode(c, m)
	if err != nil {
		return 0, err
	}
	seqs, err := s.seqs()
	if err != nil {
		return 0, err
	}
	next := uint64(1)
	if len(seqs) > 0 {
		next = seqs[0] + 1
	}
	if err := WriteAtomic(s.path(next), b); err != nil {
		return 0, err
	}
	for _, old := range append([]uint64{next}, seqs...)[min(Keep, len(seqs)+1):] {
		if err := os.Remove(s.path(old)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return next, fmt.Errorf("pruning old configuration: %w", err)
		}
	}
	return next, nil
}

const rescueFile = "rescue.cbor"

// SaveRescue stores the rescue configuration.
func (s *Store) SaveRescue(c *config.Config, m Meta) error {
	b, err := Encode(c, m)
	if err != nil {
		return err
	}
	return WriteAtomic(filepath.Join(s.Dir, rescueFile), b)
}

// Rescue returns the rescue configuration.
func (s *Store) Rescue() (*config.Config, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, rescueFile))
	if err != nil {
		return nil, fmt.Errorf("reading rescue configuration: %w", err)
	}
	c, _, err := Decode(b)
	return c, err
}

// WriteAtomic writes data to path so that a crash leaves either the old
// file or the new one: write a temporary file, fsync it, rename it over
// path, fsync the directory. The file has mode 0600 (os.CreateTemp's), fit
// for secrets such as a private key.
func WriteAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming into %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
