package backend

import (
	"context"
	"errors"
	"strings"

	"github.com/palisade/palisade/firmware/software"
)

// errNoSlots answers software requests on a box that did not boot from a
// firmware slot (QEMU -kernel, or a board without a disk image).
var errNoSlots = errors.New("this box did not boot from a firmware slot (no EFI system partition with Palisade slots)")

// SoftwareState renders both slots.
func (s *System) SoftwareState(context.Context) (string, error) {
	sw := s.Box.Software
	if sw == nil {
		return "", errNoSlots
	}
	st, err := sw.State()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := st.Write(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// SoftwareAdd writes a bundle into the inactive slot and arms its trial boot.
func (s *System) SoftwareAdd(ctx context.Context, source, sum string) (string, string, error) {
	sw := s.Box.Software
	if sw == nil {
		return "", "", errNoSlots
	}
	r, err := software.OpenBundle(ctx, nil, source)
	if err != nil {
		return "", "", err
	}
	defer r.Close()
	m, err := software.Add(ctx, sw.ESP, r, software.AddOptions{Board: s.Box.Board.Name, Running: sw.Running, SHA256: sum})
	if err != nil {
		return "", "", err
	}
	return m.Version, sw.Running.Other().String(), nil
}

// SoftwareRollback makes the other slot the default.
func (s *System) SoftwareRollback(context.Context) (string, error) {
	sw := s.Box.Software
	if sw == nil {
		return "", errNoSlots
	}
	slot, err := software.Rollback(sw.ESP, sw.Running)
	return slot.String(), err
}
