package ikev2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// maxCookieRounds bounds how often an initiator follows COOKIE or
// INVALID_KE_PAYLOAD answers before it gives up.
const maxCookieRounds = 4

// initiate starts IKE_SA_INIT towards p.
func (e *Engine) initiate(p *peer) {
	if len(p.cfg.Proposals) == 0 {
		return
	}
	sa := &ikeSA{
		peer: p, index: e.nextIndex, initiator: true, state: ikeInitSent, spiI: e.randomIKESPI(),
		local:  netip.AddrPortFrom(p.cfg.Local, e.cfg.IKEPort),
		remote: netip.AddrPortFrom(p.cfg.Remote, e.cfg.IKEPort),
		ni:     e.random(nonceLen), created: e.now(), startSeq: e.next(), lastHeard: e.now(),
	}
	e.nextIndex++
	if err := e.newDH(sa, p.cfg.Proposals[0].Group); err != nil {
		e.env.Log.Error("starting IKE_SA_INIT", "gateway", p.cfg.Name, "err", err)
		p.nextAttempt = e.now().Add(e.cfg.RetryAfter)
		return
	}
	e.sas[sa.spiI] = sa
	p.negotiating = sa
	e.env.Log.Info("initiating IKE SA", "gateway", p.cfg.Name, "remote", sa.remote.Addr())
	e.sendInit(sa)
}

func (e *Engine) newDH(sa *ikeSA, g ikecrypto.Group) error {
	k, err := g.GenerateKey(e.env.Rand)
	if err != nil {
		return fmt.Errorf("generating a %v key: %w", g, err)
	}
	sa.dh = k
	return nil
}

func (e *Engine) natNotifies(spiI, spiR uint64, src, dst netip.AddrPort) []Payload {
	return []Payload{
		&Notify{NotifyType: NATDetectionSourceIP, Data: natHash(spiI, spiR, src)},
		&Notify{NotifyType: NATDetectionDestinationIP, Data: natHash(spiI, spiR, dst)},
	}
}

// sendInit (re)builds and sends our IKE_SA_INIT request.
func (e *Engine) sendInit(sa *ikeSA) {
	var ps []Payload
	if sa.cookie != nil {
		ps = append(ps, &Notify{NotifyType: Cookie, Data: sa.cookie}) // first, RFC 7296 2.6
	}
	ps = append(ps, ikeSAPayload(sa.peer.cfg.Proposals, nil),
		&KE{Group: uint16(sa.dh.Group()), Data: sa.dh.Public()}, &Nonce{Data: sa.ni})
	ps = append(ps, e.natNotifies(sa.spiI, 0, sa.local, sa.remote)...)
	if !e.cfg.NoFragmentation {
		ps = append(ps, &Notify{NotifyType: IKEv2FragmentationSupported})
	}
	m := (&Message{Header: Header{SPIi: sa.spiI, Version: Version, Exchange: IKESAInit, Flags: FlagInitiator}, Payloads: ps}).Encode()
	sa.initReq = m
	sa.outReq = &request{exch: IKESAInit, what: "IKE_SA_INIT", dgrams: [][]byte{m}, limit: e.cfg.Retransmits,
		retryAt: e.now().Add(e.cfg.RetransmitBase)}
	e.transmit(sa, m)
}

// handleInitResponse processes the answer to our IKE_SA_INIT.
func (e *Engine) handleInitResponse(sa *ikeSA, d seam.Datagram, b []byte, h Header) {
	if sa.state != ikeInitSent || h.MessageID != 0 || !h.IsResponse() {
		return
	}
	m, err := Decode(b)
	if err != nil {
		e.drop("dropping malformed IKE_SA_INIT response", "gateway", sa.peer.cfg.Name, "err", err)
		return
	}
	p := sa.peer
	// Nothing in an IKE_SA_INIT response is authenticated, and anyone who
	// saw our request knows its SPI. An error or an unusable answer is
	// therefore only noted: the request goes on being retransmitted, the
	// real answer may still come, and only the timeout ends the exchange
	// (with the last error as its reason).
	bad := func(msg string, args ...any) {
		sa.initErr = msg
		e.rl.Warn(msg, append([]any{"gateway", p.cfg.Name, "remote", d.Remote}, args...)...)
	}
	if n := FindNotify(m.Payloads, Cookie); n != nil && h.SPIr == 0 {
		if sa.cookies++; sa.cookies > maxCookieRounds || len(n.Data) == 0 || len(n.Data) > 64 {
			bad("IKE_SA_INIT: the peer keeps asking for cookies")
			return
		}
		e.rl.Log(slog.LevelDebug, "peer asks for a cookie", "gateway", p.cfg.Name)
		sa.cookie = append([]byte(nil), n.Data...)
		e.sendInit(sa)
		return
	}
	if n := FindNotify(m.Payloads, InvalidKEPayload); n != nil && h.SPIr == 0 {
		if len(n.Data) != 2 {
			return
		}
		g := ikecrypto.Group(binary.BigEndian.Uint16(n.Data))
		ok := false
		for _, pr := range p.cfg.Proposals {
			ok = ok || pr.Group == g
		}
		if !ok || g == sa.dh.Group() || sa.cookies >= maxCookieRounds {
			bad(fmt.Sprintf("IKE_SA_INIT: the peer wants DH group %d, which we do not offer (%s)", g, ikeOffers(p.cfg.Proposals)))
			return
		}
		sa.cookies++
		e.rl.Info("peer asks for another DH group", "gateway", p.cfg.Name, "group", groupName(g))
		if err := e.newDH(sa, g); err != nil {
			e.fail(sa, "IKE_SA_INIT", "err", err)
			return
		}
		e.sendInit(sa)
		return
	}
	for _, n := range Notifies(m.Payloads) {
		if n.NotifyType.IsError() {
			if n.NotifyType == NoProposalChosen {
				bad(fmt.Sprintf("IKE_SA_INIT: the peer accepted none of our IKE proposals %s (NO_PROPOSAL_CHOSEN)", ikeOffers(p.cfg.Proposals)))
			} else {
				bad(fmt.Sprintf("IKE_SA_INIT: the peer answered %v", n.NotifyType))
			}
			return
		}
	}
	saP, _ := Find(m.Payloads, PayloadSA).(*SA)
	ke, _ := Find(m.Payloads, PayloadKE).(*KE)
	nonce, _ := Find(m.Payloads, PayloadNonce).(*Nonce)
	if saP == nil || ke == nil || nonce == nil || h.SPIr == 0 {
		bad("IKE_SA_INIT: the response lacks SA, KE or nonce")
		return
	}
	prop, err := parseIKE(saP)
	if err == nil {
		prop, err = ourProposal(p.cfg.Proposals, prop)
	}
	if err != nil {
		bad("IKE_SA_INIT: unusable proposal in the response", "err", err)
		return
	}
	if prop.Group != sa.dh.Group() || ke.Group != uint16(prop.Group) {
		bad(fmt.Sprintf("IKE_SA_INIT: the responder chose DH group %d with a KE of group %d, we sent %d", prop.Group, ke.Group, sa.dh.Group()))
		return
	}
	shared, err := sa.dh.SharedSecret(ke.Data)
	if err != nil {
		bad("IKE_SA_INIT: the responder's public value", "err", err)
		return
	}
	sa.spiR, sa.nr, sa.prop, sa.initResp = h.SPIr, nonce.Data, prop, append([]byte(nil), b...)
	if err := e.setKeys(sa, nil, shared); err != nil {
		e.fail(sa, "IKE_SA_INIT", "err", err)
		return
	}
	e.detectNAT(sa, m.Payloads, d)
	sa.fragOK = !e.cfg.NoFragmentation && FindNotify(m.Payloads, IKEv2FragmentationSupported) != nil
	sa.outReq = nil
	sa.heardInit(e, d, len(d.Data))
	if sa.natt() && sa.local.Port() != e.cfg.NATTPort {
		// RFC 7296 2.23: behind a NAT, everything after IKE_SA_INIT goes to 4500.
		sa.local = netip.AddrPortFrom(sa.local.Addr(), e.cfg.NATTPort)
		sa.remote = netip.AddrPortFrom(sa.remote.Addr(), e.cfg.NATTPort)
	}
	sa.state = ikeAuthSent
	sa.nextMID = 1
	e.sendAuth(sa)
}

func (sa *ikeSA) heardInit(e *Engine, d seam.Datagram, n int) {
	sa.inBytes += uint64(n)
	sa.inPackets++
	sa.lastHeard = e.now()
}

// ourProposal returns the configured proposal the peer chose (with its lifetime).
func ourProposal(ours []Proposal, chosen Proposal) (Proposal, error) {
	for _, p := range ours {
		if p.Encr == chosen.Encr && p.KeyBits == chosen.KeyBits && p.Integ == chosen.Integ && p.PRF == chosen.PRF && p.Group == chosen.Group {
			return p, nil
		}
	}
	return Proposal{}, fmt.Errorf("the peer chose %v, which we did not offer (%s)", chosen, ikeOffers(ours))
}

// setKeys derives the IKE SA's keys (oldSKd set when rekeying).
func (e *Engine) setKeys(sa *ikeSA, oldSKd, shared []byte) error {
	sa.keys = deriveIKE(sa.prop, skeyseed(sa.prop, oldSKd, shared, sa.ni, sa.nr), sa.ni, sa.nr, sa.spiI, sa.spiR)
	encI, err1 := newProtector(sa.prop, sa.keys.ei, sa.keys.ai)
	encR, err2 := newProtector(sa.prop, sa.keys.er, sa.keys.ar)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("IKE SA keys: %w", firstErr(err1, err2))
	}
	sa.enc, sa.dec = encI, encR
	if !sa.initiator {
		sa.enc, sa.dec = encR, encI
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// detectNAT compares the NAT_DETECTION hashes of an IKE_SA_INIT message
// with the addresses it arrived with (RFC 7296 2.23). The SPIs are those of
// the message's header: SPIr is zero in the request.
func (e *Engine) detectNAT(sa *ikeSA, ps []Payload, d seam.Datagram) {
	spiR := sa.spiR
	if !sa.initiator {
		spiR = 0
	}
	var srcSeen, srcMatch bool
	for _, n := range Notifies(ps) {
		switch n.NotifyType {
		case NATDetectionSourceIP:
			srcSeen = true
			srcMatch = srcMatch || bytes.Equal(n.Data, natHash(sa.spiI, spiR, d.Remote))
		case NATDetectionDestinationIP:
			if !bytes.Equal(n.Data, natHash(sa.spiI, spiR, d.Local)) {
				sa.natLocal = true
			}
		}
	}
	sa.natRemote = srcSeen && !srcMatch
	if sa.natt() {
		// Unauthenticated: a spoofed IKE_SA_INIT can claim any addresses.
		e.rl.Info("NAT detected", "gateway", sa.peer.cfg.Name, "local_behind_nat", sa.natLocal, "peer_behind_nat", sa.natRemote)
	}
}

// handleInitRequest answers an IKE_SA_INIT request: a retransmission gets
// the same answer, a flood gets cookies, a good one a half-open SA.
func (e *Engine) handleInitRequest(d seam.Datagram, b []byte, h Header) {
	if h.SPIr != 0 || h.MessageID != 0 || h.SPIi == 0 || h.FromInitiator() == false {
		return
	}
	key := halfOpenKey{remote: d.Remote, spiI: h.SPIi}
	if sa := e.halfOpen[key]; sa != nil {
		if bytes.Equal(sa.initReq, b) {
			e.transmit(sa, sa.initRespDatagram(e))
		}
		return
	}
	p, dyn := e.peerByRemote(d.Remote.Addr())
	if p == nil && len(dyn) == 0 {
		e.drop("IKE_SA_INIT from an address no gateway names", "from", d.Remote)
		return
	}
	m, err := Decode(b)
	if err != nil {
		e.drop("dropping malformed IKE_SA_INIT", "from", d.Remote, "err", err)
		return
	}
	saP, _ := Find(m.Payloads, PayloadSA).(*SA)
	ke, _ := Find(m.Payloads, PayloadKE).(*KE)
	nonce, _ := Find(m.Payloads, PayloadNonce).(*Nonce)
	if saP == nil || ke == nil || nonce == nil {
		e.drop("IKE_SA_INIT lacks SA, KE or nonce", "from", d.Remote)
		return
	}
	if len(e.halfOpen) >= e.cfg.CookieThreshold {
		n := FindNotify(m.Payloads, Cookie)
		if n == nil || !e.validCookie(n.Data, nonce.Data, d.Remote, h.SPIi) {
			e.drop("IKE_SA_INIT without a valid cookie: answering COOKIE", "from", d.Remote)
			e.sendPlain(d, h, []Payload{&Notify{NotifyType: Cookie, Data: e.cookieFor(e.secretVersion, e.currentSecret(), nonce.Data, d.Remote, h.SPIi)}})
			return
		}
	}
	if len(e.halfOpen) >= e.cfg.MaxHalfOpen {
		e.rl.Warn("too many half-open IKE SAs, dropping IKE_SA_INIT", "from", d.Remote)
		return
	}
	// A dynamic gateway is only a guess until IKE_AUTH names the peer:
	// take the first (by name) that accepts the offer.
	cands := dyn
	if p != nil {
		cands = []*peer{p}
	}
	var prop Proposal
	var reply SAProposal
	ok := false
	for _, c := range cands {
		if prop, reply, ok = selectIKE(c.cfg.Proposals, saP); ok {
			p = c
			break
		}
	}
	if !ok {
		p = cands[0]
		e.rl.Warn("IKE_SA_INIT: no proposal chosen", "from", d.Remote.Addr(), "gateway", p.cfg.Name,
			"detail", fmt.Sprintf("no proposal chosen: the peer offered %s, gateway %s accepts %s", offersString(saP), p.cfg.Name, ikeOffers(p.cfg.Proposals)))
		e.sendPlain(d, h, []Payload{&Notify{NotifyType: NoProposalChosen}})
		return
	}
	if ke.Group != uint16(prop.Group) {
		e.drop("IKE_SA_INIT with another DH group: answering INVALID_KE_PAYLOAD", "from", d.Remote, "group", groupName(prop.Group))
		e.sendPlain(d, h, []Payload{&Notify{NotifyType: InvalidKEPayload, Data: binary.BigEndian.AppendUint16(nil, uint16(prop.Group))}})
		return
	}
	// Our own negotiation with the peer, if one is out, goes on: this
	// request is unauthenticated and may come from anyone who can spoof the
	// peer's address. When both ends really started at once, both IKE SAs
	// authenticate and resolveTwins keeps one; a spoofed one never gets
	// past HALF_OPEN and times out.
	sa := &ikeSA{
		peer: p, index: e.nextIndex, state: ikeHalfOpen, spiI: h.SPIi, spiR: e.randomIKESPI(), local: d.Local, remote: d.Remote,
		prop: prop, ni: append([]byte(nil), nonce.Data...), nr: e.random(nonceLen), initReq: append([]byte(nil), b...),
		created: e.now(), startSeq: e.next(), lastHeard: e.now(), deadline: e.now().Add(e.cfg.HalfOpenTimeout), halfOpen: key, peerMID: 1,
	}
	if err := e.newDH(sa, prop.Group); err != nil {
		e.env.Log.Error("answering IKE_SA_INIT", "gateway", p.cfg.Name, "err", err)
		return
	}
	shared, err := sa.dh.SharedSecret(ke.Data)
	if err != nil {
		e.rl.Warn("IKE_SA_INIT: bad public value", "gateway", p.cfg.Name, "from", d.Remote, "err", err)
		return
	}
	if err := e.setKeys(sa, nil, shared); err != nil {
		e.env.Log.Error("answering IKE_SA_INIT", "gateway", p.cfg.Name, "err", err)
		return
	}
	e.nextIndex++
	e.detectNAT(sa, m.Payloads, d)
	sa.fragOK = !e.cfg.NoFragmentation && FindNotify(m.Payloads, IKEv2FragmentationSupported) != nil
	ps := []Payload{&SA{Proposals: []SAProposal{reply}}, &KE{Group: uint16(prop.Group), Data: sa.dh.Public()}, &Nonce{Data: sa.nr}}
	ps = append(ps, e.natNotifies(sa.spiI, sa.spiR, d.Local, d.Remote)...)
	if sa.fragOK {
		ps = append(ps, &Notify{NotifyType: IKEv2FragmentationSupported})
	}
	sa.initResp = (&Message{Header: Header{SPIi: sa.spiI, SPIr: sa.spiR, Version: Version, Exchange: IKESAInit, Flags: FlagResponse}, Payloads: ps}).Encode()
	sa.dh = nil // the shared secret is in the keys; the key pair is not needed again
	e.sas[sa.spiR] = sa
	e.halfOpen[key] = sa
	p.responders++
	sa.heardInit(e, d, len(d.Data))
	e.transmit(sa, sa.initRespDatagram(e))
}

// initRespDatagram is our IKE_SA_INIT answer as sent, with the marker on 4500.
func (sa *ikeSA) initRespDatagram(e *Engine) []byte {
	if sa.local.Port() == e.cfg.NATTPort {
		return append([]byte{0, 0, 0, 0}, sa.initResp...)
	}
	return sa.initResp
}

func (e *Engine) currentSecret() []byte {
	if e.secret == nil {
		e.secret, e.secretVersion, e.secretRotateAt = e.random(32), 1, e.now().Add(secretLifetime)
	}
	return e.secret
}

// sendPlain answers an IKE_SA_INIT without creating state.
func (e *Engine) sendPlain(d seam.Datagram, h Header, ps []Payload) {
	m := (&Message{Header: Header{SPIi: h.SPIi, Version: Version, Exchange: IKESAInit, Flags: FlagResponse}, Payloads: ps}).Encode()
	if d.Local.Port() == e.cfg.NATTPort {
		m = append([]byte{0, 0, 0, 0}, m...)
	}
	if err := e.tr.Send(seam.Datagram{Data: m, Local: d.Local, Remote: d.Remote}); err != nil {
		e.drop("answering IKE_SA_INIT", "to", d.Remote, "err", err)
	}
}
