package ikev2

import (
	"encoding/binary"
	"fmt"
)

// handleRequest answers a request of the peer. after, if set, runs once the
// answer is out (closing the SA the answer still needs).
func (e *Engine) handleRequest(sa *ikeSA, h Header, ps []Payload) ([]Payload, func()) {
	for _, x := range ps {
		if u, ok := x.(*Unknown); ok && u.Critical {
			return []Payload{&Notify{NotifyType: UnsupportedCriticalPayload, Data: []byte{byte(u.T)}}}, nil
		}
	}
	switch {
	case h.Exchange == IKEAuth && sa.state == ikeHalfOpen:
		return e.handleAuthRequest(sa, ps)
	case sa.state == ikeHalfOpen:
		return []Payload{&Notify{NotifyType: InvalidSyntax}}, nil
	case h.Exchange == CreateChildSA:
		return e.handleCreateChild(sa, ps)
	case h.Exchange == Informational:
		return e.handleInformational(sa, ps)
	}
	return []Payload{&Notify{NotifyType: InvalidSyntax}}, nil
}

// handleInformational answers deletes, liveness checks (empty) and notifies.
func (e *Engine) handleInformational(sa *ikeSA, ps []Payload) ([]Payload, func()) {
	p := sa.peer
	var out []Payload
	var after func()
	var echo []uint32
	for _, x := range ps {
		switch x := x.(type) {
		case *Delete:
			switch x.Protocol {
			case ProtoIKE:
				e.security("the peer deleted the IKE SA", "gateway", p.cfg.Name, "index", sa.index)
				after = func() { e.closeIKE(sa) }
			case ProtoESP:
				for _, s := range x.SPIs {
					if len(s) != 4 {
						continue
					}
					cs := e.findByOut(p, binary.BigEndian.Uint32(s))
					if cs == nil {
						continue
					}
					if cs.state != csDeleting {
						// Ours went out at the same time: no echo (RFC 7296 1.4.1).
						echo = append(echo, cs.sa.SPIIn)
					}
					e.security("the peer deleted an IPsec SA", "gateway", p.cfg.Name, "tunnel", cs.child.cfg.Name, "spi", fmt.Sprintf("%08x", cs.sa.SPIIn))
					e.uninstall(p, cs)
				}
			}
		case *Notify:
			if x.NotifyType == AuthenticationFailed {
				e.env.Log.Warn(fmt.Sprintf("%v rejected our authentication (AUTHENTICATION_FAILED): the pre-shared keys of gateway %s differ", sa.remote.Addr(), p.cfg.Name), "gateway", p.cfg.Name)
				after = func() { e.closeIKE(sa) }
			}
		}
	}
	if len(echo) > 0 {
		out = append(out, DeleteESP(echo...))
	}
	return out, after
}
