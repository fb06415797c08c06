package software

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Slot names one of the two firmware slots on the EFI system partition.
type Slot string

// The two slots. The names are lower case because they become file names on FAT, which folds case.
const (
	SlotA Slot = "a"
	SlotB Slot = "b"
)

// Other returns the slot that is not s.
func (s Slot) Other() Slot {
	if s == SlotA {
		return SlotB
	}
	return SlotA
}

// Valid reports whether s is A or B.
func (s Slot) Valid() bool { return s == SlotA || s == SlotB }

// String is the slot as operators see it: "A" or "B".
func (s Slot) String() string { return strings.ToUpper(string(s)) }

// ParseSlot accepts "a", "A", "b" or "B".
func ParseSlot(v string) (Slot, error) {
	s := Slot(strings.ToLower(v))
	if !s.Valid() {
		return "", fmt.Errorf("slot %q: want A or B", v)
	}
	return s, nil
}

// Paths on the EFI system partition, relative to its root. The layout is the Boot Loader Specification's
// (type 1 entries under loader/entries), so systemd-boot reads it as it is.
const (
	EntriesDir = "loader/entries"
	LoaderConf = "loader/loader.conf"
	slotsDir   = "palisade"
	// EntryPrefix starts every loader entry file Palisade writes: palisade-a.conf, palisade-b+1.conf.
	EntryPrefix = "palisade-"
)

// SlotDir is where a slot's files live on the ESP.
func SlotDir(s Slot) string { return slotsDir + "/" + string(s) }

// Files of a slot, relative to SlotDir.
const (
	KernelFile   = "linux"
	InitrdFile   = "initrd"
	ManifestFile = "manifest"
)

// Sort keys order the entries for systemd-boot, which boots the first entry that still has tries left
// when nothing else (an EFI variable, a default in loader.conf) names one: a trial first, then the
// confirmed default, then the other slot. An entry whose tries ran out sorts after all of them, whatever
// its key, and that is what makes an unconfirmed trial fall back by itself.
const (
	sortTrial   = "palisade-0"
	sortDefault = "palisade-1"
	sortOther   = "palisade-2"
)

// Entry is one loader entry file of a slot (a Boot Loader Specification type 1 entry).
type Entry struct {
	Slot Slot
	// Counting is true when the file name carries a boot counter (+LEFT or +LEFT-DONE). Without it the
	// entry is confirmed.
	Counting   bool
	Left, Done int
	// Fields are the file's keys in order, e.g. title, version, sort-key, linux, initrd, options.
	Fields []Field
}

// Field is one "key value" line of an entry.
type Field struct{ Key, Value string }

// Get returns the value of the first field called key, or "".
func (e Entry) Get(key string) string {
	for _, f := range e.Fields {
		if f.Key == key {
			return f.Value
		}
	}
	return ""
}

// Set replaces the value of key, or appends the field.
func (e *Entry) Set(key, value string) {
	for i := range e.Fields {
		if e.Fields[i].Key == key {
			e.Fields[i].Value = value
			return
		}
	}
	e.Fields = append(e.Fields, Field{key, value})
}

// Bad reports whether systemd-boot considers the entry failed: it counts boots and none are left.
func (e Entry) Bad() bool { return e.Counting && e.Left == 0 }

// FileName is the entry's name in EntriesDir, with its boot counter.
func (e Entry) FileName() string {
	name := EntryPrefix + string(e.Slot)
	switch {
	case !e.Counting:
	case e.Done == 0:
		name += fmt.Sprintf("+%d", e.Left)
	default:
		name += fmt.Sprintf("+%d-%d", e.Left, e.Done)
	}
	return name + ".conf"
}

// ParseEntryName splits a loader entry file name as systemd-boot does: NAME[+LEFT[-DONE]].conf. ok is
// false for files that are not Palisade slot entries.
func ParseEntryName(file string) (e Entry, ok bool) {
	base, found := strings.CutSuffix(file, ".conf")
	if !found {
		return Entry{}, false
	}
	base, ok = strings.CutPrefix(strings.ToLower(base), EntryPrefix)
	if !ok {
		return Entry{}, false
	}
	// systemd-boot takes the counter after the last '+': palisade-b++1.conf
	// is an entry named "palisade-b+", which is not a slot.
	name, counter, counting := base, "", false
	if i := strings.LastIndexByte(base, '+'); i >= 0 {
		name, counter, counting = base[:i], base[i+1:], true
	}
	e.Slot = Slot(name)
	if !e.Slot.Valid() {
		return Entry{}, false
	}
	if counting {
		left, done, hasDone := strings.Cut(counter, "-")
		l, ok := parseCounter(left)
		if !ok {
			return Entry{}, false
		}
		e.Counting, e.Left = true, l
		if hasDone {
			d, ok := parseCounter(done)
			if !ok {
				return Entry{}, false
			}
			e.Done = d
		}
	}
	return e, true
}

// parseCounter reads a boot counter as systemd-boot does: decimal digits only, up to INT_MAX. Atoi also
// took a sign, so a name like palisade-b+-1.conf looked like a trial to us and not to systemd-boot.
func parseCounter(s string) (int, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n <= math.MaxInt32
}

// ParseEntry reads an entry file's contents; the name gives the slot and the counter.
func ParseEntry(file string, data []byte) (Entry, error) {
	e, ok := ParseEntryName(file)
	if !ok {
		return Entry{}, fmt.Errorf("loader entry %s: not a Palisade slot entry name", file)
	}
	// The file is split in memory rather than with a bufio.Scanner, which failed on a line over 64 KiB:
	// a corrupted entry made Read fail, and so Confirm and Add, and a 65535-byte key alone on its line
	// came back from Format as a line the Scanner refused.
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// A tab separates the key as well as a space does, for systemd-boot and the Boot Loader
		// Specification: cutting at spaces only took "version\t2.0" for a key with no value.
		k, v := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			k, v = line[:i], line[i+1:]
		}
		e.Fields = append(e.Fields, Field{k, strings.TrimSpace(v)})
	}
	return e, nil
}

// Format renders the entry's contents.
func (e Entry) Format() []byte {
	var b strings.Builder
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "%s %s\n", f.Key, f.Value)
	}
	return []byte(b.String())
}

// NewEntry returns the loader entry that boots slot s holding version, with the kernel arguments args
// (the board's console and panic arguments). The slot's name goes on the command line as palisade.slot so
// the running firmware knows which slot it is.
func NewEntry(s Slot, version, args string) Entry {
	return Entry{Slot: s, Fields: []Field{
		{"title", fmt.Sprintf("Palisade %s (slot %s)", version, s)},
		{"version", version},
		{"sort-key", sortOther},
		{"linux", "/" + SlotDir(s) + "/" + KernelFile},
		{"initrd", "/" + SlotDir(s) + "/" + InitrdFile},
		{"options", strings.TrimSpace(args + " " + CmdlineSlot + "=" + string(s))},
	}}
}

// LoaderConfig is loader/loader.conf: no menu (a router boots unattended; holding a key at boot still
// shows it), no editing of the kernel command line from the console, and no default, so that the entries'
// sort keys and boot counters alone decide.
func LoaderConfig() []byte {
	return []byte("timeout 0\neditor no\nauto-entries no\nauto-firmware no\nconsole-mode keep\n")
}
