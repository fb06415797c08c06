package software

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// SlotState is what one slot holds.
type SlotState struct {
	Slot Slot
	// Installed is true when the slot has a loader entry: systemd-boot can boot it.
	Installed bool
	// Version is the firmware version of the slot (from its manifest, else its entry); "" when empty.
	Version string
	// Entry is the slot's loader entry; meaningful when Installed.
	Entry Entry
	// EntryFile is the entry's current file name in EntriesDir.
	EntryFile string
}

// Trying reports whether the slot is on trial: it counts boots and has not been confirmed.
func (s SlotState) Trying() bool { return s.Installed && s.Entry.Counting && !s.Entry.Bad() }

// Failed reports whether the slot was on trial and used up its boots without confirming.
func (s SlotState) Failed() bool { return s.Installed && s.Entry.Bad() }

// State is both slots and which one runs.
type State struct {
	A, B SlotState
	// Running is the slot the running firmware booted from (palisade.slot on the kernel command line);
	// "" on the host or when the firmware did not boot from a slot.
	Running Slot
}

// Slot returns the state of s.
func (st *State) Slot(s Slot) *SlotState {
	if s == SlotB {
		return &st.B
	}
	return &st.A
}

// Next returns the slot systemd-boot boots next, and false when no slot is bootable. It follows
// systemd-boot's choice when no EFI variable names an entry: entries with no tries left sort last, the
// rest by sort key, and the first of them is booted.
func (st *State) Next() (Slot, bool) {
	var cand []SlotState
	for _, s := range []SlotState{st.A, st.B} {
		if s.Installed {
			cand = append(cand, s)
		}
	}
	if len(cand) == 0 {
		return "", false
	}
	slices.SortStableFunc(cand, func(x, y SlotState) int {
		if c := cmpBool(x.Entry.Bad(), y.Entry.Bad()); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Entry.Get("sort-key"), y.Entry.Get("sort-key")); c != 0 {
			return c
		}
		// systemd-boot orders equal keys by id, in reverse (newest version first).
		return -cmp.Compare(x.EntryFile, y.EntryFile)
	})
	return cand[0].Slot, true
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// Default returns the slot that boots when no trial is pending: the confirmed slot whose sort key puts
// it first. During a trial it is the slot the box falls back to.
func (st *State) Default() (Slot, bool) {
	var best *SlotState
	for _, s := range []*SlotState{&st.A, &st.B} {
		if !s.Installed || s.Entry.Counting {
			continue
		}
		if best == nil || s.Entry.Get("sort-key") < best.Entry.Get("sort-key") {
			best = s
		}
	}
	if best == nil {
		return "", false
	}
	return best.Slot, true
}

// Write renders the state for `show system software`.
func (st *State) Write(w io.Writer) error {
	next, _ := st.Next()
	def, _ := st.Default()
	var b strings.Builder
	fmt.Fprintf(&b, "%-5s %-28s %s\n", "Slot", "Version", "Status")
	for _, s := range []SlotState{st.A, st.B} {
		version := s.Version
		if !s.Installed && version == "" {
			version = "-"
		}
		var status []string
		if s.Slot == st.Running {
			status = append(status, "running")
		}
		switch {
		case !s.Installed:
			status = append(status, "empty")
		case s.Failed():
			status = append(status, "failed (not confirmed)")
		case s.Trying():
			status = append(status, fmt.Sprintf("trial (%d boot(s) left, not confirmed)", s.Entry.Left))
		}
		if s.Installed && s.Slot == def {
			status = append(status, "default")
		}
		if s.Installed && s.Slot == next {
			status = append(status, "next boot")
		}
		fmt.Fprintf(&b, "%-5s %-28s %s\n", s.Slot, version, strings.Join(status, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
