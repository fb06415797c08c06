package seam

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// Datagram is one UDP datagram as the engine sees it.
type Datagram struct {
	Data   []byte
	Local  netip.AddrPort // our address and port (500 or 4500)
	Remote netip.AddrPort
}

// Transport carries datagrams for one engine.
//
// Send must not block for long and must not keep d.Data. Receive returns a
// channel that delivers incoming datagrams and is closed after Close. Close
// is safe to call more than once.
type Transport interface {
	Send(d Datagram) error
	Receive() <-chan Datagram
	Close() error
}

// PipeNetwork is an in-memory network of transports for tests. Drop, if set,
// is asked about every datagram and loses those it returns true for.
type PipeNetwork struct {
	mu    sync.Mutex
	ports map[netip.AddrPort]*pipeTransport // guarded by mu
	Drop  func(Datagram) bool               // guarded by mu
	nat   map[netip.Addr]netip.Addr         // inside -> outside; guarded by mu
}

// SetNAT puts inside behind a NAT that rewrites it to outside (ports kept).
func (n *PipeNetwork) SetNAT(inside, outside netip.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nat == nil {
		n.nat = map[netip.Addr]netip.Addr{}
	}
	n.nat[inside] = outside
}

// NewPipeNetwork returns an empty network.
func NewPipeNetwork() *PipeNetwork {
	return &PipeNetwork{ports: map[netip.AddrPort]*pipeTransport{}}
}

// SetDrop replaces the drop function.
func (n *PipeNetwork) SetDrop(f func(Datagram) bool) {
	n.mu.Lock()
	n.Drop = f
	n.mu.Unlock()
}

// Attach returns a transport that owns the given local addresses.
func (n *PipeNetwork) Attach(local ...netip.AddrPort) Transport {
	t := &pipeTransport{net: n, ch: make(chan Datagram, 256), local: local}
	n.mu.Lock()
	for _, a := range local {
		n.ports[a] = t
	}
	n.mu.Unlock()
	return t
}

type pipeTransport struct {
	net   *PipeNetwork
	local []netip.AddrPort
	mu    sync.Mutex
	ch    chan Datagram
	done  bool // guarded by mu
}

func (t *pipeTransport) Send(d Datagram) error {
	t.net.mu.Lock()
	src, dstAddr := d.Local, d.Remote
	for inside, outside := range t.net.nat {
		if src.Addr() == inside {
			src = netip.AddrPortFrom(outside, src.Port())
		}
		if dstAddr.Addr() == outside {
			dstAddr = netip.AddrPortFrom(inside, dstAddr.Port())
		}
	}
	dst := t.net.ports[dstAddr]
	drop := t.net.Drop
	t.net.mu.Unlock()
	in := Datagram{Data: append([]byte(nil), d.Data...), Local: dstAddr, Remote: src}
	if dst == nil || (drop != nil && drop(in)) {
		return nil // lost, like UDP
	}
	dst.mu.Lock()
	defer dst.mu.Unlock()
	if dst.done {
		return nil
	}
	select {
	case dst.ch <- in:
	default: // queue full: lost
	}
	return nil
}

func (t *pipeTransport) Receive() <-chan Datagram { return t.ch }

func (t *pipeTransport) Close() error {
	t.net.mu.Lock()
	for _, a := range t.local {
		delete(t.net.ports, a)
	}
	t.net.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done {
		t.done = true
		close(t.ch)
	}
	return nil
}

// UDPTransport is a Transport over real UDP sockets, one per local port.
type UDPTransport struct {
	conns map[uint16]*net.UDPConn
	addr  netip.Addr
	ch    chan Datagram
	wg    sync.WaitGroup
	once  sync.Once
}

// Linux UDP_ENCAP socket option values (linux/udp.h).
const (
	udpEncap           = 100
	udpEncapESPInUDP   = 2
	maxDatagram        = 65535
	udpTransportBuffer = 256
)

// ListenUDP opens sockets on addr at each port. The NAT-T port (natt, if
// nonzero) gets UDP_ENCAP_ESPINUDP, so that the kernel takes ESP-in-UDP and
// hands the socket only IKE (non-ESP-marked) datagrams.
func ListenUDP(ctx context.Context, addr netip.Addr, ike, natt uint16) (*UDPTransport, error) {
	t := &UDPTransport{conns: map[uint16]*net.UDPConn{}, addr: addr, ch: make(chan Datagram, udpTransportBuffer)}
	for _, port := range []uint16{ike, natt} {
		if port == 0 {
			continue
		}
		lc := net.ListenConfig{}
		if port == natt {
			lc.Control = func(_, _ string, c syscall.RawConn) error {
				var serr error
				if err := c.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_UDP, udpEncap, udpEncapESPInUDP)
				}); err != nil {
					return err
				}
				return serr
			}
		}
		pc, err := lc.ListenPacket(ctx, "udp", netip.AddrPortFrom(addr, port).String())
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("listening on %v port %d: %w", addr, port, err)
		}
		t.conns[port] = pc.(*net.UDPConn)
	}
	for port, c := range t.conns {
		t.wg.Add(1)
		go t.read(port, c)
	}
	go func() { t.wg.Wait(); close(t.ch) }()
	return t, nil
}

func (t *UDPTransport) read(port uint16, c *net.UDPConn) {
	defer t.wg.Done()
	local := netip.AddrPortFrom(t.addr, port)
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		d := Datagram{Data: append([]byte(nil), buf[:n]...), Local: local, Remote: netip.AddrPortFrom(from.Addr().Unmap(), from.Port())}
		select {
		case t.ch <- d:
		default: // the engine is behind: drop, like a full socket buffer
		}
	}
}

// Send implements Transport.
func (t *UDPTransport) Send(d Datagram) error {
	c := t.conns[d.Local.Port()]
	if c == nil {
		return fmt.Errorf("sending to %v: no socket on local port %d", d.Remote, d.Local.Port())
	}
	_, err := c.WriteToUDPAddrPort(d.Data, d.Remote)
	return err
}

// Receive implements Transport.
func (t *UDPTransport) Receive() <-chan Datagram { return t.ch }

// Close implements Transport.
func (t *UDPTransport) Close() error {
	t.once.Do(func() {
		for _, c := range t.conns {
			c.Close()
		}
	})
	return nil
}
