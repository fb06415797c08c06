package ikev2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/palisade/palisade/vpn/ike/seam"
)

// startChild sends CREATE_CHILD_SA for a new Child SA of c, or to rekey old.
func (e *Engine) startChild(sa *ikeSA, c *child, old *childSA) {
	p := sa.peer
	n := &childNego{sa: sa, c: c, old: old, spiIn: e.randomSPI(), ni: e.random(nonceLen)}
	if c.cfg.PFS != 0 {
		k, err := c.cfg.PFS.GenerateKey(e.env.Rand)
		if err != nil {
			e.env.Log.Error("CREATE_CHILD_SA", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "err", err)
			c.nextAttempt = e.now().Add(e.cfg.RetryAfter)
			return
		}
		n.dh = k
	}
	c.nego = n
	tun := c.cfg
	var ps []Payload
	what := "CREATE_CHILD_SA for tunnel " + c.cfg.Name
	if old != nil {
		old.state = csRekeying
		tun = old.sa.Tunnel
		ps = append(ps, &Notify{Protocol: ProtoESP, SPI: binary.BigEndian.AppendUint32(nil, old.sa.SPIIn), NotifyType: RekeySA})
		what = "CREATE_CHILD_SA rekeying tunnel " + c.cfg.Name
	}
	ps = append(ps, espSAPayload(c.cfg.Proposals, n.spiIn, c.cfg.PFS), &Nonce{Data: n.ni})
	if n.dh != nil {
		ps = append(ps, &KE{Group: uint16(n.dh.Group()), Data: n.dh.Public()})
	}
	ps = append(ps, tsPayloads(tun)...)
	e.enqueue(sa, &request{exch: CreateChildSA, what: what,
		build: func() ([]Payload, bool) { return ps, c.nego == n },
		onResponse: func(h Header, rps []Payload) {
			if c.nego == n {
				e.childResponse(sa, n, rps)
			}
		}})
}

// childResponse completes our Child SA negotiation (CREATE_CHILD_SA, or the
// child part of IKE_AUTH).
func (e *Engine) childResponse(sa *ikeSA, n *childNego, ps []Payload) {
	c, p, now := n.c, sa.peer, e.now()
	c.nego = nil
	retry := func() {
		if n.old != nil && n.old.state == csRekeying {
			n.old.state = csInstalled
			n.old.rekeyAt = now.Add(e.cfg.RetryAfter + e.jitter(e.cfg.RetryAfter))
		} else {
			c.nextAttempt = now.Add(e.cfg.RetryAfter + e.jitter(e.cfg.RetryAfter))
		}
	}
	tun := c.cfg
	if n.old != nil {
		tun = n.old.sa.Tunnel
	}
	for _, x := range Notifies(ps) {
		if !x.NotifyType.IsError() {
			continue
		}
		log := e.env.Log.With("gateway", p.cfg.Name, "tunnel", c.cfg.Name)
		switch x.NotifyType {
		case TSUnacceptable:
			l, r := tsPayloads(tun)[0].(*TS), tsPayloads(tun)[1].(*TS)
			log.Warn(fmt.Sprintf("%v refused our traffic selectors TSi=%v TSr=%v (TS_UNACCEPTABLE): its proxy-id for this tunnel must mirror ours", sa.remote.Addr(), l, r))
		case NoProposalChosen:
			log.Warn(fmt.Sprintf("%v accepted none of our ESP proposals %s (NO_PROPOSAL_CHOSEN)", sa.remote.Addr(), childOffers(c.cfg.Proposals, c.cfg.PFS)))
		case TemporaryFailure:
			if old := n.old; old != nil && old.collision != nil {
				// The peer was deleting or had rekeyed the SA itself: its new SA replaces it.
				log.Debug("rekey collision: the peer's rekey stands")
				old.state, old.deadline, old.collision = csRekeyed, now.Add(deadlineAfterRekey), nil
				return
			}
			if c.peerNew != nil {
				c.peerNew = nil
				return
			}
			log.Info("the peer answered TEMPORARY_FAILURE; retrying later")
		case ChildSANotFound:
			if n.old != nil {
				log.Info("the peer no longer has the SA we rekeyed; negotiating a new one")
				e.uninstall(p, n.old)
				return
			}
		default:
			log.Warn(fmt.Sprintf("CREATE_CHILD_SA: the peer answered %v", x.NotifyType))
		}
		retry()
		return
	}
	saP, _ := Find(ps, PayloadSA).(*SA)
	tsi, _ := Find(ps, PayloadTSi).(*TS)
	tsr, _ := Find(ps, PayloadTSr).(*TS)
	nr := sa.nr
	if !n.inAuth {
		nonce, _ := Find(ps, PayloadNonce).(*Nonce)
		if nonce == nil {
			saP = nil
		} else {
			nr = nonce.Data
		}
	}
	if saP == nil || tsi == nil || tsr == nil || len(tsi.Selectors) == 0 || len(tsr.Selectors) == 0 {
		e.env.Log.Warn("Child SA response lacks SA, nonce or traffic selectors", "gateway", p.cfg.Name, "tunnel", c.cfg.Name)
		retry()
		return
	}
	prop, spiOut, err := parseESP(saP, c.cfg.Proposals)
	if err != nil {
		e.env.Log.Warn("Child SA response", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "err", err)
		retry()
		return
	}
	ourL, ourR := SelectorFor(tun.Local, tun.Protocol, tun.LocalPort), SelectorFor(tun.Remote, tun.Protocol, tun.RemotePort)
	l, okL := narrowSel(tsi.Selectors[0], ourL)
	r, okR := narrowSel(tsr.Selectors[0], ourR)
	if !okL || !okR || l != tsi.Selectors[0] || r != tsr.Selectors[0] {
		e.env.Log.Warn(fmt.Sprintf("%v answered traffic selectors TSi=%v TSr=%v outside ours TSi=%v TSr=%v", sa.remote.Addr(), tsi, tsr, ourL, ourR),
			"gateway", p.cfg.Name, "tunnel", c.cfg.Name)
		retry()
		return
	}
	var shared []byte
	if n.dh != nil {
		ke, _ := Find(ps, PayloadKE).(*KE)
		if ke == nil || ke.Group != uint16(n.dh.Group()) {
			e.env.Log.Warn("CREATE_CHILD_SA response lacks the KE payload PFS needs", "gateway", p.cfg.Name, "tunnel", c.cfg.Name)
			retry()
			return
		}
		if shared, err = n.dh.SharedSecret(ke.Data); err != nil {
			e.env.Log.Warn("CREATE_CHILD_SA: the peer's public value", "gateway", p.cfg.Name, "err", err)
			retry()
			return
		}
	}
	encI, authI, encR, authR := childKeys(sa.prop.PRF, sa.keys.d, shared, n.ni, nr, prop.Suite)
	cs := e.installChild(sa, c, narrowed(tun, l, r), prop, n.spiIn, spiOut, encR, authR, encI, authI)
	if cs == nil {
		retry()
		return
	}
	switch {
	case n.old != nil && n.old.collision != nil:
		old, coll := n.old, n.old.collision
		old.collision = nil
		if lowestIsOurs(n.ni, nr, coll.ni, coll.nr) {
			e.env.Log.Info("rekey collision: our exchange has the lowest nonce, deleting its SA (RFC 7296 2.8.1)", "gateway", p.cfg.Name, "tunnel", c.cfg.Name)
			e.deleteChildSA(p, cs)
			old.state, old.deadline = csRekeyed, now.Add(deadlineAfterRekey)
		} else {
			e.env.Log.Info("rekey collision: the peer's exchange has the lowest nonce, it deletes its SA (RFC 7296 2.8.1)", "gateway", p.cfg.Name, "tunnel", c.cfg.Name)
			coll.cs.state, coll.cs.deadline = csRekeyed, now.Add(deadlineAfterRekey)
			e.deleteChildSA(p, old)
		}
	case n.old != nil:
		if e.hasSA(c, n.old) {
			e.deleteChildSA(p, n.old)
		}
	case c.peerNew != nil:
		coll := c.peerNew
		c.peerNew = nil
		if lowestIsOurs(n.ni, nr, coll.ni, coll.nr) {
			e.deleteChildSA(p, cs)
		} else {
			coll.cs.state, coll.cs.deadline = csRekeyed, now.Add(deadlineAfterRekey)
		}
	}
}

func (e *Engine) hasSA(c *child, cs *childSA) bool {
	for _, x := range c.sas {
		if x == cs {
			return true
		}
	}
	return false
}

// lowestIsOurs reports whether the lowest of the four nonces of two
// colliding exchanges is in ours: the SA it created is then redundant and
// ours to delete (RFC 7296 2.8.1).
func lowestIsOurs(ourNi, ourNr, theirNi, theirNr []byte) bool {
	low, ours := ourNi, true
	for i, x := range [][]byte{ourNr, theirNi, theirNr} {
		if bytes.Compare(x, low) < 0 {
			low, ours = x, i == 0
		}
	}
	return ours
}

// narrowed returns the tunnel configuration with the negotiated selectors.
func narrowed(c seam.ChildConfig, local, remote Selector) seam.ChildConfig {
	lp, _ := local.Prefix()
	rp, _ := remote.Prefix()
	c.Local, c.Remote, c.Protocol = lp, rp, local.Protocol
	c.LocalPort, c.RemotePort = singlePort(local), singlePort(remote)
	return c
}

func singlePort(s Selector) uint16 {
	if s.StartPort == s.EndPort {
		return s.StartPort
	}
	return 0
}

// installChild installs a negotiated Child SA pair.
func (e *Engine) installChild(sa *ikeSA, c *child, tun seam.ChildConfig, prop seam.ChildProposal, spiIn, spiOut uint32, encIn, authIn, encOut, authOut []byte) *childSA {
	p, now := sa.peer, e.now()
	x := &seam.ChildSA{Peer: p.cfg.Name, Tunnel: tun, Local: sa.local.Addr(), Remote: sa.remote.Addr(), Suite: prop.Suite,
		SPIIn: spiIn, SPIOut: spiOut, EncIn: encIn, AuthIn: authIn, EncOut: encOut, AuthOut: authOut,
		Lifetime: clampLifetime(prop.Lifetime), LifetimeKB: prop.LifetimeKB, Established: now}
	if sa.natt() {
		x.EncapLocal, x.EncapRemote = sa.local.Port(), sa.remote.Port()
	}
	if err := e.env.Installer.Install(x); err != nil {
		e.env.Log.Error("installing IPsec SA", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "err", err)
		return nil
	}
	cs := &childSA{sa: x, child: c, state: csInstalled, ike: sa, seq: e.next()}
	if lt := clampLifetime(prop.Lifetime); lt > 0 {
		cs.expireAt = now.Add(lt)
		cs.rekeyAt = now.Add(lt*9/10 - e.jitter(lt/20))
	}
	c.sas = append(c.sas, cs)
	sa.childrenCreated++
	e.security("IPsec SA established", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "spi_in", fmt.Sprintf("%08x", spiIn),
		"spi_out", fmt.Sprintf("%08x", spiOut), "suite", prop.Suite.String(), "local_ts", tun.Local, "remote_ts", tun.Remote)
	return cs
}

// deleteChildSA tells the peer and uninstalls once it answered.
func (e *Engine) deleteChildSA(p *peer, cs *childSA) {
	if cs.state == csDeleting {
		return
	}
	cs.state = csDeleting
	sa := p.ike
	if sa == nil || sa.state != ikeEstablished && sa.state != ikeRekeyed {
		e.uninstall(p, cs)
		return
	}
	done := func() { e.uninstall(p, cs) }
	e.enqueue(sa, &request{exch: Informational, what: "delete of IPsec SA " + fmt.Sprintf("%08x", cs.sa.SPIIn),
		build:      func() ([]Payload, bool) { return []Payload{DeleteESP(cs.sa.SPIIn)}, e.hasSA(cs.child, cs) },
		onResponse: func(Header, []Payload) { done() }})
}

// removeChild deletes all SAs of a tunnel (telling the peer with notify)
// and uninstalls them at once.
func (e *Engine) removeChild(p *peer, c *child, notify bool) {
	var spis []uint32
	for _, cs := range append([]*childSA(nil), c.sas...) {
		spis = append(spis, cs.sa.SPIIn)
		e.uninstall(p, cs)
	}
	e.abortNego(c)
	if sa := p.ike; notify && len(spis) > 0 && sa != nil && sa.state == ikeEstablished {
		e.enqueue(sa, &request{exch: Informational, what: "delete of tunnel " + c.cfg.Name,
			build: func() ([]Payload, bool) { return []Payload{DeleteESP(spis...)}, true }, onResponse: func(Header, []Payload) {}})
	}
}

func (e *Engine) findByOut(p *peer, spi uint32) *childSA {
	for _, c := range p.children {
		for _, cs := range c.sas {
			if cs.sa.SPIOut == spi {
				return cs
			}
		}
	}
	return nil
}

// freshWindow is how long after its creation a Child SA makes a peer's
// request for another one a collision rather than a replacement.
const freshWindow = 30 * time.Second

// respondChild answers the Child SA part of IKE_AUTH or CREATE_CHILD_SA:
// SA, [Nr, KEr,] TSi, TSr, or an error notify.
func (e *Engine) respondChild(sa *ikeSA, ps []Payload, ni []byte, inAuth bool) []Payload {
	p, now := sa.peer, e.now()
	saP, _ := Find(ps, PayloadSA).(*SA)
	tsi, _ := Find(ps, PayloadTSi).(*TS)
	tsr, _ := Find(ps, PayloadTSr).(*TS)
	if saP == nil || tsi == nil || tsr == nil {
		return []Payload{&Notify{NotifyType: InvalidSyntax}}
	}
	var c *child
	var old *childSA
	var rsel, lsel Selector
	if n := FindNotify(ps, RekeySA); n != nil && !inAuth {
		if n.Protocol != ProtoESP || len(n.SPI) != 4 {
			return []Payload{&Notify{NotifyType: InvalidSyntax}}
		}
		old = e.findByOut(p, binary.BigEndian.Uint32(n.SPI))
		switch {
		case old == nil:
			return []Payload{&Notify{Protocol: ProtoESP, SPI: n.SPI, NotifyType: ChildSANotFound}}
		case old.state == csDeleting:
			return []Payload{&Notify{NotifyType: TemporaryFailure}} // RFC 7296 2.25.1
		}
		c = old.child
		t := old.sa.Tunnel
		lsel, rsel = SelectorFor(t.Local, t.Protocol, t.LocalPort), SelectorFor(t.Remote, t.Protocol, t.RemotePort)
	} else {
		c, rsel, lsel = e.selectChild(p, tsi, tsr)
		if c == nil {
			var ours []string
			for _, x := range p.children {
				ours = append(ours, fmt.Sprintf("%s: local %v remote %v", x.cfg.Name,
					SelectorFor(x.cfg.Local, x.cfg.Protocol, x.cfg.LocalPort), SelectorFor(x.cfg.Remote, x.cfg.Protocol, x.cfg.RemotePort)))
			}
			e.env.Log.Warn(fmt.Sprintf("traffic selectors unacceptable: %v proposed TSi=%v TSr=%v (its local, its remote); gateway %s has %v; answering TS_UNACCEPTABLE",
				sa.remote.Addr(), tsi, tsr, p.cfg.Name, ours), "gateway", p.cfg.Name)
			return []Payload{&Notify{NotifyType: TSUnacceptable}}
		}
		if cur := c.current(); cur != nil && c.nego == nil && now.Sub(cur.sa.Established) < freshWindow {
			return []Payload{&Notify{NotifyType: TemporaryFailure}} // our creation of it crossed the peer's
		}
	}
	pfs := c.cfg.PFS
	if inAuth {
		pfs = 0
	}
	prop, spiOut, reply, ok := selectESP(c.cfg.Proposals, pfs, inAuth, saP)
	if !ok {
		e.env.Log.Warn(fmt.Sprintf("no proposal chosen for tunnel %s: %v offered %s, we accept %s; answering NO_PROPOSAL_CHOSEN",
			c.cfg.Name, sa.remote.Addr(), offersString(saP), childOffers(c.cfg.Proposals, pfs)), "gateway", p.cfg.Name)
		return []Payload{&Notify{NotifyType: NoProposalChosen}}
	}
	nr := sa.nr
	var shared []byte
	var ke *KE
	if !inAuth {
		nr = e.random(nonceLen)
	}
	if pfs != 0 {
		kei, _ := Find(ps, PayloadKE).(*KE)
		if kei == nil || kei.Group != uint16(pfs) {
			return []Payload{&Notify{NotifyType: InvalidKEPayload, Data: binary.BigEndian.AppendUint16(nil, uint16(pfs))}}
		}
		k, err := pfs.GenerateKey(e.env.Rand)
		if err == nil {
			shared, err = k.SharedSecret(kei.Data)
		}
		if err != nil {
			e.env.Log.Warn("CREATE_CHILD_SA: PFS", "gateway", p.cfg.Name, "err", err)
			return []Payload{&Notify{NotifyType: NoProposalChosen}}
		}
		ke = &KE{Group: uint16(pfs), Data: k.Public()}
	}
	spiIn := e.randomSPI()
	reply.SPI = binary.BigEndian.AppendUint32(nil, spiIn)
	encI, authI, encR, authR := childKeys(sa.prop.PRF, sa.keys.d, shared, ni, nr, prop.Suite)
	cs := e.installChild(sa, c, narrowed(c.cfg, lsel, rsel), prop, spiIn, spiOut, encI, authI, encR, authR)
	if cs == nil {
		return []Payload{&Notify{NotifyType: TemporaryFailure}}
	}
	switch {
	case old != nil && old.state == csRekeying:
		old.collision = &collision{cs: cs, ni: ni, nr: nr}
	case old != nil:
		old.state, old.deadline = csRekeyed, now.Add(deadlineAfterRekey)
	case c.nego != nil && c.nego.old == nil:
		c.peerNew = &collision{cs: cs, ni: ni, nr: nr}
	}
	out := []Payload{&SA{Proposals: []SAProposal{reply}}}
	if !inAuth {
		out = append(out, &Nonce{Data: nr})
	}
	if ke != nil {
		out = append(out, ke)
	}
	return append(out, &TS{Initiator: true, Selectors: []Selector{rsel}}, &TS{Selectors: []Selector{lsel}})
}

// selectChild finds the tunnel whose proxy-id fits the initiator's
// selectors, narrowing them to ours (RFC 7296 2.9). TSi is the peer's side.
func (e *Engine) selectChild(p *peer, tsi, tsr *TS) (*child, Selector, Selector) {
	for _, c := range p.children {
		ourL := SelectorFor(c.cfg.Local, c.cfg.Protocol, c.cfg.LocalPort)
		ourR := SelectorFor(c.cfg.Remote, c.cfg.Protocol, c.cfg.RemotePort)
		for _, ti := range tsi.Selectors {
			r, ok := narrowSel(ti, ourR)
			if !ok {
				continue
			}
			for _, tr := range tsr.Selectors {
				if l, ok := narrowSel(tr, ourL); ok {
					return c, r, l
				}
			}
		}
	}
	return nil, Selector{}, Selector{}
}

// narrowSel intersects the peer's selector with ours. The result must be
// one of the two (ours when the peer's is wider, the peer's when narrower),
// an address prefix, and a single port or all: what an XFRM selector holds.
func narrowSel(theirs, ours Selector) (Selector, bool) {
	i, ok := intersect(theirs, ours)
	if !ok || (i != theirs && i != ours) {
		return Selector{}, false
	}
	if _, isPrefix := i.Prefix(); !isPrefix || (i.StartPort != i.EndPort && (i.StartPort != 0 || i.EndPort != 0xffff)) {
		return Selector{}, false
	}
	return i, true
}

func intersect(a, b Selector) (Selector, bool) {
	if a.TSType != b.TSType {
		return Selector{}, false
	}
	i := a
	switch {
	case a.Protocol == b.Protocol:
	case a.Protocol == 0:
		i.Protocol = b.Protocol
	case b.Protocol == 0:
	default:
		return Selector{}, false
	}
	i.StartPort, i.EndPort = max(a.StartPort, b.StartPort), min(a.EndPort, b.EndPort)
	if a.Start.Less(b.Start) {
		i.Start = b.Start
	}
	if b.End.Less(a.End) {
		i.End = b.End
	}
	if i.StartPort > i.EndPort || i.End.Less(i.Start) {
		return Selector{}, false
	}
	return i, true
}

// handleCreateChild answers CREATE_CHILD_SA: a new or rekeyed Child SA, or
// a rekey of the IKE SA.
func (e *Engine) handleCreateChild(sa *ikeSA, ps []Payload) ([]Payload, func()) {
	saP, _ := Find(ps, PayloadSA).(*SA)
	nonce, _ := Find(ps, PayloadNonce).(*Nonce)
	if saP == nil || nonce == nil || len(saP.Proposals) == 0 {
		return []Payload{&Notify{NotifyType: InvalidSyntax}}, nil
	}
	if sa.state != ikeEstablished {
		return []Payload{&Notify{NotifyType: TemporaryFailure}}, nil // RFC 7296 2.25.2: being deleted or replaced
	}
	if saP.Proposals[0].Protocol == ProtoIKE {
		return e.handleIKERekey(sa, ps, saP, nonce), nil
	}
	return e.respondChild(sa, ps, nonce.Data, false), nil
}
