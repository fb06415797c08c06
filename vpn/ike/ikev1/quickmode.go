package ikev1

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/isakmp"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// encryptPhase2 encrypts a quick mode or informational message whose first
// payload is HASH, chaining the exchange's IV.
func (e *Engine) encryptPhase2(sa *IKESA, ex isakmp.ExchangeType, mid uint32, iv []byte, ps []isakmp.Payload) ([]byte, []byte, error) {
	return isakmp.Encrypt(&isakmp.Message{Header: sa.header(ex, mid), Payloads: ps}, sa.block, iv)
}

// decryptPhase2 decrypts a message whose first payload is HASH; it returns
// the payloads, the hash and the bytes after the HASH payload.
func decryptPhase2(sa *IKESA, b []byte, iv []byte) (m *isakmp.Message, hash, rest, nextIV []byte, err error) {
	m, plain, nextIV, err := isakmp.Decrypt(b, sa.block, iv)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if len(m.Payloads) == 0 {
		return nil, nil, nil, nil, fmt.Errorf("no payloads")
	}
	h, ok := m.Payloads[0].(*isakmp.Hash)
	if !ok {
		return nil, nil, nil, nil, fmt.Errorf("first payload is %v, not HASH", m.Payloads[0].Type())
	}
	return m, h.Data, plain[4+len(h.Data):], nextIV, nil
}

// initiateQuick starts quick mode for c; rekeyOf is the SA it replaces.
func (e *Engine) initiateQuick(sa *IKESA, c *child, rekeyOf *seam.ChildSA) {
	ex := &exchange{mid: e.randomUint32(), initiator: true, child: c, ni: e.random(32), spiIn: e.randomUint32(), rekeyOf: rekeyOf}
	ex.iv = ikecrypto.PhaseIV(sa.prop.Hash, sa.iv, ex.mid)
	ps := []isakmp.Payload{phase2SA(c.cfg.Proposals, ex.spiIn, c.cfg.PFS, sa.natt()), &isakmp.Nonce{Data: ex.ni}}
	if c.cfg.PFS != 0 {
		k, err := c.cfg.PFS.GenerateKey(e.env.Rand)
		if err != nil {
			e.env.Log.Error("generating PFS key", "tunnel", c.cfg.Name, "err", err)
			return
		}
		ex.dh = k
		ps = append(ps, &isakmp.KeyExchange{Data: k.Public()})
	}
	idci, idcr := proxyID(c.cfg)
	ps = append(ps, idci, idcr)
	rest := isakmp.AppendPayloads(nil, ps)
	hash := ikecrypto.QuickHash1(sa.prop.Hash, sa.keys.SKEYID_a, ex.mid, rest)
	msg, iv, err := e.encryptPhase2(sa, isakmp.ExchangeQuick, ex.mid, ex.iv, append([]isakmp.Payload{&isakmp.Hash{Data: hash}}, ps...))
	if err != nil {
		e.env.Log.Error("encrypting quick mode message 1", "tunnel", c.cfg.Name, "err", err)
		return
	}
	ex.iv = iv
	ex.state = qmSent1
	c.negotiating = true
	sa.exchanges[ex.mid] = ex
	sa.seen.add(ex.mid)
	e.env.Log.Info("initiating quick mode", "gateway", sa.peer.cfg.Name, "tunnel", c.cfg.Name,
		"local_id", idci.String(), "remote_id", idcr.String(), "proposals", joinStrings(c.cfg.Proposals))
	e.send(sa, msg, &ex.rt, "quick mode message 1")
}

// handleQuick runs a quick mode message; it reports whether the message
// was accepted (authenticated and new).
func (e *Engine) handleQuick(sa *IKESA, d seam.Datagram, h isakmp.Header, b []byte) bool {
	if sa.state != established || h.MessageID == 0 {
		return false
	}
	ex := sa.exchanges[h.MessageID]
	if ex != nil && ex.lastRecv != (msgDigest{}) && ex.lastRecv == digest(b) {
		e.resend(sa, ex.rt) // our answer was lost
		return false
	}
	switch {
	case ex == nil:
		if sa.seen.has(h.MessageID) {
			// The exchange is over (and forgotten): a copy now is a
			// replay, which must not create another SA pair.
			e.unauth.Info("dropping replayed quick mode message", "gateway", sa.peer.cfg.Name, "message_id", fmt.Sprintf("%08x", h.MessageID))
			return false
		}
		return e.respondQM1(sa, d, h, b)
	case ex.initiator && ex.state == qmSent1:
		return e.initiatorQM2(sa, d, ex, b)
	case !ex.initiator && ex.state == qmSent2:
		return e.responderQM3(sa, d, ex, b)
	}
	return false
}

func (e *Engine) respondQM1(sa *IKESA, d seam.Datagram, h isakmp.Header, b []byte) bool {
	iv := ikecrypto.PhaseIV(sa.prop.Hash, sa.iv, h.MessageID)
	m, hash, rest, iv, err := decryptPhase2(sa, b, iv)
	if err != nil || !hashEqual(hash, ikecrypto.QuickHash1(sa.prop.Hash, sa.keys.SKEYID_a, h.MessageID, rest)) {
		e.unauth.Info("dropping quick mode message 1 that fails HASH(1)", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	e.authenticated(sa, d)
	sa.seen.add(h.MessageID)
	sai, n := isakmp.Find[*isakmp.SA](m.Payloads), isakmp.Find[*isakmp.Nonce](m.Payloads)
	ke := isakmp.Find[*isakmp.KeyExchange](m.Payloads)
	ids := isakmp.FindAll[*isakmp.Identification](m.Payloads)
	if sai == nil || n == nil {
		return true
	}
	if err := checkNonce(n.Data); err != nil {
		e.unauth.Warn("dropping quick mode message 1 with a bad nonce", "gateway", sa.peer.cfg.Name, "err", err)
		return true
	}
	var idci, idcr *isakmp.Identification
	if len(ids) == 2 {
		idci, idcr = ids[0], ids[1]
	} else {
		idci, idcr = isakmp.IDAddr(sa.remote.Addr(), 0, 0), isakmp.IDAddr(sa.peer.cfg.Local, 0, 0)
	}
	c := e.matchProxyID(sa.peer, idci, idcr)
	if c != nil && c.negotiating {
		// Both sides started quick mode for this tunnel: the IKE initiator's
		// exchange wins, on both sides.
		if sa.initiator {
			e.env.Log.Debug("quick mode collision: keeping ours", "tunnel", c.cfg.Name)
			return true
		}
		for mid, ex := range sa.exchanges {
			if ex.child == c && ex.initiator && ex.state == qmSent1 {
				delete(sa.exchanges, mid)
			}
		}
		c.negotiating = false
	}
	if c == nil {
		var ours []string
		for _, k := range sa.peer.children {
			l, r := proxyID(k.cfg)
			ours = append(ours, fmt.Sprintf("%s: local %v remote %v", k.cfg.Policy, l, r))
		}
		e.env.Log.Warn("quick mode proxy-id mismatch: no tunnel policy matches the peer's proxy-id",
			"gateway", sa.peer.cfg.Name, "peer_local_id", idci.String(), "peer_remote_id", idcr.String(), "our_proxy_ids", fmt.Sprint(ours))
		e.sendInformational(sa, &isakmp.Notification{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoESP, Notify: isakmp.NotifyInvalidIDInformation})
		return true
	}
	offers, refused := parsePhase2(sai)
	if refused != nil {
		e.env.Log.Warn("refusing quick mode transforms with an absurd lifetime", "gateway", sa.peer.cfg.Name, "tunnel", c.cfg.Name, "err", refused)
	}
	var chosen *childOffer
	for i, o := range offers {
		if o.pfs != c.cfg.PFS || (o.pfs != 0 && ke == nil) {
			continue
		}
		for _, ours := range c.cfg.Proposals {
			if o.Suite == ours.Suite {
				chosen = &offers[i]
				break
			}
		}
		if chosen != nil {
			break
		}
	}
	if chosen == nil {
		e.env.Log.Warn("quick mode proposal mismatch: no proposal chosen", "gateway", sa.peer.cfg.Name, "tunnel", c.cfg.Name,
			"peer_proposals", joinStrings(offers), "our_proposals", joinStrings(c.cfg.Proposals), "our_pfs", int(c.cfg.PFS))
		e.sendInformational(sa, &isakmp.Notification{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoESP, Notify: isakmp.NotifyNoProposalChosen})
		return true
	}
	ex := &exchange{mid: h.MessageID, iv: iv, child: c, ni: n.Data, nr: e.random(32), spiIn: e.randomUint32(), spiOut: chosen.spi, offer: *chosen, lastRecv: digest(b)}
	reply := &isakmp.SA{DOI: isakmp.DOIIPsec, Situation: isakmp.SituationIdentityOnly, Proposals: []isakmp.Proposal{{
		Number: sai.Proposals[0].Number, Protocol: isakmp.ProtoESP, SPI: spiBytes(ex.spiIn), Transforms: []isakmp.Transform{chosen.trans},
	}}}
	ps := []isakmp.Payload{reply, &isakmp.Nonce{Data: ex.nr}}
	var pfsSecret []byte
	if chosen.pfs != 0 {
		k, err := chosen.pfs.GenerateKey(e.env.Rand)
		if err == nil {
			pfsSecret, err = k.SharedSecret(ke.Data)
		}
		if err != nil {
			e.env.Log.Warn("quick mode PFS key exchange failed", "tunnel", c.cfg.Name, "err", err)
			return true
		}
		ps = append(ps, &isakmp.KeyExchange{Data: k.Public()})
	}
	if len(ids) == 2 {
		ps = append(ps, idci, idcr)
	}
	rest2 := isakmp.AppendPayloads(nil, ps)
	hash2 := ikecrypto.QuickHash2(sa.prop.Hash, sa.keys.SKEYID_a, ex.mid, ex.ni, rest2)
	msg, iv, err := e.encryptPhase2(sa, isakmp.ExchangeQuick, ex.mid, ex.iv, append([]isakmp.Payload{&isakmp.Hash{Data: hash2}}, ps...))
	if err != nil {
		return true
	}
	ex.iv = iv
	ex.state = qmSent2
	ex.dhSecret = pfsSecret
	sa.exchanges[ex.mid] = ex
	c.negotiating = true
	e.send(sa, msg, &ex.rt, "quick mode message 2")
	return true
}

// matchProxyID finds the tunnel whose proxy-id is the mirror of the peer's.
func (e *Engine) matchProxyID(p *peer, idci, idcr *isakmp.Identification) *child {
	pi, err1 := idci.Prefix()
	pr, err2 := idcr.Prefix()
	if err1 != nil || err2 != nil {
		return nil
	}
	for _, c := range p.children {
		if c.cfg.Remote.Masked() == pi && c.cfg.Local.Masked() == pr && c.cfg.Protocol == idci.Protocol &&
			idci.Protocol == idcr.Protocol && c.cfg.RemotePort == idci.Port && c.cfg.LocalPort == idcr.Port {
			return c
		}
	}
	return nil
}

func (e *Engine) initiatorQM2(sa *IKESA, d seam.Datagram, ex *exchange, b []byte) bool {
	m, hash, rest, iv, err := decryptPhase2(sa, b, ex.iv)
	if err != nil || !hashEqual(hash, ikecrypto.QuickHash2(sa.prop.Hash, sa.keys.SKEYID_a, ex.mid, ex.ni, rest)) {
		e.unauth.Info("dropping quick mode message 2 that fails HASH(2)", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	e.authenticated(sa, d)
	c := ex.child
	sar, n := isakmp.Find[*isakmp.SA](m.Payloads), isakmp.Find[*isakmp.Nonce](m.Payloads)
	ke := isakmp.Find[*isakmp.KeyExchange](m.Payloads)
	if sar == nil || n == nil {
		return true
	}
	if err := checkNonce(n.Data); err != nil {
		e.env.Log.Warn("dropping quick mode message 2 with a bad nonce", "gateway", sa.peer.cfg.Name, "tunnel", c.cfg.Name, "err", err)
		return true
	}
	offers, refused := parsePhase2(sar)
	ok := false
	if len(offers) == 1 {
		for _, ours := range c.cfg.Proposals {
			if offers[0].Suite == ours.Suite && offers[0].pfs == c.cfg.PFS {
				ok = true
			}
		}
	}
	if !ok {
		e.env.Log.Warn("peer chose a quick mode proposal we did not offer", "tunnel", c.cfg.Name, "chosen", joinStrings(offers), "refused", fmt.Sprint(refused))
		c.negotiating = false
		delete(sa.exchanges, ex.mid)
		return true
	}
	ex.offer, ex.spiOut, ex.nr = offers[0], offers[0].spi, n.Data
	if ex.dh != nil {
		if ke == nil {
			e.env.Log.Warn("quick mode reply without KE although PFS was proposed", "tunnel", c.cfg.Name)
			return true
		}
		s, err := ex.dh.SharedSecret(ke.Data)
		if err != nil {
			e.env.Log.Warn("quick mode PFS key exchange failed", "tunnel", c.cfg.Name, "err", err)
			return true
		}
		ex.dh = nil // as for phase 1: the secret is derived, the key has no further use
		ex.dhSecret = s
	}
	hash3 := ikecrypto.QuickHash3(sa.prop.Hash, sa.keys.SKEYID_a, ex.mid, ex.ni, ex.nr)
	msg, iv, err := e.encryptPhase2(sa, isakmp.ExchangeQuick, ex.mid, iv, []isakmp.Payload{&isakmp.Hash{Data: hash3}})
	if err != nil {
		return true
	}
	ex.iv = iv
	ex.lastRecv = digest(b)
	e.send(sa, msg, &ex.rt, "")
	e.installChild(sa, ex)
	return true
}

func (e *Engine) responderQM3(sa *IKESA, d seam.Datagram, ex *exchange, b []byte) bool {
	_, hash, _, _, err := decryptPhase2(sa, b, ex.iv)
	if err != nil || !hashEqual(hash, ikecrypto.QuickHash3(sa.prop.Hash, sa.keys.SKEYID_a, ex.mid, ex.ni, ex.nr)) {
		e.unauth.Info("dropping quick mode message 3 that fails HASH(3)", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	e.authenticated(sa, d)
	ex.lastRecv = digest(b)
	ex.rt = nil
	e.installChild(sa, ex)
	return true
}

// installChild derives KEYMAT and installs the SA pair of a finished quick mode.
func (e *Engine) installChild(sa *IKESA, ex *exchange) {
	c := ex.child
	ex.state = qmDone
	ex.done = e.now()
	c.negotiating = false
	suite := ex.offer.Suite
	n := suite.KeymatLen()
	kin := ikecrypto.Keymat(sa.prop.Hash, sa.keys.SKEYID_d, ex.dhSecret, uint8(isakmp.ProtoESP), spiBytes(ex.spiIn), ex.ni, ex.nr, n)
	kout := ikecrypto.Keymat(sa.prop.Hash, sa.keys.SKEYID_d, ex.dhSecret, uint8(isakmp.ProtoESP), spiBytes(ex.spiOut), ex.ni, ex.nr, n)
	clear(ex.dhSecret)
	ex.dhSecret = nil
	lifetime, lifetimeKB := ex.offer.Lifetime, ex.offer.LifetimeKB
	for _, p := range c.cfg.Proposals {
		if p.Suite == suite {
			lifetime = minLifetime(p.Lifetime, lifetime)
			if p.LifetimeKB != 0 && (lifetimeKB == 0 || p.LifetimeKB < lifetimeKB) {
				lifetimeKB = p.LifetimeKB
			}
		}
	}
	cs := &seam.ChildSA{
		Peer: sa.peer.cfg.Name, Tunnel: c.cfg, Local: sa.local.Addr(), Remote: sa.remote.Addr(),
		Suite: suite, SPIIn: ex.spiIn, SPIOut: ex.spiOut,
		EncIn: kin[:suite.EncKeyLen()], AuthIn: kin[suite.EncKeyLen():],
		EncOut: kout[:suite.EncKeyLen()], AuthOut: kout[suite.EncKeyLen():],
		Lifetime: lifetime, LifetimeKB: lifetimeKB, Established: e.now(),
	}
	if sa.natt() {
		cs.EncapLocal, cs.EncapRemote = sa.local.Port(), sa.remote.Port()
	}
	if err := e.env.Installer.Install(cs); err != nil {
		e.env.Log.Error("installing IPsec SA", "gateway", sa.peer.cfg.Name, "tunnel", c.cfg.Name, "err", err)
		return
	}
	old := c.installed
	c.installed = cs
	c.peerID = sa.peerID
	e.seq++
	c.installedSeq = e.seq
	c.rekeyAt = time.Time{}
	if lifetime > 0 {
		// The initiator rekeys at 90%; the responder only if that did not
		// happen by 95%, so that its shorter lifetime cannot run out first.
		frac := time.Duration(90)
		if !ex.initiator {
			frac = 95
		}
		c.rekeyAt = e.now().Add(lifetime * frac / 100)
	}
	sa.childrenCreated++
	e.env.Log.Info("IPsec SA established", "gateway", sa.peer.cfg.Name, "tunnel", c.cfg.Name, "suite", suite.String(),
		"spi_in", fmt.Sprintf("%08x", cs.SPIIn), "spi_out", fmt.Sprintf("%08x", cs.SPIOut), "pfs", int(ex.offer.pfs),
		slog.Bool("security", true))
	if old != nil {
		// Make before break: the new pair is in; now retire the old one.
		e.sendInformational(sa, &isakmp.Delete{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoESP, SPISize: 4, SPIs: [][]byte{spiBytes(old.SPIIn)}})
		if err := e.env.Installer.Remove(old); err != nil {
			e.env.Log.Error("removing rekeyed IPsec SA", "tunnel", c.cfg.Name, "err", err)
		}
		sa.childrenDeleted++
	}
}
