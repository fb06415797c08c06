package software

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// DefaultTries is how many boots a new slot gets to confirm itself. One: the boot after an unconfirmed
// trial returns to the old slot, as the issue asks. Three would survive a power cut during the first
// trial boot, at the price of three failed boots (each up to the deadline) before falling back.
const DefaultTries = 1

// DefaultDeadline is how long a trial boot has to confirm before the watchdog reboots the box.
const DefaultDeadline = 5 * time.Minute

// maxManifest bounds what is read of a bundle's manifest.
const maxManifest = 64 << 10

// Read returns the state of both slots on the ESP. running is the slot the firmware booted from ("" on
// the host).
func Read(fsys FS, running Slot) (State, error) {
	st := State{A: SlotState{Slot: SlotA}, B: SlotState{Slot: SlotB}, Running: running}
	names, err := fsys.ReadDir(EntriesDir)
	if err != nil {
		return st, fmt.Errorf("listing loader entries: %w", err)
	}
	for _, name := range names {
		if _, ok := ParseEntryName(name); !ok {
			continue
		}
		data, err := fsys.ReadFile(EntriesDir + "/" + name)
		if err != nil {
			return st, fmt.Errorf("reading loader entry %s: %w", name, err)
		}
		e, err := ParseEntry(name, data)
		if err != nil {
			return st, err
		}
		s := st.Slot(e.Slot)
		// Two files of one slot are left by a power cut in the middle of Confirm or Rollback. The
		// confirmed one was written last, so it wins.
		if s.Installed && (!s.Entry.Counting || (e.Counting && e.Left <= s.Entry.Left)) {
			continue
		}
		s.Installed, s.Entry, s.EntryFile, s.Version = true, e, name, e.Get("version")
	}
	for _, s := range []*SlotState{&st.A, &st.B} {
		data, err := fsys.ReadFile(SlotDir(s.Slot) + "/" + ManifestFile)
		if err != nil {
			continue // an empty slot, or one written by hand: the entry's version stands
		}
		if m, err := ParseManifest(data); err == nil {
			s.Version = m.Version
		}
	}
	return st, nil
}

// AddOptions says how to install a bundle.
type AddOptions struct {
	// Board is the running board's name; a bundle for another board is refused.
	Board string
	// KernelArgs are the board's kernel arguments (console, panic), written into the new entry. "" takes
	// them from the running slot's entry, so the CLI need not know them.
	KernelArgs string
	// Running is the slot the firmware booted from; the other one is written. On the host (Running "")
	// the slot that is not the default is written.
	Running Slot
	// Slot, if set, is written instead (the image builder fills slot A of a new image).
	Slot Slot
	// Confirmed makes the new slot the default at once instead of a trial (for a new image).
	Confirmed bool
	// Tries is the number of trial boots; 0 means DefaultTries.
	Tries int
	// Deadline, if not zero, goes on the trial's command line as palisade.deadline (seconds), overriding
	// DefaultDeadline on the box.
	Deadline time.Duration
	// ExtraArgs are appended to the new entry's kernel command line.
	ExtraArgs string
	// SHA256, if set, is the expected sha256 (hex) of the whole bundle, as published beside it.
	SHA256 string
}

// Add installs the bundle read from r into the inactive slot and arms a trial boot of it: the next boot
// runs the new slot once, and unless the new firmware confirms itself (Confirm), the boot after returns to
// the current slot. The caller reboots. A bundle that does not verify leaves the inactive slot empty and
// the current one untouched.
func Add(ctx context.Context, fsys FS, r io.Reader, o AddOptions) (Manifest, error) {
	st, err := Read(fsys, o.Running)
	if err != nil {
		return Manifest{}, err
	}
	target := o.Slot
	switch {
	case target != "":
	case o.Running != "":
		target = o.Running.Other()
	default:
		def, ok := st.Default()
		if !ok {
			def = SlotB
		}
		target = def.Other()
	}
	if !target.Valid() {
		return Manifest{}, fmt.Errorf("installing: slot %q: want A or B", target)
	}
	if target == o.Running {
		return Manifest{}, fmt.Errorf("installing: slot %s is running and cannot be written", target)
	}
	// The slot is made unbootable before a byte of it changes, so a power cut while writing it can not
	// boot half a firmware.
	if old := st.Slot(target); old.Installed {
		if err := fsys.Remove(EntriesDir + "/" + old.EntryFile); err != nil {
			return Manifest{}, fmt.Errorf("removing the loader entry of slot %s: %w", target, err)
		}
	}
	dir := SlotDir(target)
	if err := fsys.MkdirAll(dir); err != nil {
		return Manifest{}, fmt.Errorf("making %s: %w", dir, err)
	}
	if err := fsys.MkdirAll(EntriesDir); err != nil {
		return Manifest{}, fmt.Errorf("making %s: %w", EntriesDir, err)
	}
	whole := newHashingReader(ctxReader{ctx, r})
	m, err := writeSlot(fsys, dir, tar.NewReader(whole), whole, o.Board)
	if err != nil {
		return Manifest{}, fmt.Errorf("installing into slot %s: %w", target, err)
	}
	if o.SHA256 != "" {
		if _, err := io.Copy(io.Discard, whole); err != nil {
			return Manifest{}, fmt.Errorf("installing into slot %s: reading the bundle: %w", target, err)
		}
		if got := whole.sum(); !strings.EqualFold(got, o.SHA256) {
			return Manifest{}, fmt.Errorf("installing into slot %s: bundle sha256 is %s, want %s: %w", target, got, o.SHA256, ErrChecksum)
		}
	}
	for _, name := range []string{KernelFile, InitrdFile} {
		if err := fsys.Rename(dir+"/"+name+".new", dir+"/"+name); err != nil {
			return Manifest{}, fmt.Errorf("installing into slot %s: renaming %s into place: %w", target, name, err)
		}
	}
	if err := writeFile(fsys, dir+"/"+ManifestFile, m.Format()); err != nil {
		return Manifest{}, fmt.Errorf("installing into slot %s: %w", target, err)
	}
	args := o.KernelArgs
	if args == "" && o.Running.Valid() {
		args = InheritedArgs(st.Slot(o.Running).Entry.Get("options"))
	}
	if o.Deadline > 0 && !o.Confirmed {
		args += fmt.Sprintf(" %s=%d", CmdlineDeadline, int(o.Deadline.Seconds()))
	}
	if o.ExtraArgs != "" {
		args += " " + o.ExtraArgs
	}
	e := NewEntry(target, m.Version, strings.TrimSpace(args))
	if o.Confirmed {
		e.Set("sort-key", sortDefault)
	} else {
		tries := o.Tries
		if tries <= 0 {
			tries = DefaultTries
		}
		e.Counting, e.Left = true, tries
		e.Set("sort-key", sortTrial)
	}
	if err := writeFile(fsys, EntriesDir+"/"+e.FileName(), e.Format()); err != nil {
		return Manifest{}, fmt.Errorf("arming slot %s: %w", target, err)
	}
	if o.Confirmed {
		if other := st.Slot(target.Other()); other.Installed {
			if err := rewrite(fsys, *other, false, sortOther); err != nil {
				return Manifest{}, err
			}
		}
	}
	return m, nil
}

// InheritedArgs returns an entry's kernel command line without what belongs to one slot or one trial
// (palisade.slot, palisade.deadline), for the entry of a new slot.
func InheritedArgs(options string) string {
	var keep []string
	for _, f := range strings.Fields(options) {
		if strings.HasPrefix(f, CmdlineSlot+"=") || strings.HasPrefix(f, CmdlineDeadline+"=") {
			continue
		}
		keep = append(keep, f)
	}
	return strings.Join(keep, " ")
}

// writeSlot streams the bundle's files into dir as NAME.new, checking each against the manifest. raw
// counts the bytes tr has read of the bundle.
func writeSlot(fsys FS, dir string, tr *tar.Reader, raw *hashingReader, board string) (Manifest, error) {
	hdr, err := tr.Next()
	if err != nil {
		return Manifest{}, fmt.Errorf("reading the bundle: %w", err)
	}
	if path.Clean(hdr.Name) != ManifestFile {
		return Manifest{}, fmt.Errorf("reading the bundle: first file is %q, want %q (is this a Palisade upgrade bundle?)", hdr.Name, ManifestFile)
	}
	if hdr.Size > maxManifest {
		// A manifest is a few lines; cutting a longer one could drop the
		// lines that matter and read the rest as the kernel.
		return Manifest{}, fmt.Errorf("reading the bundle: the manifest is %d bytes, more than %d", hdr.Size, maxManifest)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		return Manifest{}, fmt.Errorf("reading the bundle's manifest: %w", err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return Manifest{}, err
	}
	if board != "" && m.Board != board {
		return Manifest{}, fmt.Errorf("the bundle is for board %s, this is %s", m.Board, board)
	}
	for _, name := range []string{KernelFile, InitrdFile} {
		hdr, err := tr.Next()
		if err != nil {
			return Manifest{}, fmt.Errorf("reading the bundle's %s: %w", name, err)
		}
		if path.Clean(hdr.Name) != name {
			return Manifest{}, fmt.Errorf("reading the bundle: found %q where %q belongs", hdr.Name, name)
		}
		want := m.Files[name]
		w, err := fsys.Create(dir + "/" + name + ".new")
		if err != nil {
			return Manifest{}, fmt.Errorf("writing %s: %w", name, err)
		}
		h := newHashingReader(tr)
		_, cerr := io.Copy(w, notExpanded{h, raw})
		if err := errors.Join(cerr, w.Close()); err != nil {
			return Manifest{}, fmt.Errorf("writing %s: %w", name, err)
		}
		if h.n != want.Size || h.sum() != want.SHA256 {
			return Manifest{}, fmt.Errorf("%s: got %d bytes with sha256 %s, the manifest says %d bytes with %s: %w",
				name, h.n, h.sum(), want.Size, want.SHA256, ErrChecksum)
		}
	}
	return m, nil
}

// notExpanded ends a copy out of the bundle once a file has yielded more bytes than the whole bundle
// delivered. Only a sparse tar entry does that: its holes read as zeros, and a 4 KiB bundle whose
// manifest claimed a terabyte kernel was being written out until the ESP was full, before the checksum
// could refuse it.
type notExpanded struct{ file, raw *hashingReader }

func (r notExpanded) Read(p []byte) (int, error) {
	n, err := r.file.Read(p)
	if r.file.n > r.raw.n {
		return 0, errors.New("the file is larger than the bundle holding it (a sparse tar entry?)")
	}
	return n, err
}

// rewrite writes s's entry with the given counting and sort key, renaming the file when its counter
// changes. The new file is complete before the old one goes.
func rewrite(fsys FS, s SlotState, counting bool, sortKey string) error {
	e := s.Entry
	if !counting {
		e.Counting, e.Left, e.Done = false, 0, 0
	}
	e.Set("sort-key", sortKey)
	if err := writeFile(fsys, EntriesDir+"/"+e.FileName(), e.Format()); err != nil {
		return fmt.Errorf("updating the loader entry of slot %s: %w", s.Slot, err)
	}
	// The ESP is FAT, where names differ only in case are one file: an
	// entry found as PALISADE-B.conf was just overwritten as palisade-b.conf,
	// and removing the old name would remove the new entry.
	if !strings.EqualFold(e.FileName(), s.EntryFile) {
		if err := fsys.Remove(EntriesDir + "/" + s.EntryFile); err != nil {
			return fmt.Errorf("removing the old loader entry of slot %s: %w", s.Slot, err)
		}
	}
	return nil
}

// Confirm makes the running slot the default: its trial succeeded. The init calls it once the
// configuration is applied. Confirming a slot that already is the default changes nothing.
func Confirm(fsys FS, running Slot) error {
	if !running.Valid() {
		return fmt.Errorf("confirming: the firmware did not boot from a slot (no %s on the kernel command line)", CmdlineSlot)
	}
	st, err := Read(fsys, running)
	if err != nil {
		return fmt.Errorf("confirming slot %s: %w", running, err)
	}
	return makeDefault(fsys, st, running)
}

// makeDefault demotes the other slot first, then promotes s: a power cut in between leaves s on trial
// (or failed), and the box boots what it would have booted anyway.
func makeDefault(fsys FS, st State, s Slot) error {
	cur := *st.Slot(s)
	if !cur.Installed {
		return fmt.Errorf("slot %s has no loader entry", s)
	}
	if other := *st.Slot(s.Other()); other.Installed && other.Entry.Get("sort-key") != sortOther {
		// A failed trial keeps its counter, so it still sorts last and shows as failed.
		if err := rewrite(fsys, other, other.Entry.Counting, sortOther); err != nil {
			return err
		}
	}
	if !cur.Entry.Counting && cur.Entry.Get("sort-key") == sortDefault {
		return nil
	}
	return rewrite(fsys, cur, false, sortDefault)
}

// Rollback makes the slot that is not running the default, confirmed, and returns it. It refuses a slot
// that is empty or that failed its trial. The caller reboots.
func Rollback(fsys FS, running Slot) (Slot, error) {
	st, err := Read(fsys, running)
	if err != nil {
		return "", fmt.Errorf("rolling back: %w", err)
	}
	target := running.Other()
	if !running.Valid() {
		def, ok := st.Default()
		if !ok {
			return "", errors.New("rolling back: no slot is confirmed")
		}
		target = def.Other()
	}
	t := st.Slot(target)
	switch {
	case !t.Installed:
		return "", fmt.Errorf("rolling back: slot %s is empty", target)
	case t.Failed():
		return "", fmt.Errorf("rolling back: slot %s (%s) failed its trial boot; add a new image instead", target, t.Version)
	}
	if err := makeDefault(fsys, st, target); err != nil {
		return "", fmt.Errorf("rolling back to slot %s: %w", target, err)
	}
	return target, nil
}

// ctxReader ends a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
