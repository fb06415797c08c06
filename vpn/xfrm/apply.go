package xfrm

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
)

// Manager makes the kernel's XFRM policies and states match what the IKE
// daemon asks for, through one netlink handle. It remembers what it
// installed, so that it deletes exactly that and nothing else.
type Manager struct {
	h   *netlink.Handle
	log *slog.Logger

	mu       sync.Mutex
	policies map[policyKey]netlink.XfrmPolicy // guarded by mu
	states   map[StateID]netlink.XfrmState    // guarded by mu
}

// StateID names one kernel state.
type StateID struct {
	Dst netip.Addr
	SPI uint32
}

func (id StateID) String() string { return fmt.Sprintf("%v/%08x", id.Dst, id.SPI) }

type policyKey struct {
	src, dst   string
	proto      uint8
	sport, dpt int
	dir        netlink.Dir
}

func keyOf(p *netlink.XfrmPolicy) policyKey {
	return policyKey{p.Src.String(), p.Dst.String(), uint8(p.Proto), p.SrcPort, p.DstPort, p.Dir}
}

// NewManager returns a manager programming through h.
func NewManager(h *netlink.Handle, log *slog.Logger) *Manager {
	return &Manager{h: h, log: log, policies: map[policyKey]netlink.XfrmPolicy{}, states: map[StateID]netlink.XfrmState{}}
}

// InstallPolicy installs (or replaces) the out, in and fwd policies of p.
// Installing the same policy twice changes nothing.
func (m *Manager) InstallPolicy(p Policy) error {
	ps, err := CompilePolicies(p)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range ps {
		if err := m.h.XfrmPolicyUpdate(&ps[i]); err != nil {
			return fmt.Errorf("installing XFRM policy %v dir %v: %w", p.Selector, ps[i].Dir, err)
		}
		m.policies[keyOf(&ps[i])] = ps[i]
	}
	return nil
}

// RemovePolicy deletes the out, in and fwd policies of p. Policies already
// gone are not an error.
func (m *Manager) RemovePolicy(p Policy) error {
	ps, err := CompilePolicies(p)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for i := range ps {
		if err := m.h.XfrmPolicyDel(&ps[i]); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting XFRM policy %v dir %v: %w", p.Selector, ps[i].Dir, err))
		}
		delete(m.policies, keyOf(&ps[i]))
	}
	return errors.Join(errs...)
}

// InstallSA adds one state; if a state with its SPI exists it is updated.
func (m *Manager) InstallSA(sa SA) error {
	st, err := CompileState(sa)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	err = m.h.XfrmStateAdd(&st)
	if errors.Is(err, syscall.EEXIST) {
		err = m.h.XfrmStateUpdate(&st)
	}
	if err != nil {
		return fmt.Errorf("installing XFRM state %v->%v spi %08x (%v): %w", sa.Src, sa.Dst, sa.SPI, sa.Suite, err)
	}
	m.states[StateID{sa.Dst, sa.SPI}] = st
	return nil
}

// RemoveSA deletes one state; a state already gone is not an error.
func (m *Manager) RemoveSA(id StateID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removeSALocked(id)
}

func (m *Manager) removeSALocked(id StateID) error {
	st := netlink.XfrmState{Dst: id.Dst.AsSlice(), Proto: netlink.XFRM_PROTO_ESP, Spi: int(id.SPI)}
	if old, ok := m.states[id]; ok {
		st.Src = old.Src
	}
	delete(m.states, id)
	if err := m.h.XfrmStateDel(&st); err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting XFRM state %v: %w", id, err)
	}
	return nil
}

// Counters are a state's kernel counters.
type Counters struct {
	Bytes, Packets                uint64
	ReplayErrors, IntegrityFailed uint32
	AddTime                       uint64 // seconds since the epoch
}

// Counters reads the kernel counters of one state.
func (m *Manager) Counters(id StateID) (Counters, error) {
	st, err := m.h.XfrmStateGet(&netlink.XfrmState{Dst: id.Dst.AsSlice(), Proto: netlink.XFRM_PROTO_ESP, Spi: int(id.SPI)})
	if err != nil {
		return Counters{}, fmt.Errorf("reading XFRM state %v: %w", id, err)
	}
	s := st.Statistics
	return Counters{Bytes: s.Bytes, Packets: s.Packets, ReplayErrors: s.Replay, IntegrityFailed: s.Failed, AddTime: s.AddTime}, nil
}

// Installed returns how many policies and states the manager has installed.
func (m *Manager) Installed() (policies, states int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.policies), len(m.states)
}

// Close deletes every policy and state the manager installed.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for id := range m.states {
		if err := m.removeSALocked(id); err != nil {
			errs = append(errs, err)
		}
	}
	for k, p := range m.policies {
		if err := m.h.XfrmPolicyDel(&p); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting XFRM policy %v->%v dir %v: %w", p.Src, p.Dst, p.Dir, err))
		}
		delete(m.policies, k)
	}
	return errors.Join(errs...)
}

func isNotFound(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH)
}
