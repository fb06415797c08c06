package ikev1

import (
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/isakmp"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// state is the phase 1 state of an IKE SA.
type state int

const (
	mmInit state = iota
	mmSentSA
	mmSentKE
	mmSentID
	established
	failed
	deleted
)

func (s state) String() string {
	switch s {
	case mmInit:
		return "MM_INIT"
	case mmSentSA:
		return "MM_SA_SENT"
	case mmSentKE:
		return "MM_KE_SENT"
	case mmSentID:
		return "MM_ID_SENT"
	case established:
		return "ESTABLISHED"
	case failed:
		return "FAILED"
	case deleted:
		return "DELETED"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// qmState is the state of a quick mode or informational exchange.
type qmState int

const (
	qmSent1 qmState = iota
	qmSent2
	qmDone
)

func (s qmState) String() string {
	switch s {
	case qmSent1:
		return "QM_HASH1_SENT"
	case qmSent2:
		return "QM_HASH2_SENT"
	case qmDone:
		return "QM_DONE"
	}
	return fmt.Sprintf("qmstate(%d)", int(s))
}

// retransmitter resends the last message until an answer arrives.
type retransmitter struct {
	msg     []byte // datagram as sent (with marker if any)
	retryAt time.Time
	retries int
	what    string // for the timeout log
}

// IKESA is one phase 1 SA with its quick mode exchanges.
type IKESA struct {
	peer      *peer
	index     uint32
	initiator bool
	state     state
	ci, cr    isakmp.Cookie
	local     netip.AddrPort
	remote    netip.AddrPort

	prop           Proposal
	saiB           []byte
	dh             *ikecrypto.DHKey
	gxi, gxr       []byte
	ni, nr         []byte
	keys           ikecrypto.Phase1Keys
	block          cipher.Block
	iv             []byte // phase 1 CBC chain; after MM6 the last phase 1 block
	nattVID        bool   // peer sent the RFC 3947 vendor ID
	dpdVID         bool
	natDetected    bool
	behindNAT      bool // our own address is translated: we send NAT keepalives
	lastKeepalive  time.Time
	peerID         string
	created        time.Time
	establishedAt  time.Time
	expires        time.Time
	lastHeard      time.Time
	dpdSeq         uint32
	dpdOutstanding int
	dpdSentAt      time.Time

	// halfOpen marks a responder SA not yet authenticated: it counts
	// against Config.MaxHalfOpen and ends after HalfOpenTimeout.
	halfOpen bool
	// progressAt is when the exchange last took a message: a half-open SA
	// ends HalfOpenTimeout after it, however slow the peer's retransmissions.
	progressAt time.Time
	// peerSaid is the last unprotected notify the peer (or anyone with the
	// cookies) sent during phase 1: not proof enough to end the exchange,
	// but the likely reason when it times out.
	peerSaid string
	// createdSeq and establishedSeq are Engine.seq at those events.
	createdSeq, establishedSeq uint64

	rt        *retransmitter
	lastRecv  msgDigest // of the last message accepted, to spot retransmissions
	exchanges map[uint32]*exchange
	seen      midSet // message IDs of authenticated phase 2 messages, to refuse replays

	inBytes, outBytes, inPackets, outPackets uint64
	childrenCreated, childrenDeleted         int
}

// exchange is one quick mode (or, for retransmission bookkeeping, one
// informational) exchange.
type exchange struct {
	mid       uint32
	iv        []byte
	state     qmState
	initiator bool
	child     *child
	ni, nr    []byte
	dh        *ikecrypto.DHKey
	dhSecret  []byte // g(qm)^xy with PFS
	spiIn     uint32
	spiOut    uint32
	offer     childOffer
	rt        *retransmitter
	lastRecv  msgDigest
	done      time.Time
	rekeyOf   *seam.ChildSA
}

func (sa *IKESA) String() string {
	return fmt.Sprintf("IKE SA %s %v/%v %s", sa.peer.cfg.Name, sa.ci, sa.cr, sa.state)
}

func (sa *IKESA) natt() bool { return sa.nattVID && sa.natDetected }

// natdHash computes a NAT-D hash: HASH(CKY-I | CKY-R | IP | Port).
func natdHash(h ikecrypto.HashAlg, ci, cr isakmp.Cookie, ap netip.AddrPort) []byte {
	return h.Sum(ci[:], cr[:], ap.Addr().AsSlice(), binary.BigEndian.AppendUint16(nil, ap.Port()))
}

// natdPayloads returns NAT-D(remote), NAT-D(local), in the order RFC 3947 asks.
func (sa *IKESA) natdPayloads() []isakmp.Payload {
	return []isakmp.Payload{
		&isakmp.NATD{Hash: natdHash(sa.prop.Hash, sa.ci, sa.cr, sa.remote)},
		&isakmp.NATD{Hash: natdHash(sa.prop.Hash, sa.ci, sa.cr, sa.local)},
	}
}

// checkNATD sets natDetected from the peer's NAT-D payloads: the first must
// hash our address as the peer saw it, one of the others its own.
func (sa *IKESA) checkNATD(ps []isakmp.Payload) {
	ds := isakmp.FindAll[*isakmp.NATD](ps)
	if len(ds) < 2 {
		return
	}
	me := natdHash(sa.prop.Hash, sa.ci, sa.cr, sa.local)
	them := natdHash(sa.prop.Hash, sa.ci, sa.cr, sa.remote)
	localOK := hashEqual(ds[0].Hash, me)
	remoteOK := false
	for _, d := range ds[1:] {
		remoteOK = remoteOK || hashEqual(d.Hash, them)
	}
	sa.natDetected = !localOK || !remoteOK
	sa.behindNAT = !localOK
}

// deriveKeys runs the phase 1 key schedule once both nonces and KEs are known.
func (sa *IKESA) deriveKeys(peerPublic []byte) error {
	secret, err := sa.dh.SharedSecret(peerPublic)
	// The private key has done its work: an SA that lives for hours need
	// not keep what would decrypt its recorded exchange.
	sa.dh = nil
	if err != nil {
		return err
	}
	defer clear(secret)
	sa.keys = ikecrypto.DerivePhase1(ikecrypto.Phase1Input{
		Hash: sa.prop.Hash, Cipher: sa.prop.Cipher, PSK: sa.peer.cfg.PSK,
		Ni: sa.ni, Nr: sa.nr, SharedSecret: secret, PublicI: sa.gxi, PublicR: sa.gxr,
		CookieI: sa.ci[:], CookieR: sa.cr[:],
	})
	sa.block, err = sa.prop.Cipher.NewBlock(sa.keys.EncKey)
	if err != nil {
		return err
	}
	sa.iv = sa.keys.IV
	return nil
}

// msgDigest identifies a received message without keeping it: a half-open
// SA must not hold the datagram (up to 64 KiB) only to spot a repeat.
type msgDigest [sha256.Size]byte

func digest(b []byte) msgDigest { return sha256.Sum256(b) }

// hashEqual compares a received HASH or MAC with the expected one in
// constant time, so the time taken does not tell how many bytes matched.
func hashEqual(got, want []byte) bool {
	return len(want) > 0 && subtle.ConstantTimeCompare(got, want) == 1
}

// midSet remembers the last maxSeenMIDs message IDs of an IKE SA. Only
// authenticated messages enter it, so an attacker cannot push the peer's
// entries out; the peer would need that many exchanges within one IKE SA
// before an old one could be replayed.
type midSet struct {
	ids  map[uint32]struct{}
	ring []uint32
	next int
}

const maxSeenMIDs = 1024

func (s *midSet) has(mid uint32) bool {
	_, ok := s.ids[mid]
	return ok
}

func (s *midSet) add(mid uint32) {
	if s.has(mid) {
		return
	}
	if s.ids == nil {
		s.ids = map[uint32]struct{}{}
	}
	if len(s.ring) < maxSeenMIDs {
		s.ring = append(s.ring, mid)
	} else {
		delete(s.ids, s.ring[s.next])
		s.ring[s.next] = mid
		s.next = (s.next + 1) % maxSeenMIDs
	}
	s.ids[mid] = struct{}{}
}

func (sa *IKESA) header(ex isakmp.ExchangeType, mid uint32) isakmp.Header {
	return isakmp.Header{InitiatorCookie: sa.ci, ResponderCookie: sa.cr, Version: isakmp.Version, Exchange: ex, MessageID: mid}
}
