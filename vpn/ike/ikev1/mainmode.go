package ikev1

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/isakmp"
)

func vendorIDs() []isakmp.Payload {
	return []isakmp.Payload{&isakmp.VendorID{Data: isakmp.VendorIDNATT()}, &isakmp.VendorID{Data: isakmp.VendorIDDPD()}}
}

func (e *Engine) newSA(p *peer, initiator bool, local, remote netip.AddrPort) *IKESA {
	sa := &IKESA{
		peer: p, index: e.nextIndex, initiator: initiator, local: local, remote: remote,
		created: e.now(), lastHeard: e.now(), exchanges: map[uint32]*exchange{},
	}
	e.nextIndex++
	return sa
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

// respondMM1 answers a new main mode: choose a proposal, or say why not.
func (e *Engine) respondMM1(d Datagram, b []byte) {
	m, err := isakmp.Decode(b)
	if err != nil {
		e.logDrop("dropping malformed main mode message 1", "from", d.Remote, "err", err)
		return
	}
	p := e.peerByRemote(d.Remote.Addr())
	if p == nil {
		e.env.Log.Info("main mode from an unknown peer", "from", d.Remote)
		return
	}
	sai := isakmp.Find[*isakmp.SA](m.Payloads)
	if sai == nil {
		e.env.Log.Info("main mode message 1 without SA payload", "from", d.Remote)
		return
	}
	// Both sides started at once: the negotiation with the lower initiator
	// cookie wins on both sides, so exactly one survives.
	for _, mine := range []*IKESA{p.ike, p.pending} {
		if mine == nil || !mine.initiator || mine.state == established {
			continue
		}
		if bytes.Compare(mine.ci[:], m.Header.InitiatorCookie[:]) < 0 {
			e.env.Log.Debug("main mode collision: keeping ours", "gateway", p.cfg.Name)
			return
		}
		e.env.Log.Debug("main mode collision: answering the peer's", "gateway", p.cfg.Name)
		e.dropSA(mine)
	}
	sa := e.newSA(p, false, d.Local, d.Remote)
	sa.ci = m.Header.InitiatorCookie
	copy(sa.cr[:], e.random(8))
	e.noteVIDs(sa, m.Payloads)
	offers, transforms := phase1Offers(sai)
	chosen := -1
	for i, o := range offers {
		for _, ours := range p.cfg.Proposals {
			if samePhase1(o, ours) {
				chosen = i
				sa.prop = o
				if ours.Lifetime < o.Lifetime || o.Lifetime == 0 {
					sa.prop.Lifetime = ours.Lifetime
				}
				break
			}
		}
		if chosen >= 0 {
			break
		}
	}
	if chosen < 0 {
		e.env.Log.Warn("IKE phase 1 proposal mismatch: no proposal chosen",
			"gateway", p.cfg.Name, "remote", d.Remote, "peer_proposals", joinStrings(offers), "our_proposals", joinStrings(p.cfg.Proposals))
		e.sendPlainNotify(sa, isakmp.NotifyNoProposalChosen)
		return
	}
	sa.saiB = sai.Body()
	e.sas[sa.ci] = sa
	if p.ike == nil {
		p.ike = sa
	}
	reply := &isakmp.SA{DOI: isakmp.DOIIPsec, Situation: isakmp.SituationIdentityOnly, Proposals: []isakmp.Proposal{{
		Number: sai.Proposals[0].Number, Protocol: isakmp.ProtoISAKMP, Transforms: []isakmp.Transform{transforms[chosen]},
	}}}
	out := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: append([]isakmp.Payload{reply}, vendorIDs()...)}
	sa.lastRecv = b
	sa.state = mmSentSA
	e.send(sa, out.Encode(), &sa.rt, "main mode message 2 (SA)")
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

func (e *Engine) handleMain(sa *IKESA, h isakmp.Header, b []byte) {
	switch {
	case sa.initiator && sa.state == mmSentSA:
		e.initiatorMM2(sa, b)
	case !sa.initiator && sa.state == mmSentSA:
		e.responderMM3(sa, b)
	case sa.initiator && sa.state == mmSentKE:
		e.initiatorMM4(sa, b)
	case !sa.initiator && sa.state == mmSentKE:
		e.responderMM5(sa, b)
	case sa.initiator && sa.state == mmSentID:
		e.initiatorMM6(sa, b)
	}
}

func (e *Engine) initiatorMM2(sa *IKESA, b []byte) {
	m, err := isakmp.Decode(b)
	if err != nil {
		e.logDrop("dropping malformed main mode message 2", "gateway", sa.peer.cfg.Name, "err", err)
		return
	}
	sar := isakmp.Find[*isakmp.SA](m.Payloads)
	if sar == nil {
		return
	}
	offers, _ := phase1Offers(sar)
	ok := false
	for _, ours := range sa.peer.cfg.Proposals {
		if len(offers) == 1 && samePhase1(offers[0], ours) {
			sa.prop, ok = ours, true
			break
		}
	}
	if !ok {
		e.fail(sa, "peer chose a phase 1 proposal we did not offer", "chosen", joinStrings(offers))
		return
	}
	e.noteVIDs(sa, m.Payloads)
	sa.lastRecv = b
	if err := e.makeKE(sa); err != nil {
		e.fail(sa, "generating DH key", "err", err)
		return
	}
	sa.gxi, sa.ni = sa.dh.Public(), e.random(32)
	ps := []isakmp.Payload{&isakmp.KeyExchange{Data: sa.gxi}, &isakmp.Nonce{Data: sa.ni}}
	if sa.nattVID {
		ps = append(ps, sa.natdPayloads()...)
	}
	out := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: ps}
	sa.state = mmSentKE
	e.send(sa, out.Encode(), &sa.rt, "main mode message 3 (KE)")
}

func (e *Engine) makeKE(sa *IKESA) error {
	k, err := sa.prop.Group.GenerateKey(e.env.Rand)
	sa.dh = k
	return err
}

func (e *Engine) responderMM3(sa *IKESA, b []byte) {
	m, err := isakmp.Decode(b)
	if err != nil {
		e.logDrop("dropping malformed main mode message 3", "gateway", sa.peer.cfg.Name, "err", err)
		return
	}
	ke, n := isakmp.Find[*isakmp.KeyExchange](m.Payloads), isakmp.Find[*isakmp.Nonce](m.Payloads)
	if ke == nil || n == nil {
		e.env.Log.Info("main mode message 3 without KE or nonce", "gateway", sa.peer.cfg.Name)
		return
	}
	if err := e.makeKE(sa); err != nil {
		e.fail(sa, "generating DH key", "err", err)
		return
	}
	sa.gxi, sa.ni = ke.Data, n.Data
	sa.gxr, sa.nr = sa.dh.Public(), e.random(32)
	if err := sa.deriveKeys(sa.gxi); err != nil {
		e.fail(sa, "phase 1 key exchange failed", "err", err)
		return
	}
	if sa.nattVID {
		sa.checkNATD(m.Payloads)
	}
	ps := []isakmp.Payload{&isakmp.KeyExchange{Data: sa.gxr}, &isakmp.Nonce{Data: sa.nr}}
	if sa.nattVID {
		ps = append(ps, sa.natdPayloads()...)
	}
	out := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: ps}
	sa.lastRecv = b
	sa.state = mmSentKE
	e.send(sa, out.Encode(), &sa.rt, "main mode message 4 (KE)")
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

func (e *Engine) initiatorMM4(sa *IKESA, b []byte) {
	m, err := isakmp.Decode(b)
	if err != nil {
		e.logDrop("dropping malformed main mode message 4", "gateway", sa.peer.cfg.Name, "err", err)
		return
	}
	ke, n := isakmp.Find[*isakmp.KeyExchange](m.Payloads), isakmp.Find[*isakmp.Nonce](m.Payloads)
	if ke == nil || n == nil {
		return
	}
	sa.gxr, sa.nr = ke.Data, n.Data
	if err := sa.deriveKeys(sa.gxr); err != nil {
		e.fail(sa, "phase 1 key exchange failed", "err", err)
		return
	}
	if sa.nattVID {
		sa.checkNATD(m.Payloads)
	}
	if sa.natt() {
		e.env.Log.Info("NAT detected, floating to the NAT-T port", "gateway", sa.peer.cfg.Name, "port", e.cfg.NATTPort)
		sa.local = netip.AddrPortFrom(sa.local.Addr(), e.cfg.NATTPort)
		sa.remote = netip.AddrPortFrom(sa.remote.Addr(), e.cfg.NATTPort)
	}
	sa.lastRecv = b
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
		return
	}
	sa.iv = iv
	sa.state = mmSentID
	e.send(sa, msg, &sa.rt, "main mode message 5 (ID, HASH_I)")
}

func (e *Engine) responderMM5(sa *IKESA, b []byte) {
	m, _, iv, err := isakmp.Decrypt(b, sa.block, sa.iv)
	var id *isakmp.Identification
	var hash *isakmp.Hash
	if err == nil {
		id, hash = isakmp.Find[*isakmp.Identification](m.Payloads), isakmp.Find[*isakmp.Hash](m.Payloads)
	}
	if err != nil || id == nil || hash == nil ||
		!bytes.Equal(hash.Data, ikecrypto.HashI(sa.prop.Hash, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ci[:], sa.cr[:], sa.saiB, id.Body())) {
		detail := "HASH_I does not match"
		if err != nil || id == nil || hash == nil {
			detail = fmt.Sprintf("message 5 does not decrypt to ID and HASH payloads (%v)", err)
		}
		e.sendPlainNotify(sa, isakmp.NotifyAuthenticationFailed)
		e.fail(sa, "IKE phase 1 authentication failed: pre-shared key mismatch", "detail", detail)
		return
	}
	if err := checkPeerID(sa.peer, id); err != nil {
		e.sendPlainNotify(sa, isakmp.NotifyInvalidIDInformation)
		e.fail(sa, "IKE phase 1 identity mismatch", "err", err)
		return
	}
	sa.iv = iv
	sa.peerID = id.String()
	if sa.natt() {
		sa.local = netip.AddrPortFrom(sa.local.Addr(), e.cfg.NATTPort)
	}
	for _, n := range isakmp.FindAll[*isakmp.Notification](m.Payloads) {
		if n.Notify == isakmp.NotifyInitialContact {
			e.initialContact(sa)
		}
	}
	sa.lastRecv = b
	myID := e.localID(sa)
	hr := ikecrypto.HashR(sa.prop.Hash, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ci[:], sa.cr[:], sa.saiB, myID.Body())
	out := &isakmp.Message{Header: sa.header(isakmp.ExchangeMain, 0), Payloads: []isakmp.Payload{myID, &isakmp.Hash{Data: hr}}}
	msg, iv, err := isakmp.Encrypt(out, sa.block, sa.iv)
	if err != nil {
		e.fail(sa, "encrypting main mode message 6", "err", err)
		return
	}
	sa.iv = iv
	e.send(sa, msg, &sa.rt, "")
	e.establish(sa)
}

// initialContact drops older SAs of the peer: it has rebooted.
func (e *Engine) initialContact(sa *IKESA) {
	p := sa.peer
	for _, other := range e.sas {
		if other != sa && other.peer == p {
			e.env.Log.Info("INITIAL-CONTACT: removing the peer's old SAs", "gateway", p.cfg.Name)
			other.state = deleted
			e.dropSA(other)
		}
	}
	for _, c := range p.children {
		if c.installed != nil {
			e.removeChild(p, c, false)
		}
	}
	p.ike = sa
}

func (e *Engine) initiatorMM6(sa *IKESA, b []byte) {
	m, _, iv, err := isakmp.Decrypt(b, sa.block, sa.iv)
	if err != nil {
		e.fail(sa, "IKE phase 1 authentication failed: pre-shared key mismatch (message 6 does not decrypt)", "err", err)
		return
	}
	id, hash := isakmp.Find[*isakmp.Identification](m.Payloads), isakmp.Find[*isakmp.Hash](m.Payloads)
	if id == nil || hash == nil ||
		!bytes.Equal(hash.Data, ikecrypto.HashR(sa.prop.Hash, sa.keys.SKEYID, sa.gxi, sa.gxr, sa.ci[:], sa.cr[:], sa.saiB, id.Body())) {
		e.fail(sa, "IKE phase 1 authentication failed: pre-shared key mismatch (HASH_R does not match)")
		return
	}
	if err := checkPeerID(sa.peer, id); err != nil {
		e.sendPlainNotify(sa, isakmp.NotifyInvalidIDInformation)
		e.fail(sa, "IKE phase 1 identity mismatch", "err", err)
		return
	}
	sa.iv = iv
	sa.peerID = id.String()
	sa.lastRecv = b
	sa.rt = nil
	e.establish(sa)
}

func (e *Engine) establish(sa *IKESA) {
	sa.state = established
	sa.establishedAt = e.now()
	if sa.prop.Lifetime > 0 {
		sa.expires = sa.establishedAt.Add(sa.prop.Lifetime)
	}
	p := sa.peer
	if old := p.ike; old != nil && old != sa {
		// Phase 1 rekey done: retire the old IKE SA; IPsec SAs stay.
		if old.state == established {
			spi := append(append([]byte(nil), old.ci[:]...), old.cr[:]...)
			e.sendInformational(old, &isakmp.Delete{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, SPISize: 16, SPIs: [][]byte{spi}})
		}
		old.state = deleted
		e.dropSA(old)
		sa.childrenCreated += old.childrenCreated
		sa.childrenDeleted += old.childrenDeleted
	}
	if p.pending == sa {
		p.pending = nil
	}
	p.ike = sa
	p.nextAttempt = e.now()
	e.env.Log.Info("IKE SA established", "gateway", sa.peer.cfg.Name, "remote", sa.remote,
		"role", map[bool]string{true: "initiator", false: "responder"}[sa.initiator], "proposal", sa.prop.String(), "nat_t", sa.natt())
}
