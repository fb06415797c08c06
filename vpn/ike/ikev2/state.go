package ikev2

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// ikeState is the state of an IKE SA.
type ikeState int

const (
	ikeInitSent    ikeState = iota // initiator: IKE_SA_INIT request out
	ikeAuthSent                    // initiator: IKE_AUTH request out
	ikeHalfOpen                    // responder: IKE_SA_INIT answered, IKE_AUTH awaited
	ikeEstablished                 // authenticated; carries CREATE_CHILD_SA and INFORMATIONAL
	ikeRekeyed                     // replaced by a new IKE SA, waiting for the peer to delete it
	ikeDeleting                    // our Delete is out
	ikeClosed                      // gone: failed, deleted or dead
)

func (s ikeState) String() string {
	switch s {
	case ikeInitSent:
		return "IKE_SA_INIT_SENT"
	case ikeAuthSent:
		return "IKE_AUTH_SENT"
	case ikeHalfOpen:
		return "HALF_OPEN"
	case ikeEstablished:
		return "ESTABLISHED"
	case ikeRekeyed:
		return "REKEYED"
	case ikeDeleting:
		return "DELETING"
	case ikeClosed:
		return "CLOSED"
	}
	return fmt.Sprintf("ikestate(%d)", int(s))
}

// childState is the state of one installed Child SA pair.
type childState int

const (
	csInstalled childState = iota // in use
	csRekeying                    // in use; our CREATE_CHILD_SA replacing it is out
	csRekeyed                     // replaced; the peer (which rekeyed it) deletes it
	csDeleting                    // our Delete is out
)

func (s childState) String() string {
	switch s {
	case csInstalled:
		return "INSTALLED"
	case csRekeying:
		return "REKEYING"
	case csRekeyed:
		return "REKEYED"
	case csDeleting:
		return "DELETING"
	}
	return fmt.Sprintf("childstate(%d)", int(s))
}

// request is one exchange we initiate: built when its turn comes (the
// window is one message, RFC 7296 2.3), then retransmitted until answered.
type request struct {
	exch       ExchangeType
	what       string                       // for logs
	build      func() ([]Payload, bool)     // false: no longer needed
	onResponse func(h Header, ps []Payload) // the decrypted response
	onTimeout  func()                       // nil: the IKE SA is dead
	fireForget bool                         // sent once, no answer awaited (shutdown)
	mid        uint32
	dgrams     [][]byte
	retryAt    time.Time
	retries    int
	limit      int
}

// reassembly collects the fragments of one message (RFC 7383 2.6).
type reassembly struct {
	mid   uint32
	total uint16
	next  PayloadType
	parts map[uint16][]byte
	size  int
}

// ikeRekey is our outstanding rekey of an IKE SA.
type ikeRekey struct {
	spi uint64
	ni  []byte
	dh  *ikecrypto.DHKey
}

// ikeCollision records a rekey of an IKE SA by the peer that we answered
// while our own was out (RFC 7296 2.8.1).
type ikeCollision struct {
	sa     *ikeSA
	ni, nr []byte
}

// ikeSA is one IKE SA, in either role.
type ikeSA struct {
	peer      *peer
	index     uint32
	state     ikeState
	initiator bool // the original initiator: sets the I flag, uses SK_ei/SK_ai to send
	spiI      uint64
	spiR      uint64
	local     netip.AddrPort
	remote    netip.AddrPort
	prop      Proposal
	keys      ikeKeys
	enc, dec  *protector
	ni, nr    []byte
	dh        *ikecrypto.DHKey
	initReq   []byte // our IKE_SA_INIT request (initiator) or the peer's (responder), signed by AUTH
	initResp  []byte
	cookie    []byte
	cookies   int    // cookie round trips, bounded
	initErr   string // the last error an IKE_SA_INIT response claimed (unauthenticated: kept for the timeout)
	natLocal  bool
	natRemote bool
	fragOK    bool
	peerID    *ID
	halfOpen  halfOpenKey

	nextMID  uint32 // our next request's message ID
	outReq   *request
	queue    []*request
	peerMID  uint32   // the next request ID expected from the peer
	lastResp [][]byte // the datagrams of our answer to peerMID-1
	reasm    [2]*reassembly

	// startSeq orders the start of IKE_SA_INIT (zero for the successor of
	// a rekey), authSeq the authentication, among the engine's events
	// (Engine.seq; the clock may not move between them). They tell IKE SAs
	// negotiated at the same time (resolveTwins) from stale ones
	// (initialContact).
	startSeq, authSeq         uint64
	created, rekeyAt, expires time.Time
	deadline                  time.Time // half-open or rekeyed: closed then
	lastHeard, lastKeepalive  time.Time
	inBytes, outBytes         uint64
	inPackets, outPackets     uint64
	childrenCreated           int
	childrenDeleted           int

	authChild *childNego    // the Child SA carried in IKE_AUTH (initiator)
	rekey     *ikeRekey     // our IKE rekey, while out
	collision *ikeCollision // the peer's IKE rekey answered while ours was out
}

// ourSPI is the SPI that names this SA in our table.
func (sa *ikeSA) ourSPI() uint64 {
	if sa.initiator {
		return sa.spiI
	}
	return sa.spiR
}

func (sa *ikeSA) natt() bool { return sa.natLocal || sa.natRemote }

type halfOpenKey struct {
	remote netip.AddrPort
	spiI   uint64
}

// peer is one configured gateway with its tunnels.
type peer struct {
	cfg         PeerConfig
	ike         *ikeSA // the established IKE SA the children run under
	negotiating *ikeSA // our IKE_SA_INIT/IKE_AUTH in progress
	responders  int    // half-open SAs the peer started
	children    []*child
	nextAttempt time.Time
}

// child is one tunnel policy with its Child SAs (more than one while
// rekeying).
type child struct {
	cfg         seam.ChildConfig
	sas         []*childSA
	nego        *childNego // our CREATE_CHILD_SA (or IKE_AUTH) for it
	peerNew     *collision // a creation by the peer answered while ours was out
	wanted      bool       // establish now (immediately, or after an acquire)
	nextAttempt time.Time
}

// current returns the SA pair in use, or nil.
func (c *child) current() *childSA {
	for i := len(c.sas) - 1; i >= 0; i-- {
		if s := c.sas[i]; s.state == csInstalled || s.state == csRekeying {
			return s
		}
	}
	return nil
}

// childSA is one installed Child SA pair.
type childSA struct {
	sa        *seam.ChildSA
	child     *child
	state     childState
	ike       *ikeSA // the IKE SA it runs under: made in, or passed on by a rekey
	seq       uint64 // installed at this Engine.seq
	rekeyAt   time.Time
	expireAt  time.Time
	deadline  time.Time  // rekeyed: delete it ourselves then if the peer did not
	collision *collision // the peer's rekey of it, answered while ours was out
}

// collision is the outcome of a peer's exchange that collided with ours.
type collision struct {
	cs     *childSA
	ni, nr []byte
}

// childNego is our CREATE_CHILD_SA (or the child part of IKE_AUTH).
type childNego struct {
	sa     *ikeSA
	c      *child
	old    *childSA // rekey: the SA replaced
	spiIn  uint32
	ni     []byte
	dh     *ikecrypto.DHKey
	inAuth bool
}
