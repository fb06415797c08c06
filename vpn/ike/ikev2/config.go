package ikev2

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/palisade/palisade/vpn/ike/seam"
)

// PeerConfig is one IKE gateway.
type PeerConfig struct {
	Name  string
	Local netip.Addr // our address on the external interface
	// Remote is the peer's address. An unspecified address (0.0.0.0, ::)
	// makes a dynamic peer: it only responds, to any address, and the
	// identity and key in IKE_AUTH decide.
	Remote    netip.Addr
	PSK       []byte
	Proposals []Proposal // the first one's group goes into KEi
	// DPDInterval is the idle time after which an empty INFORMATIONAL
	// checks liveness (0: off). DPDThreshold, if set, replaces the number
	// of retransmissions after which the peer counts as dead.
	DPDInterval  time.Duration
	DPDThreshold int
	// LocalID is the identity we send (default: our address); RemoteID, if
	// set, is the one the peer must send.
	LocalID  *ID
	RemoteID *ID
	Children []seam.ChildConfig
}

func (c PeerConfig) dynamic() bool { return !c.Remote.IsValid() || c.Remote.IsUnspecified() }

// Config tunes an engine. The zero value is the standard setup.
type Config struct {
	IKEPort  uint16 // default 500
	NATTPort uint16 // default 4500
	// Retransmits is how often a request is sent again before the exchange
	// fails (default 5); RetransmitBase the first wait, doubled each time
	// (default 1s), so a peer counts as dead after about a minute (RFC 7296
	// 2.4 asks for exponential backoff and leaves the numbers open).
	Retransmits    int
	RetransmitBase time.Duration
	RetryAfter     time.Duration // wait before negotiating a failed peer or tunnel again, default 10s
	// CookieThreshold is the number of half-open IKE SAs from which an
	// IKE_SA_INIT must return a cookie (RFC 7296 2.6), default 10;
	// MaxHalfOpen the number beyond which requests are dropped, default 1000.
	CookieThreshold int
	MaxHalfOpen     int
	HalfOpenTimeout time.Duration // default 30s
	// FragmentSize bounds IKE datagrams once fragmentation is negotiated
	// (RFC 7383), default 1280.
	FragmentSize int
	// NoFragmentation keeps IKEV2_FRAGMENTATION_SUPPORTED out of IKE_SA_INIT.
	NoFragmentation bool
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.IKEPort == 0 {
		c.IKEPort = 500
	}
	if c.NATTPort == 0 {
		c.NATTPort = 4500
	}
	def(&c.Retransmits, 5)
	def(&c.CookieThreshold, 10)
	def(&c.MaxHalfOpen, 1000)
	def(&c.FragmentSize, 1280)
	defDur(&c.RetransmitBase, time.Second)
	defDur(&c.RetryAfter, 10*time.Second)
	defDur(&c.HalfOpenTimeout, 30*time.Second)
	return c
}

func samePeer(a, b PeerConfig) bool {
	return a.Local == b.Local && a.Remote == b.Remote && string(a.PSK) == string(b.PSK) &&
		fmt.Sprint(a.Proposals) == fmt.Sprint(b.Proposals) && a.DPDInterval == b.DPDInterval && a.DPDThreshold == b.DPDThreshold &&
		a.LocalID.String() == b.LocalID.String() && a.RemoteID.String() == b.RemoteID.String()
}
