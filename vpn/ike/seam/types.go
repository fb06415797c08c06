package seam

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
)

// Env is what an engine takes from its surroundings: the clock and
// randomness (injected, so that exchanges replay in tests), the log, and
// where its Child SAs go.
type Env struct {
	Now       func() time.Time
	Rand      io.Reader
	Log       *slog.Logger
	Installer Installer
}

// ChildProposal is one phase 2 (ESP) proposal.
type ChildProposal struct {
	Suite      ikecrypto.ESPSuite
	Lifetime   time.Duration
	LifetimeKB uint64 // 0: none
}

func (p ChildProposal) String() string {
	s := fmt.Sprintf("esp:%v/%ds", p.Suite, int(p.Lifetime.Seconds()))
	if p.LifetimeKB != 0 {
		s += fmt.Sprintf("/%dkb", p.LifetimeKB)
	}
	return s
}

// ChildConfig is one tunnel policy of a gateway: one Child SA pair.
type ChildConfig struct {
	Name                  string // the VPN name
	Policy                string // the tunnel policy's name
	Reqid                 uint32
	Local, Remote         netip.Prefix
	Protocol              uint8
	LocalPort, RemotePort uint16
	Proposals             []ChildProposal
	PFS                   ikecrypto.Group // 0: no PFS
	Immediately           bool            // establish at configuration, else on the kernel's acquire
}

// ChildStatus describes one installed Child SA pair for `show security ipsec
// security-associations`.
type ChildStatus struct {
	Gateway     string
	IKEIndex    uint32
	SA          ChildSA
	ExpiresIn   time.Duration
	Port        uint16 // 500, or 4500 under NAT-T
	LocalID     string
	RemoteID    string
	Established time.Time
}

// RemoveAfterCrash removes one Child SA from the kernel for an engine that
// restarts after a panic (see package loop); a panic here is logged, not
// passed on, since the records may be what broke, and the restart must go
// through.
func RemoveAfterCrash(env Env, c *ChildSA) {
	defer func() {
		if r := recover(); r != nil {
			env.Log.Error("removing a Child SA after an engine crash", "panic", r)
		}
	}()
	if err := env.Installer.Remove(c); err != nil {
		env.Log.Warn("removing a Child SA after an engine crash", "err", err)
	}
}
