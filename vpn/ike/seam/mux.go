package seam

import (
	"context"
	"sync"
)

// VersionMux splits one IKE transport (the sockets on 500 and 4500 of a
// local address) between the IKEv1 and the IKEv2 engine by the version
// octet of the ISAKMP/IKE header (RFC 2408 3.1, RFC 7296 3.1).
type VersionMux struct {
	tr     Transport
	v1, v2 *muxPort
}

// muxPort is one engine's view of the shared transport.
type muxPort struct {
	tr   Transport
	ch   chan Datagram
	once sync.Once
}

func (p *muxPort) Send(d Datagram) error    { return p.tr.Send(d) }
func (p *muxPort) Receive() <-chan Datagram { return p.ch }
func (p *muxPort) Close() error             { return nil } // the mux owns the transport
func (p *muxPort) closeCh()                 { p.once.Do(func() { close(p.ch) }) }
func newMuxPort(tr Transport) *muxPort {
	return &muxPort{tr: tr, ch: make(chan Datagram, 256)}
}

// NewVersionMux returns a demux of tr; call Run, and give Ports to the engines.
func NewVersionMux(tr Transport) *VersionMux {
	return &VersionMux{tr: tr, v1: newMuxPort(tr), v2: newMuxPort(tr)}
}

// Ports are the IKEv1 and the IKEv2 engine's views of the transport.
func (m *VersionMux) Ports() (v1, v2 Transport) { return m.v1, m.v2 }

// ikeVersionOffset is where the version octet sits in an IKE header.
const ikeVersionOffset = 17

// Run forwards datagrams until ctx ends or the transport closes; the
// latter closes both ports so that the engines stop (on ctx they stop by
// themselves, and a closed port would only race with their shutdown).
func (m *VersionMux) Run(ctx context.Context, nattPort uint16) {
	for {
		select {
		case <-ctx.Done():
			return
		case d, ok := <-m.tr.Receive():
			if !ok {
				m.v1.closeCh()
				m.v2.closeCh()
				return
			}
			off := ikeVersionOffset
			if d.Local.Port() == nattPort {
				off += 4 // after the non-ESP marker (RFC 3948 2.2)
			}
			port := m.v1
			if len(d.Data) > off && d.Data[off]>>4 == 2 {
				port = m.v2
			}
			select {
			case port.ch <- d:
			default: // the engine is behind: drop, like a full socket buffer
			}
		}
	}
}
