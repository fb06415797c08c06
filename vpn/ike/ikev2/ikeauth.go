package ikev2

import (
	"crypto/hmac"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/palisade/palisade/vpn/ike/seam"
)

func (e *Engine) localID(sa *ikeSA, initiator bool) *ID {
	id := sa.peer.cfg.LocalID
	if id == nil {
		id = IDAddr(sa.local.Addr())
	}
	return &ID{Initiator: initiator, IDType: id.IDType, Data: id.Data}
}

// sendAuth sends IKE_AUTH: our identity and AUTH, and the first Child SA
// wanted, if any (RFC 7296 1.2).
func (e *Engine) sendAuth(sa *ikeSA) {
	p := sa.peer
	id := e.localID(sa, true)
	ps := []Payload{id}
	if p.ike == nil {
		// No other IKE SA with this peer: whatever it still holds from us is stale (RFC 7296 2.4).
		ps = append(ps, &Notify{NotifyType: InitialContact})
	}
	ps = append(ps, &Auth{Method: AuthSharedKey, Data: pskAuth(sa.prop.PRF, p.cfg.PSK, sa.initReq, sa.nr, sa.keys.pi, id.AppendBody(nil))})
	for _, c := range p.children {
		if c.wanted && c.current() == nil && c.nego == nil {
			n := &childNego{sa: sa, c: c, spiIn: e.randomSPI(), ni: sa.ni, inAuth: true}
			c.nego, sa.authChild = n, n
			ps = append(ps, espSAPayload(c.cfg.Proposals, n.spiIn, 0))
			ps = append(ps, tsPayloads(c.cfg)...)
			break
		}
	}
	e.enqueue(sa, &request{exch: IKEAuth, what: "IKE_AUTH", build: func() ([]Payload, bool) { return ps, true },
		onResponse: func(h Header, rps []Payload) { e.handleAuthResponse(sa, rps) }})
}

// tsPayloads returns TSi and TSr for a tunnel as its initiator sees it.
func tsPayloads(c seam.ChildConfig) []Payload {
	return []Payload{
		&TS{Initiator: true, Selectors: []Selector{SelectorFor(c.Local, c.Protocol, c.LocalPort)}},
		&TS{Selectors: []Selector{SelectorFor(c.Remote, c.Protocol, c.RemotePort)}},
	}
}

func (e *Engine) handleAuthResponse(sa *ikeSA, ps []Payload) {
	p := sa.peer
	for _, n := range Notifies(ps) {
		if n.NotifyType == AuthenticationFailed {
			e.fail(sa, fmt.Sprintf("IKE_AUTH: %v rejected our authentication (AUTHENTICATION_FAILED): the pre-shared keys of gateway %s differ, or the peer does not accept our identity %v",
				sa.remote.Addr(), p.cfg.Name, e.localID(sa, true)))
			return
		}
	}
	idr, _ := Find(ps, PayloadIDr).(*ID)
	auth, _ := Find(ps, PayloadAuth).(*Auth)
	if idr == nil || auth == nil {
		for _, n := range Notifies(ps) {
			if n.NotifyType.IsError() {
				e.fail(sa, fmt.Sprintf("IKE_AUTH: the peer answered %v", n.NotifyType))
				return
			}
		}
		e.fail(sa, "IKE_AUTH: the response lacks IDr or AUTH")
		return
	}
	want := pskAuth(sa.prop.PRF, p.cfg.PSK, sa.initResp, sa.ni, sa.keys.pr, idr.AppendBody(nil))
	if auth.Method != AuthSharedKey || !hmac.Equal(auth.Data, want) {
		e.fail(sa, fmt.Sprintf("IKE_AUTH: the AUTH payload of %v (%v) does not verify: pre-shared key mismatch for gateway %s", sa.remote.Addr(), idr, p.cfg.Name))
		return
	}
	if p.cfg.RemoteID != nil && !p.cfg.RemoteID.Equal(idr) {
		e.fail(sa, fmt.Sprintf("IKE_AUTH: the peer identifies as %v, remote-identity of gateway %s is %v", idr, p.cfg.Name, p.cfg.RemoteID))
		return
	}
	sa.peerID = idr
	e.established(sa)
	e.security("IKE SA established", "gateway", p.cfg.Name, "remote", sa.remote, "peer_id", idr.String(), "proposal", sa.prop.String(), "natt", sa.natt(), "initiator", true)
	// Before the child: deletes the child's collision rule sends must go
	// over the IKE SA that stays.
	e.resolveTwins(sa)
	if n := sa.authChild; n != nil {
		sa.authChild = nil
		if n.c.nego == n {
			e.childResponse(sa, n, ps)
		}
	}
}

// resolveTwins runs when sa has just authenticated. If the peer started an
// IKE SA with us while we started sa (or the other way round), both may
// authenticate; then each end has the same two IKE SAs and deletes the one
// holding the lowest of the four nonces, the rule RFC 7296 2.8.1 has for
// rekeys, so that both keep the same one. Only authenticated SAs are
// compared: a half-open SA proves nothing about who made it.
func (e *Engine) resolveTwins(sa *ikeSA) {
	p := sa.peer
	for _, o := range e.sas {
		if o == sa || o.peer != p || o.state != ikeEstablished || o.startSeq == 0 || o.initiator == sa.initiator ||
			o.authSeq < sa.startSeq || !o.peerID.Equal(sa.peerID) {
			continue
		}
		loser, keep := o, sa
		if lowestIsOurs(sa.ni, sa.nr, o.ni, o.nr) {
			loser, keep = sa, o
		}
		e.env.Log.Info("two IKE SAs negotiated at once: deleting the one with the lowest nonce", "gateway", p.cfg.Name,
			"deleting", loser.index, "keeping", keep.index)
		if p.ike == loser {
			p.ike = keep
		}
		e.deleteIKE(loser)
		return
	}
}

// maxLifetime bounds configured lifetimes so that the arithmetic on them
// (rekey at 90%) cannot wrap into the past; nothing received sets one
// (IKEv2 negotiates none, RFC 7296 2.8), but the configuration may say
// anything.
const maxLifetime = 10 * 365 * 24 * time.Hour

func clampLifetime(lt time.Duration) time.Duration { return min(lt, maxLifetime) }

// established makes sa the peer's IKE SA and starts its lifetime.
func (e *Engine) established(sa *ikeSA) {
	p := sa.peer
	now := e.now()
	sa.state = ikeEstablished
	sa.created, sa.lastHeard = now, now
	sa.authSeq = e.next()
	if lt := clampLifetime(sa.prop.Lifetime); lt > 0 {
		sa.expires = now.Add(lt)
		sa.rekeyAt = now.Add(lt*9/10 - e.jitter(lt/20))
	}
	if p.negotiating == sa {
		p.negotiating = nil
	}
	p.ike = sa
	sa.dh = nil
}

// handleAuthRequest authenticates the initiator and answers with our
// identity, AUTH and the first Child SA.
func (e *Engine) handleAuthRequest(sa *ikeSA, ps []Payload) ([]Payload, func()) {
	p := sa.peer
	closeAfter := func() { e.closeIKE(sa) }
	idi, _ := Find(ps, PayloadIDi).(*ID)
	auth, _ := Find(ps, PayloadAuth).(*Auth)
	// Until AUTH verifies, whoever sent IKE_SA_INIT may be anyone: every
	// line here is rate-limited.
	if idi == nil || auth == nil {
		e.rl.Warn("IKE_AUTH without IDi or AUTH (EAP is not supported)", "gateway", p.cfg.Name, "remote", sa.remote.Addr())
		return []Payload{&Notify{NotifyType: AuthenticationFailed}}, closeAfter
	}
	if p.cfg.dynamic() {
		np, err := e.gatewayByID(idi, sa.prop)
		if err != nil {
			e.rl.Warn("IKE_AUTH: no dynamic gateway for the peer's identity; answering AUTHENTICATION_FAILED",
				"remote", sa.remote.Addr(), "identity", idi.String(), "err", err)
			return []Payload{&Notify{NotifyType: AuthenticationFailed}}, closeAfter
		}
		if np != p {
			p.responders--
			np.responders++
			sa.peer, p = np, np
		}
	}
	want := pskAuth(sa.prop.PRF, p.cfg.PSK, sa.initReq, sa.nr, sa.keys.pi, idi.AppendBody(nil))
	if auth.Method != AuthSharedKey || !hmac.Equal(auth.Data, want) {
		e.rl.Warn("IKE_AUTH: the AUTH payload does not verify; answering AUTHENTICATION_FAILED", "gateway", p.cfg.Name,
			"detail", fmt.Sprintf("IKE_AUTH from %v (%v): the AUTH payload does not verify: pre-shared key mismatch for gateway %s; answering AUTHENTICATION_FAILED",
				sa.remote.Addr(), idi, p.cfg.Name))
		return []Payload{&Notify{NotifyType: AuthenticationFailed}}, closeAfter
	}
	if p.cfg.RemoteID != nil && !p.cfg.RemoteID.Equal(idi) {
		e.rl.Warn("IKE_AUTH: unexpected identity; answering AUTHENTICATION_FAILED", "gateway", p.cfg.Name,
			"detail", fmt.Sprintf("IKE_AUTH from %v: the peer identifies as %v, remote-identity of gateway %s is %v; answering AUTHENTICATION_FAILED",
				sa.remote.Addr(), idi, p.cfg.Name, p.cfg.RemoteID))
		return []Payload{&Notify{NotifyType: AuthenticationFailed}}, closeAfter
	}
	delete(e.halfOpen, sa.halfOpen)
	p.responders--
	sa.peerID = idi
	e.established(sa)
	e.security("IKE SA established", "gateway", p.cfg.Name, "remote", sa.remote, "peer_id", idi.String(), "proposal", sa.prop.String(), "natt", sa.natt(), "initiator", false)
	if FindNotify(ps, InitialContact) != nil {
		e.initialContact(sa)
	}
	idr := e.localID(sa, false)
	out := []Payload{idr, &Auth{Method: AuthSharedKey, Data: pskAuth(sa.prop.PRF, p.cfg.PSK, sa.initResp, sa.ni, sa.keys.pr, idr.AppendBody(nil))}}
	if Find(ps, PayloadSA) != nil {
		out = append(out, e.respondChild(sa, ps, sa.ni, true)...)
	}
	return out, func() { e.resolveTwins(sa) }
}

// gatewayByID picks the dynamic gateway for the identity the initiator
// sent: the one whose remote-identity is exactly id, else the only dynamic
// gateway without remote-identity. Its proposals must include prop, which
// IKE_SA_INIT chose before the identity was known.
func (e *Engine) gatewayByID(id *ID, prop Proposal) (*peer, error) {
	var exact, open []*peer
	for _, p := range e.peers {
		switch {
		case !p.cfg.dynamic():
		case p.cfg.RemoteID == nil:
			open = append(open, p)
		case p.cfg.RemoteID.Equal(id):
			exact = append(exact, p)
		}
	}
	var p *peer
	switch {
	case len(exact) > 0:
		sort.Slice(exact, func(i, j int) bool { return exact[i].cfg.Name < exact[j].cfg.Name })
		p = exact[0]
	case len(open) == 1:
		p = open[0]
	case len(open) > 1:
		return nil, fmt.Errorf("no gateway has remote-identity %v, and %d dynamic gateways have none, so none can be chosen", id, len(open))
	default:
		return nil, fmt.Errorf("no dynamic gateway has remote-identity %v", id)
	}
	if _, err := ourProposal(p.cfg.Proposals, prop); err != nil {
		return nil, fmt.Errorf("gateway %s: %w", p.cfg.Name, err)
	}
	return p, nil
}

// initialContact handles INITIAL_CONTACT in the IKE_AUTH that established
// sa: the peer holds no other IKE SA with us (RFC 7296 2.4), so the
// established ones we keep with the same peer are stale. Only those: the
// same gateway (and, on a dynamic gateway, which many peers share, the same
// authenticated identity), established before sa's negotiation began.
// Exchanges in progress and an IKE SA negotiated at the same time as sa
// (resolveTwins decides) are left alone. The peer hears a Delete for each,
// so that if it still had one after all, both ends agree.
func (e *Engine) initialContact(sa *ikeSA) {
	p := sa.peer
	stale := map[netip.Addr]bool{}
	for _, o := range e.sas {
		if o == sa || o.peer != p || o.state != ikeEstablished && o.state != ikeRekeyed || o.authSeq > sa.startSeq {
			continue
		}
		if p.cfg.dynamic() && !o.peerID.Equal(sa.peerID) {
			continue
		}
		e.security("INITIAL_CONTACT: deleting the previous IKE SA", "gateway", p.cfg.Name, "index", o.index, "peer_id", o.peerID.String())
		e.sendNow(o, Informational, []Payload{&Delete{Protocol: ProtoIKE}})
		stale[o.remote.Addr()] = true
		e.closeIKE(o)
	}
	// Child SAs are the gateway's, not an IKE SA's: those the peer made
	// from the same address before sa began went with its old IKE SAs.
	for _, c := range p.children {
		for _, cs := range append([]*childSA(nil), c.sas...) {
			if stale[cs.sa.Remote] && cs.seq < sa.startSeq {
				e.uninstall(p, cs)
			}
		}
	}
}

// deadlineAfterRekey is how long a replaced SA waits for the peer's delete.
const deadlineAfterRekey = time.Minute
