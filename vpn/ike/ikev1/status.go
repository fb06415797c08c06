package ikev1

import (
	"context"
	"github.com/palisade/palisade/vpn/ike/internal/loop"
	"github.com/palisade/palisade/vpn/ike/seam"
	"net/netip"
	"sort"
	"time"
)

// IKESAStatus describes one IKE SA for `show security ike security-associations`.
type IKESAStatus struct {
	Index                  uint32
	Gateway                string
	Up                     bool
	State                  string
	Initiator              bool
	InitiatorCookie        string
	ResponderCookie        string
	Local, Remote          netip.AddrPort
	ExpiresIn              time.Duration
	PeerID                 string
	Proposal               Proposal
	InBytes, OutBytes      uint64
	InPackets, OutPackets  uint64
	ChildrenCreated        int
	ChildrenDeleted        int
	NegotiationsInProgress int
	NATT                   bool
	Established            time.Time // zero until the SA is authenticated
}

// Status lists the IKE SAs (by index) and installed Child SAs.
func (e *Engine) Status() ([]IKESAStatus, []seam.ChildStatus) {
	now := e.now()
	var ikes []IKESAStatus
	for _, sa := range e.sas {
		st := IKESAStatus{
			Index: sa.index, Gateway: sa.peer.cfg.Name, Up: sa.state == established, State: sa.state.String(),
			Initiator: sa.initiator, InitiatorCookie: sa.ci.String(), ResponderCookie: sa.cr.String(),
			Local: sa.local, Remote: sa.remote, PeerID: sa.peerID, Proposal: sa.prop,
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

// SAs lists the IKE SAs and installed Child SAs in the version-neutral form
// the daemon shows (seam.Engine).
func (e *Engine) SAs() ([]seam.IKESAStatus, []seam.ChildStatus) {
	ikes, kids := e.Status()
	out := make([]seam.IKESAStatus, len(ikes))
	for i, s := range ikes {
		out[i] = seam.IKESAStatus{Version: 1, Index: s.Index, Gateway: s.Gateway, Up: s.Up, State: s.State, Initiator: s.Initiator,
			InitiatorCookie: s.InitiatorCookie, ResponderCookie: s.ResponderCookie, Local: s.Local, Remote: s.Remote,
			ExpiresIn: s.ExpiresIn, PeerID: s.PeerID, Algorithms: s.Proposal.Names(),
			InBytes: s.InBytes, OutBytes: s.OutBytes, InPackets: s.InPackets, OutPackets: s.OutPackets,
			ChildrenCreated: s.ChildrenCreated, ChildrenDeleted: s.ChildrenDeleted, NegotiationsInProgress: s.NegotiationsInProgress,
			NATT: s.NATT, Established: s.Established}
	}
	return out, kids
}

// Call runs f on the engine's goroutine (under Run) and waits for it.
func (e *Engine) Call(ctx context.Context, f func(seam.Engine)) error {
	return loop.Do(ctx, e.cmds, func() { f(e) })
}

var _ seam.Engine = (*Engine)(nil)
