package seam

import (
	"net/netip"
	"time"
)

// Engine is what the daemon asks of an engine of either version. The
// methods run on the engine's goroutine: call them through the engine's
// Call.
type Engine interface {
	// Acquire negotiates a tunnel policy's SA now (the kernel saw traffic).
	Acquire(policy string)
	// Expired reports an SA whose soft (rekey) or hard lifetime in
	// kilobytes ran out in the kernel.
	Expired(spi uint32, hard bool)
	// ClearIKE and ClearIPsec are the clear commands: delete the SAs,
	// telling the peers.
	ClearIKE()
	ClearIPsec()
	// Status lists the IKE SAs (by index) and the installed Child SA pairs.
	Status() ([]IKESAStatus, []ChildStatus)
}

// IKESAStatus is one IKE SA of either version, for `show security ike
// security-associations`.
type IKESAStatus struct {
	Version   int // 1 or 2
	Index     uint32
	Gateway   string
	Up        bool
	State     string
	Initiator bool
	// InitiatorCookie and ResponderCookie are in hex; for IKEv2 they are
	// the SPIs, which Junos lists in the same columns.
	InitiatorCookie, ResponderCookie string
	Local, Remote                    netip.AddrPort
	ExpiresIn                        time.Duration
	PeerID                           string
	Algorithms                       Algorithms
	InBytes, OutBytes                uint64
	InPackets, OutPackets            uint64
	ChildrenCreated                  int
	ChildrenDeleted                  int
	NegotiationsInProgress           int
	NATT                             bool
	Fragmentation                    bool      // IKEv2 fragmentation (RFC 7383) negotiated
	Established                      time.Time // zero until the SA is authenticated
}

// Algorithms names a negotiated IKE proposal as Junos's `show security ike
// security-associations detail` does; each engine names its own.
type Algorithms struct {
	Authentication string // hmac-sha256-128, or none with an AEAD cipher
	Encryption     string // aes256-cbc
	PRF            string // hmac-sha256
	DHGroup        string // DH-group-14
}
