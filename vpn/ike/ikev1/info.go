package ikev1

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/isakmp"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// sendInformational sends one protected informational exchange carrying p.
func (e *Engine) sendInformational(sa *IKESA, p isakmp.Payload) {
	if sa.state != established {
		return
	}
	mid := e.randomUint32()
	iv := ikecrypto.PhaseIV(sa.prop.Hash, sa.iv, mid)
	hash := ikecrypto.QuickHash1(sa.prop.Hash, sa.keys.SKEYID_a, mid, isakmp.EncodePayload(p, isakmp.PayloadNone))
	msg, _, err := e.encryptPhase2(sa, isakmp.ExchangeInformational, mid, iv, []isakmp.Payload{&isakmp.Hash{Data: hash}, p})
	if err != nil {
		e.env.Log.Error("encrypting informational", "gateway", sa.peer.cfg.Name, "err", err)
		return
	}
	e.send(sa, msg, nil, "")
}

// handleInformational runs an informational message; it reports whether
// it was accepted (authenticated and not a replay).
func (e *Engine) handleInformational(sa *IKESA, d seam.Datagram, h isakmp.Header, b []byte) bool {
	if h.Flags&isakmp.FlagEncryption == 0 {
		e.plainInformational(sa, b)
		return false
	}
	if sa.state != established {
		return false
	}
	iv := ikecrypto.PhaseIV(sa.prop.Hash, sa.iv, h.MessageID)
	m, hash, rest, _, err := decryptPhase2(sa, b, iv)
	if err != nil || !hashEqual(hash, ikecrypto.QuickHash1(sa.prop.Hash, sa.keys.SKEYID_a, h.MessageID, rest)) {
		e.unauth.Info("dropping informational that fails its HASH", "gateway", sa.peer.cfg.Name, "err", err)
		return false
	}
	if sa.seen.has(h.MessageID) {
		// A recorded R-U-THERE or its ACK, sent again, would otherwise
		// keep a dead peer alive for DPD.
		e.unauth.Info("dropping replayed informational", "gateway", sa.peer.cfg.Name, "message_id", fmt.Sprintf("%08x", h.MessageID))
		return false
	}
	sa.seen.add(h.MessageID)
	e.authenticated(sa, d)
	for _, p := range m.Payloads[1:] {
		switch p := p.(type) {
		case *isakmp.Notification:
			e.handleNotify(sa, p)
		case *isakmp.Delete:
			e.handleDelete(sa, p)
		}
	}
	return true
}

// plainInformational handles the unprotected notifies a peer sends before
// phase 1 completes. Anyone who saw the cookies can send one, so they do
// not end the negotiation: the reason is logged (rate-limited) and kept for
// the timeout's log line, when the real peer stops answering.
func (e *Engine) plainInformational(sa *IKESA, b []byte) {
	if sa.state == established {
		return // after phase 1 only protected messages count
	}
	m, err := isakmp.Decode(b)
	if err != nil {
		return
	}
	for _, n := range isakmp.FindAll[*isakmp.Notification](m.Payloads) {
		args := []any{"gateway", sa.peer.cfg.Name, "remote", sa.remote}
		switch n.Notify {
		case isakmp.NotifyNoProposalChosen:
			sa.peerSaid = "NO-PROPOSAL-CHOSEN"
			e.unauth.Warn("peer rejected our phase 1 proposals: NO-PROPOSAL-CHOSEN", append(args, "our_proposals", joinStrings(sa.peer.cfg.Proposals))...)
		case isakmp.NotifyAuthenticationFailed:
			sa.peerSaid = "AUTHENTICATION-FAILED: pre-shared key mismatch"
			e.unauth.Warn("peer reported AUTHENTICATION-FAILED: pre-shared key mismatch", args...)
		case isakmp.NotifyInvalidIDInformation:
			sa.peerSaid = "INVALID-ID-INFORMATION"
			e.unauth.Warn("peer reported INVALID-ID-INFORMATION: it does not accept our IKE identity", append(args, "local_id", e.localID(sa).String())...)
		default:
			e.unauth.Info("peer sent a notify during phase 1", append(args, "notify", n.Notify.String())...)
		}
	}
}

func (e *Engine) handleNotify(sa *IKESA, n *isakmp.Notification) {
	switch n.Notify {
	case isakmp.NotifyRUThere:
		ack := &isakmp.Notification{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, Notify: isakmp.NotifyRUThereAck, SPI: n.SPI, Data: n.Data}
		e.sendInformational(sa, ack)
	case isakmp.NotifyRUThereAck:
		if len(n.Data) == 4 && binary.BigEndian.Uint32(n.Data) == sa.dpdSeq {
			sa.dpdOutstanding = 0
		}
	case isakmp.NotifyInvalidIDInformation, isakmp.NotifyNoProposalChosen:
		for mid, ex := range sa.exchanges {
			if ex.initiator && ex.state == qmSent1 {
				l, r := proxyID(ex.child.cfg)
				e.env.Log.Warn(fmt.Sprintf("peer rejected quick mode: %v", n.Notify), "gateway", sa.peer.cfg.Name,
					"tunnel", ex.child.cfg.Name, "local_id", l.String(), "remote_id", r.String(), "our_proposals", joinStrings(ex.child.cfg.Proposals))
				ex.child.negotiating = false
				ex.child.wanted = ex.child.cfg.Immediately
				delete(sa.exchanges, mid)
			}
		}
	case isakmp.NotifyInitialContact:
		e.initialContact(sa)
	default:
		e.env.Log.Info("peer sent a notify", "gateway", sa.peer.cfg.Name, "notify", n.Notify.String())
	}
}

func (e *Engine) handleDelete(sa *IKESA, d *isakmp.Delete) {
	p := sa.peer
	switch d.Protocol {
	case isakmp.ProtoISAKMP:
		// IPsec SAs have their own deletes; a rekeyed phase 1 keeps them.
		e.env.Log.Info("peer deleted the IKE SA", "gateway", p.cfg.Name, "remote", sa.remote, slog.Bool("security", true))
		sa.state = deleted
		e.dropSA(sa)
	case isakmp.ProtoESP:
		for _, spi := range d.SPIs {
			if len(spi) != 4 {
				continue
			}
			v := spiFrom(spi)
			for _, c := range p.children {
				if c.installed != nil && c.installed.SPIOut == v {
					e.env.Log.Info("peer deleted the IPsec SA", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "spi", fmt.Sprintf("%08x", v), slog.Bool("security", true))
					e.removeChild(p, c, false)
					c.wanted = c.cfg.Immediately
				}
			}
		}
	}
}

// tickDPD sends R-U-THERE after DPDInterval without hearing from the peer,
// and declares it dead after DPDThreshold unanswered ones (RFC 3706).
func (e *Engine) tickDPD(sa *IKESA, now time.Time) {
	cfg := sa.peer.cfg
	if cfg.DPDInterval <= 0 {
		return
	}
	threshold := cfg.DPDThreshold
	if threshold <= 0 {
		threshold = 5
	}
	if sa.dpdOutstanding == 0 && now.Sub(sa.lastHeard) < cfg.DPDInterval {
		return
	}
	if sa.dpdOutstanding > 0 && now.Sub(sa.dpdSentAt) < cfg.DPDInterval {
		return
	}
	if sa.dpdOutstanding >= threshold {
		e.env.Log.Warn(fmt.Sprintf("peer %v is dead: %d R-U-THERE unanswered", sa.remote.Addr(), sa.dpdOutstanding), "gateway", cfg.Name,
			slog.Bool("security", true))
		p := sa.peer
		for _, c := range p.children {
			e.removeChild(p, c, false)
			c.wanted = c.cfg.Immediately
		}
		sa.state = deleted
		e.dropSA(sa)
		return
	}
	sa.dpdSeq++
	sa.dpdOutstanding++
	sa.dpdSentAt = now
	spi := append(append([]byte(nil), sa.ci[:]...), sa.cr[:]...)
	e.sendInformational(sa, &isakmp.Notification{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, Notify: isakmp.NotifyRUThere,
		SPI: spi, Data: binary.BigEndian.AppendUint32(nil, sa.dpdSeq)})
}
