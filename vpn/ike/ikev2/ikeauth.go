package ikev2

import (
	"crypto/hmac"
	"fmt"
	"time"
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
func tsPayloads(c ChildConfig) []Payload {
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
	e.env.Log.Info("IKE SA established", "gateway", p.cfg.Name, "remote", sa.remote, "proposal", sa.prop.String(), "natt", sa.natt(), "initiator", true)
	if n := sa.authChild; n != nil {
		sa.authChild = nil
		if n.c.nego == n {
			e.childResponse(sa, n, ps)
		}
	}
}

// established makes sa the peer's IKE SA and starts its lifetime.
func (e *Engine) established(sa *ikeSA) {
	p := sa.peer
	now := e.now()
	sa.state = ikeEstablished
	sa.created, sa.lastHeard = now, now
	if lt := sa.prop.Lifetime; lt > 0 {
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
	if idi == nil || auth == nil {
		e.env.Log.Warn("IKE_AUTH without IDi or AUTH (EAP is not supported)", "gateway", p.cfg.Name, "remote", sa.remote.Addr())
		return []Payload{&Notify{NotifyType: AuthenticationFailed}}, closeAfter
	}
	want := pskAuth(sa.prop.PRF, p.cfg.PSK, sa.initReq, sa.nr, sa.keys.pi, idi.AppendBody(nil))
	if auth.Method != AuthSharedKey || !hmac.Equal(auth.Data, want) {
		e.env.Log.Warn(fmt.Sprintf("IKE_AUTH from %v (%v): the AUTH payload does not verify: pre-shared key mismatch for gateway %s; answering AUTHENTICATION_FAILED",
			sa.remote.Addr(), idi, p.cfg.Name), "gateway", p.cfg.Name)
		return []Payload{&Notify{NotifyType: AuthenticationFailed}}, closeAfter
	}
	if p.cfg.RemoteID != nil && !p.cfg.RemoteID.Equal(idi) {
		e.env.Log.Warn(fmt.Sprintf("IKE_AUTH from %v: the peer identifies as %v, remote-identity of gateway %s is %v; answering AUTHENTICATION_FAILED",
			sa.remote.Addr(), idi, p.cfg.Name, p.cfg.RemoteID), "gateway", p.cfg.Name)
		return []Payload{&Notify{NotifyType: AuthenticationFailed}}, closeAfter
	}
	if FindNotify(ps, InitialContact) != nil {
		// The peer has no other IKE SA with us: anything we still hold is stale.
		for _, o := range e.sas {
			if o != sa && o.peer == p && o.state != ikeHalfOpen {
				e.env.Log.Info("INITIAL_CONTACT: dropping the previous IKE SA", "gateway", p.cfg.Name, "index", o.index)
				e.closeIKE(o)
			}
		}
		for _, c := range p.children {
			for _, cs := range append([]*childSA(nil), c.sas...) {
				e.uninstall(p, cs)
			}
			e.abortNego(c)
		}
	}
	delete(e.halfOpen, sa.halfOpen)
	p.responders--
	sa.peerID = idi
	e.established(sa)
	e.env.Log.Info("IKE SA established", "gateway", p.cfg.Name, "remote", sa.remote, "proposal", sa.prop.String(), "natt", sa.natt(), "initiator", false)
	idr := e.localID(sa, false)
	out := []Payload{idr, &Auth{Method: AuthSharedKey, Data: pskAuth(sa.prop.PRF, p.cfg.PSK, sa.initResp, sa.ni, sa.keys.pr, idr.AppendBody(nil))}}
	if Find(ps, PayloadSA) != nil {
		out = append(out, e.respondChild(sa, ps, sa.ni, true)...)
	}
	return out, nil
}

// deadlineAfterRekey is how long a replaced SA waits for the peer's delete.
const deadlineAfterRekey = time.Minute
