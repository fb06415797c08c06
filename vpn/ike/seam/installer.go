package seam

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
)

// ChildSA is one negotiated Child SA pair, ready to install.
type ChildSA struct {
	Peer   string // gateway name
	Tunnel ChildConfig
	Local  netip.Addr // outer addresses
	Remote netip.Addr
	// Encap holds the UDP ports under NAT traversal (local, remote); zero without.
	EncapLocal, EncapRemote uint16
	Suite                   ikecrypto.ESPSuite
	SPIIn, SPIOut           uint32
	EncIn, AuthIn           []byte // keys of the inbound SA (SPIIn)
	EncOut, AuthOut         []byte
	Lifetime                time.Duration
	LifetimeKB              uint64
	Established             time.Time
}

// Installer puts Child SAs into the data plane. The XFRM installer is the
// real one; RecordingInstaller is for tests and for hosts without ESP.
type Installer interface {
	Install(c *ChildSA) error
	Remove(c *ChildSA) error
}

// RecordingInstaller records installs and removals.
type RecordingInstaller struct {
	mu        sync.Mutex
	installed map[uint32]*ChildSA // by SPIIn; guarded by mu
	Removed   int                 // guarded by mu
	Fail      error               // returned by Install when set
}

// NewRecordingInstaller returns an empty recorder.
func NewRecordingInstaller() *RecordingInstaller {
	return &RecordingInstaller{installed: map[uint32]*ChildSA{}}
}

// Install implements Installer.
func (r *RecordingInstaller) Install(c *ChildSA) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	if _, ok := r.installed[c.SPIIn]; ok {
		return fmt.Errorf("SA %08x installed twice", c.SPIIn)
	}
	r.installed[c.SPIIn] = c
	return nil
}

// Remove implements Installer.
func (r *RecordingInstaller) Remove(c *ChildSA) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.installed, c.SPIIn)
	r.Removed++
	return nil
}

// Installed returns copies of what is installed now.
func (r *RecordingInstaller) Installed() []ChildSA {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ChildSA
	for _, c := range r.installed {
		out = append(out, *c)
	}
	return out
}
