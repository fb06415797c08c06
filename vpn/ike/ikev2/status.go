package ikev2

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/loop"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// Status lists the IKE SAs (by index) and the installed Child SAs.
func (e *Engine) Status() ([]seam.IKESAStatus, []seam.ChildStatus) {
	now := e.now()
	var ikes []seam.IKESAStatus
	for _, sa := range e.sas {
		st := seam.IKESAStatus{Version: 2,
			Index: sa.index, Gateway: sa.peer.cfg.Name, Up: sa.state == ikeEstablished, State: sa.state.String(), Initiator: sa.initiator,
			InitiatorCookie: fmt.Sprintf("%016x", sa.spiI), ResponderCookie: fmt.Sprintf("%016x", sa.spiR), Local: sa.local, Remote: sa.remote,
			PeerID: sa.peerID.String(), Algorithms: sa.prop.Names(), InBytes: sa.inBytes, OutBytes: sa.outBytes, InPackets: sa.inPackets,
			OutPackets: sa.outPackets, ChildrenCreated: sa.childrenCreated, ChildrenDeleted: sa.childrenDeleted, NATT: sa.natt(), Fragmentation: sa.fragOK,
		}
		if !sa.expires.IsZero() {
			st.ExpiresIn = sa.expires.Sub(now).Truncate(time.Second)
		}
		if sa.state == ikeEstablished {
			st.Established = sa.created
		}
		if sa.outReq != nil {
			st.NegotiationsInProgress++
		}
		st.NegotiationsInProgress += len(sa.queue)
		ikes = append(ikes, st)
	}
	sort.Slice(ikes, func(i, j int) bool { return ikes[i].Index < ikes[j].Index })
	var kids []seam.ChildStatus
	for _, p := range e.peers {
		for _, c := range p.children {
			for _, cs := range c.sas {
				x := cs.sa
				st := seam.ChildStatus{Gateway: p.cfg.Name, SA: *x, Port: 500, Established: x.Established,
					LocalID:  SelectorFor(x.Tunnel.Local, x.Tunnel.Protocol, x.Tunnel.LocalPort).String(),
					RemoteID: SelectorFor(x.Tunnel.Remote, x.Tunnel.Protocol, x.Tunnel.RemotePort).String()}
				if x.EncapLocal != 0 {
					st.Port = x.EncapLocal
				}
				if p.ike != nil {
					st.IKEIndex = p.ike.index
				}
				if !cs.expireAt.IsZero() {
					st.ExpiresIn = cs.expireAt.Sub(now).Truncate(time.Second)
				}
				kids = append(kids, st)
			}
		}
	}
	sort.Slice(kids, func(i, j int) bool {
		if kids[i].SA.Tunnel.Policy != kids[j].SA.Tunnel.Policy {
			return kids[i].SA.Tunnel.Policy < kids[j].SA.Tunnel.Policy
		}
		return kids[i].SA.Established.Before(kids[j].SA.Established)
	})
	return ikes, kids
}

// HalfOpen returns the number of half-open IKE SAs (responder, IKE_AUTH awaited).
func (e *Engine) HalfOpen() int { return len(e.halfOpen) }

// ClearIKE deletes every IKE SA and its children (telling the peers);
// tunnels that establish immediately are negotiated again.
func (e *Engine) ClearIKE() {
	for _, p := range e.peers {
		e.teardownPeer(p, true)
		for _, c := range p.children {
			c.wanted = c.cfg.Immediately
		}
		p.nextAttempt = e.now()
	}
}

// ClearIPsec deletes every Child SA (telling the peers), keeping the IKE SAs.
func (e *Engine) ClearIPsec() {
	for _, p := range e.peers {
		for _, c := range p.children {
			e.removeChild(p, c, true)
			c.wanted = c.cfg.Immediately
		}
	}
}

// Expired reports a kernel lifetime event for the SA with SPI spi: soft
// (kilobytes nearly used up) starts a rekey, hard removes the pair.
func (e *Engine) Expired(spi uint32, hard bool) {
	for _, p := range e.peers {
		for _, c := range p.children {
			for _, cs := range c.sas {
				if cs.sa.SPIIn != spi && cs.sa.SPIOut != spi {
					continue
				}
				if hard {
					e.security("IPsec SA reached its hard lifetime", "gateway", p.cfg.Name, "tunnel", c.cfg.Name)
					e.deleteChildSA(p, cs)
					c.wanted = c.wanted || c.cfg.Immediately
				} else {
					cs.rekeyAt = e.now()
				}
				return
			}
		}
	}
}

// RekeyChild rekeys the tunnel policy's Child SA at the next Tick.
func (e *Engine) RekeyChild(policy string) {
	for _, p := range e.peers {
		for _, c := range p.children {
			if cur := c.current(); c.cfg.Policy == policy && cur != nil {
				cur.rekeyAt = e.now()
			}
		}
	}
}

// RekeyIKE rekeys the gateway's IKE SA at the next Tick.
func (e *Engine) RekeyIKE(gateway string) {
	if p := e.peers[gateway]; p != nil && p.ike != nil {
		p.ike.rekeyAt = e.now()
	}
}

// Call runs f on the engine's goroutine (under Run) and waits for it.
func (e *Engine) Call(ctx context.Context, f func(seam.Engine)) error {
	return loop.Do(ctx, e.cmds, func() { f(e) })
}

var _ seam.Engine = (*Engine)(nil)
