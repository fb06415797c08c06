package ikev2

import (
	"encoding/binary"
	"fmt"
)

// startIKERekey replaces sa by a new IKE SA through CREATE_CHILD_SA
// (RFC 7296 1.3.2), offering the proposal in use.
func (e *Engine) startIKERekey(sa *ikeSA) {
	p := sa.peer
	r := &ikeRekey{spi: e.randomIKESPI(), ni: e.random(nonceLen)}
	k, err := sa.prop.Group.GenerateKey(e.env.Rand)
	if err != nil {
		e.env.Log.Error("rekeying IKE SA", "gateway", p.cfg.Name, "err", err)
		return
	}
	r.dh = k
	sa.rekey = r
	e.env.Log.Info("rekeying IKE SA", "gateway", p.cfg.Name, "index", sa.index)
	ps := []Payload{ikeSAPayload([]Proposal{sa.prop}, binary.BigEndian.AppendUint64(nil, r.spi)), &Nonce{Data: r.ni},
		&KE{Group: uint16(k.Group()), Data: k.Public()}}
	e.enqueue(sa, &request{exch: CreateChildSA, what: "IKE SA rekey", build: func() ([]Payload, bool) { return ps, sa.rekey == r },
		onResponse: func(h Header, rps []Payload) { e.ikeRekeyResponse(sa, r, rps) }})
}

func (e *Engine) ikeRekeyResponse(sa *ikeSA, r *ikeRekey, ps []Payload) {
	p, now := sa.peer, e.now()
	sa.rekey = nil
	for _, n := range Notifies(ps) {
		if !n.NotifyType.IsError() {
			continue
		}
		if coll := sa.collision; coll != nil && n.NotifyType == TemporaryFailure {
			sa.collision = nil
			e.env.Log.Debug("IKE rekey collision: the peer's rekey stands", "gateway", p.cfg.Name)
			e.adopt(sa, coll.sa)
			e.retire(sa)
			return
		}
		e.env.Log.Warn(fmt.Sprintf("IKE SA rekey: the peer answered %v; retrying later", n.NotifyType), "gateway", p.cfg.Name)
		sa.rekeyAt = now.Add(e.cfg.RetryAfter + e.jitter(e.cfg.RetryAfter))
		return
	}
	saP, _ := Find(ps, PayloadSA).(*SA)
	nonce, _ := Find(ps, PayloadNonce).(*Nonce)
	ke, _ := Find(ps, PayloadKE).(*KE)
	var shared []byte
	var prop Proposal
	err := fmt.Errorf("the response lacks SA, nonce or KE")
	if saP != nil && nonce != nil && ke != nil {
		if prop, err = parseIKE(saP); err == nil {
			prop, err = ourProposal(p.cfg.Proposals, prop)
		}
		if err == nil && (len(saP.Proposals[0].SPI) != 8 || ke.Group != uint16(r.dh.Group()) || prop.Group != r.dh.Group()) {
			err = fmt.Errorf("the response has an SPI of %d bytes or a KE of group %d, we sent group %d", len(saP.Proposals[0].SPI), ke.Group, r.dh.Group())
		}
		if err == nil {
			shared, err = r.dh.SharedSecret(ke.Data)
		}
	}
	if err != nil {
		e.env.Log.Warn("IKE SA rekey failed", "gateway", p.cfg.Name, "err", err)
		sa.rekeyAt = now.Add(e.cfg.RetryAfter)
		return
	}
	n := e.successor(sa, true, r.spi, binary.BigEndian.Uint64(saP.Proposals[0].SPI), prop, r.ni, nonce.Data)
	if err := e.setKeys(n, sa.keys.d, shared); err != nil {
		e.env.Log.Error("IKE SA rekey", "gateway", p.cfg.Name, "err", err)
		return
	}
	e.sas[n.spiI] = n
	e.established(n)
	e.security("IKE SA rekeyed", "gateway", p.cfg.Name, "old", sa.index, "new", n.index)
	if coll := sa.collision; coll != nil {
		sa.collision = nil
		if lowestIsOurs(r.ni, nonce.Data, coll.ni, coll.nr) {
			e.env.Log.Info("IKE rekey collision: our exchange has the lowest nonce, deleting its IKE SA (RFC 7296 2.8.1)", "gateway", p.cfg.Name)
			p.ike = coll.sa
			e.adopt(sa, coll.sa)
			e.deleteIKE(n)
			e.retire(sa)
			return
		}
		e.env.Log.Info("IKE rekey collision: the peer's exchange has the lowest nonce, it deletes its IKE SA (RFC 7296 2.8.1)", "gateway", p.cfg.Name)
		e.retire(coll.sa)
	}
	e.adopt(sa, n)
	e.deleteIKE(sa)
}

// successor returns the IKE SA that replaces old, not yet keyed.
func (e *Engine) successor(old *ikeSA, initiator bool, spiI, spiR uint64, prop Proposal, ni, nr []byte) *ikeSA {
	n := &ikeSA{peer: old.peer, index: e.nextIndex, initiator: initiator, spiI: spiI, spiR: spiR, local: old.local, remote: old.remote,
		prop: prop, ni: ni, nr: nr, natLocal: old.natLocal, natRemote: old.natRemote, fragOK: old.fragOK, peerID: old.peerID,
		lastKeepalive: old.lastKeepalive}
	e.nextIndex++
	return n
}

// retire marks an IKE SA replaced: the peer, which created its successor,
// deletes it, or we do after deadlineAfterRekey.
func (e *Engine) retire(sa *ikeSA) {
	if sa.state == ikeEstablished {
		sa.state = ikeRekeyed
		sa.deadline = e.now().Add(deadlineAfterRekey)
	}
}

// deleteIKE sends a Delete for the IKE SA and forgets it when answered.
func (e *Engine) deleteIKE(sa *ikeSA) {
	if sa.state == ikeDeleting || sa.state == ikeClosed {
		return
	}
	sa.state = ikeDeleting
	done := func() { e.closeIKE(sa) }
	e.enqueue(sa, &request{exch: Informational, what: "IKE SA delete", build: func() ([]Payload, bool) { return []Payload{&Delete{Protocol: ProtoIKE}}, true },
		onResponse: func(Header, []Payload) { done() }, onTimeout: done})
}

// handleIKERekey answers the peer's rekey of sa.
func (e *Engine) handleIKERekey(sa *ikeSA, ps []Payload, saP *SA, nonce *Nonce) []Payload {
	p := sa.peer
	if sa.outReq != nil && sa.rekey == nil {
		// One of our exchanges is out on this SA; RFC 7296 2.8 has it finish first.
		return []Payload{&Notify{NotifyType: TemporaryFailure}}
	}
	ke, _ := Find(ps, PayloadKE).(*KE)
	if ke == nil {
		return []Payload{&Notify{NotifyType: InvalidSyntax}}
	}
	prop, reply, ok := selectIKE(p.cfg.Proposals, saP)
	if !ok {
		e.env.Log.Warn(fmt.Sprintf("IKE SA rekey: no proposal chosen: the peer offered %s, gateway %s accepts %s", offersString(saP), p.cfg.Name, ikeOffers(p.cfg.Proposals)),
			"gateway", p.cfg.Name)
		return []Payload{&Notify{NotifyType: NoProposalChosen}}
	}
	if len(reply.SPI) != 8 {
		return []Payload{&Notify{NotifyType: InvalidSyntax}}
	}
	if ke.Group != uint16(prop.Group) {
		return []Payload{&Notify{NotifyType: InvalidKEPayload, Data: binary.BigEndian.AppendUint16(nil, uint16(prop.Group))}}
	}
	k, err := prop.Group.GenerateKey(e.env.Rand)
	var shared []byte
	if err == nil {
		shared, err = k.SharedSecret(ke.Data)
	}
	if err != nil {
		e.env.Log.Warn("IKE SA rekey", "gateway", p.cfg.Name, "err", err)
		return []Payload{&Notify{NotifyType: NoProposalChosen}}
	}
	nr := e.random(nonceLen)
	n := e.successor(sa, false, binary.BigEndian.Uint64(reply.SPI), e.randomIKESPI(), prop, nonce.Data, nr)
	if err := e.setKeys(n, sa.keys.d, shared); err != nil {
		e.env.Log.Error("IKE SA rekey", "gateway", p.cfg.Name, "err", err)
		return []Payload{&Notify{NotifyType: TemporaryFailure}}
	}
	e.sas[n.spiR] = n
	e.established(n)
	e.security("IKE SA rekeyed by the peer", "gateway", p.cfg.Name, "old", sa.index, "new", n.index)
	if sa.rekey != nil {
		// The children stay with sa until ikeRekeyResponse knows which
		// successor survives: the peer may delete n first.
		sa.collision = &ikeCollision{sa: n, ni: nonce.Data, nr: nr}
	} else {
		e.adopt(sa, n)
		e.retire(sa)
	}
	reply.SPI = binary.BigEndian.AppendUint64(nil, n.spiR)
	return []Payload{&SA{Proposals: []SAProposal{reply}}, &Nonce{Data: nr}, &KE{Group: uint16(prop.Group), Data: k.Public()}}
}
