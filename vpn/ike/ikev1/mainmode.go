package ikev1

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/isakmp"
	"github.com/palisade/palisade/vpn/ike/seam"
)

func vendorIDs() []isakmp.Payload {
	return []isakmp.Payload{&isakmp.VendorID{Data: isakmp.VendorIDNATT()}, &isakmp.VendorID{Data: isakmp.VendorIDDPD()}}
}

func (e *Engine) newSA(p *peer, initiator bool, local, remote netip.AddrPort) *IKESA {
	e.seq++
	sa := &IKESA{
		peer: p, index: e.nextIndex, initiator: initiator, local: local, remote: remote,
		created: e.now(), lastHeard: e.now(), progressAt: e.now(), exchanges: map[uint32]*exchange{}, createdSeq: e.seq,
	}
	e.nextIndex++
	return sa
}

// notHalfOpen takes sa out of the half-open counts (it authenticated or ended).
func (e *Engine) notHalfOpen(sa *IKESA) {
	if !sa.halfOpen {
		return
	}
	sa.halfOpen = false
	e.halfOpen--
	a := sa.remote.Addr()
	if e.halfOpenByAddr[a]--; e.halfOpenByAddr[a] <= 0 {
		delete(e.halfOpenByAddr, a)
	}
}

func (e *Engine) noteVIDs(sa *IKESA, ps []isakmp.Payload) {
	for _, v := range isakmp.FindAll[*isakmp.VendorID](ps) {
		sa.nattVID = sa.nattVID || bytes.Equal(v.Data, isakmp.VendorIDNATT())
		sa.dpdVID = sa.dpdVID || bytes.Equal(v.Data, isakmp.VendorIDDPD())
	}
}

// initiateMain sends main mode message 1.
func (e *Engine) initiateMain(p *peer) {
	sa := e.newSA(p, true,
		netip.AddrPortFrom(p.cfg.Local, e.cfg.IKEPort), netip.AddrPortFrom(p.cfg.Remote, e.cfg.IKEPort))
	copy(sa.ci[:], e.random(8))
	e.sas[sa.ci] = sa
	if p.ike == nil {
		p.ike = sa
	} else {
		p.pending = sa // phase 1 rekey: the old SA serves until this one is up
	}
	sai := phase1SA(p.cfg.Proposals)
	sa.saiB = sai.Body()
	m := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: append([]isakmp.Payload{sai}, vendorIDs()...)}
	e.env.Log.Info("initiating IKE main mode", "gateway", p.cfg.Name, "remote", sa.remote, "proposals", joinStrings(p.cfg.Proposals))
	sa.state = mmSentSA
	e.send(sa, m.Encode(), &sa.rt, "main mode message 1 (SA)")
}

// maxSABody bounds the SA payload a half-open SA keeps for HASH_I. Real
// offers are a few hundred bytes; a spoofer could otherwise make each of
// MaxHalfOpen SAs hold 64 KiB.
const maxSABody = 4096

// respondMM1 answers a new main mode: choose a proposal, or say why not.
//
// Message 1 is unauthenticated and its source may be spoofed, so it may
// only cost bounded state (Config.MaxHalfOpen) and one reply: it never
// touches another SA, in particular not a negotiation of ours with the
// same peer (both go on; the one that authenticates wins, see establish).
// Its log lines go through e.unauth.
func (e *Engine) respondMM1(d seam.Datagram, b []byte) {
	p := e.peerByRemote(d.Remote.Addr())
	if p == nil {
		e.unauth.Info("main mode from an unknown peer", "from", d.Remote)
		return
	}
	m, err := isakmp.Decode(b)
	if err != nil {
		e.unauth.Info("dropping malformed main mode message 1", "from", d.Remote, "err", err)
		return
	}
	sai := isakmp.Find[*isakmp.SA](m.Payloads)
	if sai == nil || len(sai.Proposals) == 0 {
		e.unauth.Info("main mode message 1 without SA payload", "from", d.Remote)
		return
	}
	if e.halfOpen >= e.cfg.MaxHalfOpen {
		e.unauth.Warn("dropping main mode message 1: too many half-open IKE SAs", "from", d.Remote, "limit", e.cfg.MaxHalfOpen)
		return
	}
	if e.halfOpenByAddr[d.Remote.Addr()] >= e.cfg.MaxHalfOpenPerSource {
		e.unauth.Warn("dropping main mode message 1: too many half-open IKE SAs from one address", "from", d.Remote, "limit", e.cfg.MaxHalfOpenPerSource)
		return
	}
	saiB := sai.Body()
	if len(saiB) > maxSABody {
		e.unauth.Info("dropping main mode message 1: SA payload too large", "from", d.Remote, "bytes", len(saiB), "limit", maxSABody)
		return
	}
	sa := e.newSA(p, false, d.Local, d.Remote)
	sa.ci = m.Header.InitiatorCookie
	copy(sa.cr[:], e.random(8))
	e.noteVIDs(sa, m.Payloads)
	offers, transforms, refused := phase1Offers(sai)
	if refused != nil {
		e.unauth.Warn("refusing phase 1 transforms with an absurd lifetime", "gateway", p.cfg.Name, "remote", d.Remote, "err", refused)
	}
	chosen := -1
	for i, o := range offers {
		for _, ours := range p.cfg.Proposals {
			if samePhase1(o, ours) {
				chosen = i
				sa.prop = o
				sa.prop.Lifetime = minLifetime(ours.Lifetime, o.Lifetime)
				break
			}
		}
		if chosen >= 0 {
			break
		}
	}
	if chosen < 0 {
		e.unauth.Warn("IKE phase 1 proposal mismatch: no proposal chosen",
			"gateway", p.cfg.Name, "remote", d.Remote, "peer_proposals", joinStrings(offers), "our_proposals", joinStrings(p.cfg.Proposals))
		e.sendPlainNotify(sa, isakmp.NotifyNoProposalChosen)
		return
	}
	sa.saiB = saiB
	e.sas[sa.ci] = sa
	sa.halfOpen = true
	e.halfOpen++
	e.halfOpenByAddr[d.Remote.Addr()]++
	reply := &isakmp.SA{DOI: isakmp.DOIIPsec, Situation: isakmp.SituationIdentityOnly, Proposals: []isakmp.Proposal{{
		Number: sai.Proposals[0].Number, Protocol: isakmp.ProtoISAKMP, Transforms: []isakmp.Transform{transforms[chosen]},
	}}}
	out := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: append([]isakmp.Payload{reply}, vendorIDs()...)}
	sa.lastRecv = digest(b)
	sa.state = mmSentSA
	// No retransmission timer: we answer each retransmission of message 1
	// instead, so that a spoofed source gets no more than it sent.
	e.send(sa, out.Encode(), &sa.rt, "")
}

// minLifetime is the shorter of two lifetimes, zero meaning none proposed.
func minLifetime(ours, theirs time.Duration) time.Duration {
	if theirs <= 0 || (ours > 0 && ours < theirs) {
		return ours
	}
	return theirs
}

// sendPlainNotify sends an unencrypted informational notify, as phase 1
// errors must be before keys exist.
func (e *Engine) sendPlainNotify(sa *IKESA, t isakmp.NotifyType) {
	spi := append(append([]byte(nil), sa.ci[:]...), sa.cr[:]...)
	m := &isakmp.Message{Header: sa.header(isakmp.ExchangeInformational, 0), Payloads: []isakmp.Payload{
		&isakmp.Notification{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, Notify: t, SPI: spi},
	}}
	e.send(sa, m.Encode(), nil, "")
}

// handleMain runs a main mode message through sa's state machine; it
// reports whether the message was accepted.
func (e *Engine) handleMain(sa *IKESA, d seam.Datagram, b []byte) bool {
	switch {
	case sa.initiator && sa.state == mmSentSA:
		return e.initiatorMM2(sa, b)
	case !sa.initiator && sa.state == mmSentSA:
		return e.responderMM3(sa, b)
	case sa.initiator && sa.state == mmSentKE:
		return e.initiatorMM4(sa, b)
	case !sa.initiator && sa.state == mmSentKE:
		return e.responderMM5(sa, d, b)
	case sa.initiator && sa.state == mmSentID:
		return e.initiatorMM6(sa, d, b)
	}
	return false
}

// Nonce lengths RFC 2409 5 allows.
const (
	minNonce = 8
	maxNonce = 256
)

func checkNonce(n []byte) error {
	if len(n) < minNonce || len(n) > maxNonce {
		return fmt.Errorf("nonce of %d bytes, want %d to %d (RFC 2409 5)", len(n), minNonce, maxNonce)
	}
	return nil
}

func (e *Engine) initiatorMM2(sa *IKESA, b []byte) bool {
	m, err := isakmp.Decode(b)
	if err != nil {
		e.unauth.Info("dropping malformed main mode message 2", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	sar := isakmp.Find[*isakmp.SA](m.Payloads)
	if sar == nil {
		return false
	}
	offers, _, refused := phase1Offers(sar)
	ok := false
	for _, ours := range sa.peer.cfg.Proposals {
		if len(offers) == 1 && samePhase1(offers[0], ours) {
			sa.prop, ok = ours, true
			sa.prop.Lifetime = minLifetime(ours.Lifetime, offers[0].Lifetime)
			break
		}
	}
	if !ok {
		// Unauthenticated: log it and wait for the real answer; if none
		// comes the exchange times out with this as the reason.
		sa.peerSaid = "chose a phase 1 proposal we did not offer: " + joinStrings(offers)
		if refused != nil {
			sa.peerSaid += fmt.Sprintf(" (%v)", refused)
		}
		e.unauth.Warn("peer chose a phase 1 proposal we did not offer", "gateway", sa.peer.cfg.Name, "chosen", joinStrings(offers), "refused", fmt.Sprint(refused))
		return false
	}
	sa.cr = m.Header.ResponderCookie
	e.noteVIDs(sa, m.Payloads)
	sa.lastRecv = digest(b)
	if err := e.makeKE(sa); err != nil {
		e.fail(sa, "generating DH key", "err", err)
		return true
	}
	sa.gxi, sa.ni = sa.dh.Public(), e.random(32)
	ps := []isakmp.Payload{&isakmp.KeyExchange{Data: sa.gxi}, &isakmp.Nonce{Data: sa.ni}}
	if sa.nattVID {
		ps = append(ps, sa.natdPayloads()...)
	}
	out := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: ps}
	sa.state = mmSentKE
	e.send(sa, out.Encode(), &sa.rt, "main mode message 3 (KE)")
	return true
}

func (e *Engine) makeKE(sa *IKESA) error {
	k, err := sa.prop.Group.GenerateKey(e.env.Rand)
	sa.dh = k
	return err
}

func (e *Engine) responderMM3(sa *IKESA, b []byte) bool {
	m, err := isakmp.Decode(b)
	if err != nil {
		e.unauth.Info("dropping malformed main mode message 3", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	ke, n := isakmp.Find[*isakmp.KeyExchange](m.Payloads), isakmp.Find[*isakmp.Nonce](m.Payloads)
	if ke == nil || n == nil {
		e.unauth.Info("main mode message 3 without KE or nonce", "gateway", sa.peer.cfg.Name)
		return false
	}
	if err := checkNonce(n.Data); err != nil {
		e.unauth.Warn("dropping main mode message 3 with a bad nonce", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	if err := e.makeKE(sa); err != nil {
		e.fail(sa, "generating DH key", "err", err)
		return true
	}
	gxr := sa.dh.Public()
	sa.gxi, sa.ni = ke.Data, n.Data
	sa.gxr, sa.nr = gxr, e.random(32)
	if err := sa.deriveKeys(sa.gxi); err != nil {
		e.unauth.Warn("dropping main mode message 3: phase 1 key exchange failed", "gateway", sa.peer.cfg.Name, "err", err)
		sa.gxi, sa.ni, sa.gxr, sa.nr = nil, nil, nil, nil
		return false
	}
	if sa.nattVID {
		sa.checkNATD(m.Payloads)
	}
	ps := []isakmp.Payload{&isakmp.KeyExchange{Data: sa.gxr}, &isakmp.Nonce{Data: sa.nr}}
	if sa.nattVID {
		ps = append(ps, sa.natdPayloads()...)
	}
	out := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: ps}
	sa.lastRecv = digest(b)
	sa.state = mmSentKE
	// As for message 2: no timer, the initiator's retransmission asks again.
	e.send(sa, out.Encode(), &sa.rt, "")
	return true
}

func (e *Engine) localID(sa *IKESA) *isakmp.Identification {
	if id := sa.peer.cfg.LocalID; id != nil {
		return id
	}
	return isakmp.IDAddr(sa.peer.cfg.Local, 0, 0)
}

// checkPeerID compares the peer's phase 1 identity with the configured one.
// Protocol and port are not compared: implementations send 0/0 or 17/500.
func checkPeerID(p *peer, id *isakmp.Identification) error {
	want := p.cfg.RemoteID
	if want == nil || (want.IDType == id.IDType && bytes.Equal(want.Data, id.Data)) {
		return nil
	}
	return fmt.Errorf("peer identity %v does not match the configured remote identity %v", id, want)
}

func (e *Engine) initiatorMM4(sa *IKESA, b []byte) bool {
	m, err := isakmp.Decode(b)
	if err != nil {
		e.unauth.Info("dropping malformed main mode message 4", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	ke, n := isakmp.Find[*isakmp.KeyExchange](m.Payloads), isakmp.Find[*isakmp.Nonce](m.Payloads)
	if ke == nil || n == nil {
		return false
	}
	if err := checkNonce(n.Data); err != nil {
		e.unauth.Warn("dropping main mode message 4 with a bad nonce", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	dh := sa.dh
	sa.gxr, sa.nr = ke.Data, n.Data
	if err := sa.deriveKeys(sa.gxr); err != nil {
		// A forged message 4 must not end the exchange: keep the key for
		// the real one.
		sa.dh, sa.gxr, sa.nr = dh, nil, nil
		e.unauth.Warn("dropping main mode message 4: phase 1 key exchange failed", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	if sa.nattVID {
		sa.checkNATD(m.Payloads)
	}
	if sa.natt() {
		e.env.Log.Info("NAT detected, floating to the NAT-T port", "gateway", sa.peer.cfg.Name, "port", e.cfg.NATTPort)
		sa.local = netip.AddrPortFrom(sa.local.Addr(), e.cfg.NATTPort)
		sa.remote = netip.AddrPortFrom(sa.remote.Addr(), e.cfg.NATTPort)
	}
	sa.lastRecv = digest(b)
	id := e.localID(sa)
	hash := ikecrypto.HashI(sa.prop.Hash, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ci[:], sa.cr[:], sa.saiB, id.Body())
	ps := []isakmp.Payload{id, &isakmp.Hash{Data: hash}}
	if sa.peer.ike == sa {
		// First contact since we started: the peer may drop what it still
		// holds from our previous life. Not on a rekey, which keeps the SAs.
		spi := append(append([]byte(nil), sa.ci[:]...), sa.cr[:]...)
		ps = append(ps, &isakmp.Notification{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, Notify: isakmp.NotifyInitialContact, SPI: spi})
	}
	out := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: ps}
	msg, iv, err := isakmp.Encrypt(out, sa.block, sa.iv)
	if err != nil {
		e.fail(sa, "encrypting main mode message 5", "err", err)
		return true
	}
	sa.iv = iv
	sa.state = mmSentID
	e.send(sa, msg, &sa.rt, "main mode message 5 (ID, HASH_I)")
	return true
}

func (e *Engine) responderMM5(sa *IKESA, d seam.Datagram, b []byte) bool {
	m, _, iv, err := isakmp.Decrypt(b, sa.block, sa.iv)
	var id *isakmp.Identification
	var hash *isakmp.Hash
	if err == nil {
		id, hash = isakmp.Find[*isakmp.Identification](m.Payloads), isakmp.Find[*isakmp.Hash](m.Payloads)
	}
	if err != nil || id == nil || hash == nil ||
		!hashEqual(hash.Data, ikecrypto.HashI(sa.prop.Hash, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ci[:], sa.cr[:], sa.saiB, id.Body())) {
		detail := "HASH_I does not match"
		if err != nil || id == nil || hash == nil {
			detail = fmt.Sprintf("message 5 does not decrypt to ID and HASH payloads (%v)", err)
		}
		// Anyone who saw the cookies can send this, so it does not end
		// the exchange: the SA ages out unless the real message 5 comes.
		e.sendPlainNotify(sa, isakmp.NotifyAuthenticationFailed)
		e.unauth.Warn("IKE phase 1 authentication failed: pre-shared key mismatch", "gateway", sa.peer.cfg.Name, "remote", sa.remote, "detail", detail)
		return false
	}
	e.authenticated(sa, d)
	if err := checkPeerID(sa.peer, id); err != nil {
		e.sendPlainNotify(sa, isakmp.NotifyInvalidIDInformation)
		e.fail(sa, "IKE phase 1 identity mismatch", "err", err)
		return true
	}
	sa.iv = iv
	sa.peerID = id.String()
	if sa.natt() {
		sa.local = netip.AddrPortFrom(sa.local.Addr(), e.cfg.NATTPort)
	}
	initialContact := false
	for _, n := range isakmp.FindAll[*isakmp.Notification](m.Payloads) {
		initialContact = initialContact || n.Notify == isakmp.NotifyInitialContact
	}
	sa.lastRecv = digest(b)
	myID := e.localID(sa)
	hr := ikecrypto.HashR(sa.prop.Hash, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ci[:], sa.cr[:], sa.saiB, myID.Body())
	out := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: []isakmp.Payload{myID, &isakmp.Hash{Data: hr}}}
	msg, iv, err := isakmp.Encrypt(out, sa.block, sa.iv)
	if err != nil {
		e.fail(sa, "encrypting main mode message 6", "err", err)
		return true
	}
	sa.iv = iv
	e.send(sa, msg, &sa.rt, "")
	if e.establish(sa) && initialContact {
		e.initialContact(sa)
	}
	return true
}

// initialContact handles the peer's INITIAL-CONTACT: it has rebooted and
// holds none of the SAs it had with us before it began sa, the
// authenticated SA that carried it. Only SAs of the same identity at the
// same address go, and only those established before sa began: an
// exchange in progress may be the peer's new one or someone's spoof, and
// one that completed meanwhile is a collision's (see establish). The peer
// gets a Delete for each, so that its view matches ours.
func (e *Engine) initialContact(sa *IKESA) {
	p := sa.peer
	for _, other := range e.sas {
		if other == sa || other.peer != p || other.state != established || other.establishedSeq > sa.createdSeq ||
			other.peerID != sa.peerID || other.remote.Addr() != sa.remote.Addr() {
			continue
		}
		e.env.Log.Info("INITIAL-CONTACT: deleting the peer's old IKE SA", "gateway", p.cfg.Name, "remote", other.remote,
			"cookies", other.ci.String()+"/"+other.cr.String(), slog.Bool("security", true))
		spi := append(append([]byte(nil), other.ci[:]...), other.cr[:]...)
		e.sendInformational(other, &isakmp.Delete{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, SPISize: 16, SPIs: [][]byte{spi}})
		other.state = deleted
		e.dropSA(other)
	}
	for _, c := range p.children {
		if c.installed != nil && c.peerID == sa.peerID && c.installedSeq < sa.createdSeq {
			e.removeChild(p, c, true)
		}
	}
}

func (e *Engine) initiatorMM6(sa *IKESA, d seam.Datagram, b []byte) bool {
	m, _, iv, err := isakmp.Decrypt(b, sa.block, sa.iv)
	var id *isakmp.Identification
	var hash *isakmp.Hash
	if err == nil {
		id, hash = isakmp.Find[*isakmp.Identification](m.Payloads), isakmp.Find[*isakmp.Hash](m.Payloads)
	}
	if err != nil || id == nil || hash == nil ||
		!hashEqual(hash.Data, ikecrypto.HashR(sa.prop.Hash, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ci[:], sa.cr[:], sa.saiB, id.Body())) {
		// Not proof of anything (it may be forged): keep waiting for the
		// real message 6, and report this if none comes.
		sa.peerSaid = "message 6 failed authentication: pre-shared key mismatch?"
		e.unauth.Warn("IKE phase 1 authentication failed: pre-shared key mismatch (message 6 does not decrypt to a matching HASH_R)",
			"gateway", sa.peer.cfg.Name, "remote", sa.remote, "err", err)
		return false
	}
	e.authenticated(sa, d)
	if err := checkPeerID(sa.peer, id); err != nil {
		e.sendPlainNotify(sa, isakmp.NotifyInvalidIDInformation)
		e.fail(sa, "IKE phase 1 identity mismatch", "err", err)
		return true
	}
	sa.iv = iv
	sa.peerID = id.String()
	sa.lastRecv = digest(b)
	sa.rt = nil
	e.establish(sa)
	return true
}

// collided reports whether later (established just now) began before
// earlier was established: both sides negotiated at once.
func collided(earlier, later *IKESA) bool { return later.createdSeq < earlier.establishedSeq }

// establish makes the authenticated sa the peer's IKE SA. It returns false
// if it could not.
func (e *Engine) establish(sa *IKESA) bool {
	e.notHalfOpen(sa)
	sa.state = established
	sa.establishedAt = e.now()
	e.seq++
	sa.establishedSeq = e.seq
	p := sa.peer
	old := p.ike
	if old == sa {
		old = nil
	}
	if sa.prop.Lifetime > 0 {
		sa.expires = sa.establishedAt.Add(sa.prop.Lifetime)
	}
	if p.pending == sa {
		p.pending = nil
	}
	logEstablished := func() {
		e.env.Log.Info("IKE SA established", "gateway", sa.peer.cfg.Name, "remote", sa.remote,
			"role", map[bool]string{true: "initiator", false: "responder"}[sa.initiator], "proposal", sa.prop.String(), "nat_t", sa.natt(),
			slog.Bool("security", true))
	}
	if old != nil && old.state == established && collided(old, sa) {
		// Both sides initiated at once and both exchanges authenticated.
		// The two sides need not agree on which came first, so neither
		// is deleted (a Delete for the one the peer serves with would
		// leave none): both stay usable, the lower initiator cookie
		// serves, and the other goes after collisionGrace. Had one side
		// seen a rekey instead, its Delete of the older one comes first
		// and makes the other side serve with the survivor.
		e.env.Log.Debug("main mode collision: keeping both IKE SAs", "gateway", p.cfg.Name)
		if bytes.Compare(old.ci[:], sa.ci[:]) > 0 {
			p.ike = sa
		}
		logEstablished()
		return true
	}
	if old != nil {
		p.ike = nil // so that dropSA does not hand it p.pending
		if old.state == established {
			// Phase 1 rekey done (or a collision lost): retire the old
			// IKE SA; IPsec SAs stay.
			spi := append(append([]byte(nil), old.ci[:]...), old.cr[:]...)
			e.sendInformational(old, &isakmp.Delete{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, SPISize: 16, SPIs: [][]byte{spi}})
			old.state = deleted
			e.dropSA(old)
			sa.childrenCreated += old.childrenCreated
			sa.childrenDeleted += old.childrenDeleted
		} else if p.pending == nil {
			// Ours, still negotiating beside the peer's: it goes on and
			// is settled by the rule above if it completes.
			p.pending = old
		}
	}
	p.ike = sa
	p.nextAttempt = e.now()
	logEstablished()
	return true
}
