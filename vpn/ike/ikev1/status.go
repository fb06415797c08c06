package ikev1

import (
	"context"
	"sort"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/loop"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// Status lists the IKE SAs (by index) and installed Child SAs.
func (e *Engine) Status() ([]seam.IKESAStatus, []seam.ChildStatus) {
	now := e.now()
	var ikes []seam.IKESAStatus
	for _, sa := range e.sas {
		st := seam.IKESAStatus{Version: 1,
			Index: sa.index, Gateway: sa.peer.cfg.Name, Up: sa.state == established, State: sa.state.String(),
			Initiator: sa.initiator, InitiatorCookie: sa.ci.String(), ResponderCookie: sa.cr.String(),
			Local: sa.local, Remote: sa.remote, PeerID: sa.peerID, Algorithms: sa.prop.Names(),
			InBytes: sa.inBytes, OutBytes: sa.outBytes, InPackets: sa.inPackets, OutPackets: sa.outPackets,
			ChildrenCreated: sa.childrenCreated, ChildrenDeleted: sa.childrenDeleted, NATT: sa.natt(),
		}
		if sa.state == established {
			st.Established = sa.establishedAt
		}
		if !sa.expires.IsZero() {
			st.ExpiresIn = sa.expires.Sub(now).Truncate(time.Second)
		}
		for _, ex := range sa.exchanges {
			if ex.state != qmDone {
				st.NegotiationsInProgress++
			}
		}
		ikes = append(ikes, st)
	}
	sort.Slice(ikes, func(i, j int) bool { return ikes[i].Index < ikes[j].Index })
	var kids []seam.ChildStatus
	for _, p := range e.peers {
		for _, c := range p.children {
			if c.installed == nil {
				continue
			}
			l, r := proxyID(c.cfg)
			cs := seam.ChildStatus{Gateway: p.cfg.Name, SA: *c.installed, Port: 500, LocalID: l.String(), RemoteID: r.String(), Established: c.installed.Established}
			if c.installed.EncapLocal != 0 {
				cs.Port = c.installed.EncapLocal
			}
			if p.ike != nil {
				cs.IKEIndex = p.ike.index
			}
			if c.installed.Lifetime > 0 {
				cs.ExpiresIn = c.installed.Established.Add(c.installed.Lifetime).Sub(now).Truncate(time.Second)
			}
			kids = append(kids, cs)
		}
	}
	sort.Slice(kids, func(i, j int) bool { return kids[i].SA.Tunnel.Policy < kids[j].SA.Tunnel.Policy })
	return ikes, kids
}

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

// Call runs f on the engine's goroutine (under Run) and waits for it.
func (e *Engine) Call(ctx context.Context, f func(seam.Engine)) error {
	return loop.Do(ctx, e.cmds, func() { f(e) })
}

var _ seam.Engine = (*Engine)(nil)
