package ikev2

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sort"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/loop"
	"github.com/palisade/palisade/vpn/ike/ratelog"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// Engine runs IKEv2 for the gateways of one local address (or several: it
// answers on whatever address a datagram arrived at). Its methods are not
// safe for concurrent use: call them from one goroutine, or use Run and Do.
type Engine struct {
	cfg       Config
	env       seam.Env
	tr        seam.Transport
	peers     map[string]*peer
	sas       map[uint64]*ikeSA // by our SPI
	halfOpen  map[halfOpenKey]*ikeSA
	nextIndex uint32
	seq       uint64 // orders negotiations and installs; see next
	cmds      chan func()
	// rl carries every line that an unauthenticated datagram can cause:
	// anyone can send those by the thousand.
	rl *ratelog.Limiter

	// Cookie secrets (RFC 7296 2.6): the current one and its predecessor,
	// so that cookies handed out just before a rotation stay valid.
	secret, oldSecret []byte
	secretVersion     uint32
	secretRotateAt    time.Time
}

// secretLifetime is how long a cookie secret is used.
const secretLifetime = 5 * time.Minute

// NewEngine returns an engine sending through tr.
func NewEngine(cfg Config, env seam.Env, tr seam.Transport) *Engine {
	return &Engine{
		cfg: cfg.withDefaults(), env: env, tr: tr,
		peers: map[string]*peer{}, sas: map[uint64]*ikeSA{}, halfOpen: map[halfOpenKey]*ikeSA{},
		nextIndex: 1, cmds: make(chan func()), rl: ratelog.New(env.Log, env.Now),
	}
}

// security logs an event that the box keeps apart from the flood-prone
// rest (IKE SA up or gone, tunnel up or down).
func (e *Engine) security(msg string, args ...any) {
	e.env.Log.Info(msg, append(args, slog.Bool("security", true))...)
}

// drop logs, rate-limited, why an unauthenticated datagram was dropped.
func (e *Engine) drop(msg string, args ...any) { e.rl.Log(slog.LevelDebug, msg, args...) }

// Run handles datagrams, ticks and commands until ctx is done; then it
// deletes every SA (telling the peers) and returns.
func (e *Engine) Run(ctx context.Context, tick <-chan time.Time) error {
	return loop.Run(ctx, e, e.tr.Receive(), tick, e.cmds)
}

// Do runs f on the engine's goroutine (under Run) and waits for it.
func (e *Engine) Do(ctx context.Context, f func(*Engine)) error {
	return loop.Do(ctx, e.cmds, func() { f(e) })
}

// SetPeers replaces the configuration. Peers and tunnels that are gone or
// changed are torn down (telling the peer); new ones with Immediately
// negotiate at the next Tick.
func (e *Engine) SetPeers(cfgs []PeerConfig) {
	seam.Reconcile(e.peers, cfgs, func(c PeerConfig) string { return c.Name },
		func(p *peer, c PeerConfig) bool { return samePeer(p.cfg, c) },
		func(name string, p *peer) {
			e.security("removing IKE gateway", "gateway", name)
			e.teardownPeer(p, true)
		},
		func(p *peer, c PeerConfig) { p.children, p.cfg = e.keepChildren(p, c.Children), c },
		func(c PeerConfig) *peer {
			p := &peer{cfg: c}
			p.children = e.keepChildren(p, c.Children)
			return p
		})
}

// keepChildren reconciles p's tunnels with want (see seam.KeepChildren).
func (e *Engine) keepChildren(p *peer, want []seam.ChildConfig) []*child {
	return seam.KeepChildren(p.children, func(c *child) seam.ChildConfig { return c.cfg }, want,
		func(c *child) { e.removeChild(p, c, true) },
		func(cc seam.ChildConfig) *child { return &child{cfg: cc, wanted: cc.Immediately} })
}

// Acquire asks for the tunnel policy's SA (the kernel saw traffic for it).
func (e *Engine) Acquire(policy string) {
	for _, p := range e.peers {
		for _, c := range p.children {
			if c.cfg.Policy == policy {
				c.wanted = true
			}
		}
	}
}

// Shutdown deletes every IKE SA, telling each peer (a deleted IKE SA takes
// its Child SAs along, RFC 7296 1.4.1), and uninstalls every child.
func (e *Engine) Shutdown() {
	for _, p := range e.peers {
		e.teardownPeer(p, true)
	}
	for _, sa := range e.sas {
		e.closeIKE(sa)
	}
}

func (e *Engine) now() time.Time { return e.env.Now() }

// next returns a number greater than all it returned before.
func (e *Engine) next() uint64 {
	e.seq++
	return e.seq
}

func (e *Engine) random(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(e.env.Rand, b); err != nil {
		panic(fmt.Sprintf("ikev2: reading randomness: %v", err)) // the injected source must not fail
	}
	return b
}

// randomSPI draws a Child SA SPI; values below 256 are reserved (RFC 4303 2.1).
func (e *Engine) randomSPI() uint32 {
	for {
		if v := binary.BigEndian.Uint32(e.random(4)); v >= 256 {
			return v
		}
	}
}

// randomIKESPI draws an IKE SPI not in use; zero means "not yet chosen".
func (e *Engine) randomIKESPI() uint64 {
	for {
		v := binary.BigEndian.Uint64(e.random(8))
		if _, used := e.sas[v]; v != 0 && !used {
			return v
		}
	}
}

// jitter returns a random duration in [0, d), so that both ends of a
// tunnel do not rekey at the same instant.
func (e *Engine) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(binary.BigEndian.Uint64(e.random(8)) % uint64(d))
}

const nonceLen = 32

// peerByRemote returns the gateway with the fixed address a, or else the
// dynamic gateways sorted by name: which of them it is, only the identity
// in IKE_AUTH tells (gatewayByID).
func (e *Engine) peerByRemote(a netip.Addr) (*peer, []*peer) {
	var dyn []*peer
	for _, p := range e.peers {
		if p.cfg.Remote == a {
			return p, nil
		}
		if p.cfg.dynamic() {
			dyn = append(dyn, p)
		}
	}
	sort.Slice(dyn, func(i, j int) bool { return dyn[i].cfg.Name < dyn[j].cfg.Name })
	return nil, dyn
}

// HandleDatagram processes one received datagram.
func (e *Engine) HandleDatagram(d seam.Datagram) {
	b := d.Data
	if d.Local.Port() == e.cfg.NATTPort {
		if len(b) == 1 && b[0] == 0xff {
			return // NAT keepalive
		}
		if len(b) < 4 || binary.BigEndian.Uint32(b) != 0 {
			return // ESP in UDP is the kernel's
		}
		b = b[4:]
	}
	h, err := DecodeHeader(b)
	if err != nil {
		e.drop("dropping datagram", "from", d.Remote, "err", err)
		return
	}
	b = b[:h.Length]
	if h.Exchange == IKESAInit && !h.IsResponse() {
		e.handleInitRequest(d, b, h)
		return
	}
	spi := h.SPIi
	if h.FromInitiator() {
		spi = h.SPIr
	}
	sa := e.sas[spi]
	if sa == nil || sa.remote.Addr() != d.Remote.Addr() && !sa.peer.cfg.dynamic() {
		e.drop("dropping IKE message for an unknown SPI", "from", d.Remote, "msg", h.String())
		return
	}
	if h.Exchange == IKESAInit {
		e.handleInitResponse(sa, d, b, h)
		return
	}
	if sa.enc == nil || h.SPIi != sa.spiI || h.SPIr != sa.spiR || h.FromInitiator() == sa.initiator {
		return
	}
	if h.IsResponse() {
		req := sa.outReq
		if req == nil || req.fireForget || h.MessageID != req.mid {
			return
		}
		ps, ok := e.unprotect(sa, b, h)
		if !ok {
			return
		}
		e.heard(sa, d, len(d.Data))
		sa.outReq = nil
		req.onResponse(h, ps)
		e.kick(sa)
		return
	}
	if sa.peerMID > 0 && h.MessageID == sa.peerMID-1 {
		// The header is cleartext: without the integrity check anyone who
		// saw the SPIs could make us send our last answer again and again.
		if sa.lastResp != nil && firstFragmentOrWhole(b, h) && e.intact(sa, b) {
			for _, m := range sa.lastResp {
				e.transmit(sa, m)
			}
		}
		return
	}
	if h.MessageID != sa.peerMID {
		return
	}
	ps, ok := e.unprotect(sa, b, h)
	if !ok {
		return
	}
	e.heard(sa, d, len(d.Data))
	resp, after := e.handleRequest(sa, h, ps)
	e.respond(sa, h, resp)
	if after != nil {
		after()
	}
	e.kick(sa)
}

// firstFragmentOrWhole reports whether a retransmitted request should be
// answered: RFC 7383 2.6.1 answers only the first fragment, not each.
func firstFragmentOrWhole(b []byte, h Header) bool {
	if h.NextPayload != PayloadSKF {
		return true
	}
	return len(b) >= HeaderLen+8 && binary.BigEndian.Uint16(b[HeaderLen+4:]) == 1
}

// intact reports whether a protected message (or fragment) passes the
// integrity check, without reassembling or decoding what it carries.
func (e *Engine) intact(sa *ikeSA, b []byte) bool {
	m, err := Decode(b)
	if err != nil || len(m.Payloads) == 0 {
		return false
	}
	switch last := m.Payloads[len(m.Payloads)-1].(type) {
	case *Encrypted:
		_, err = sa.dec.open(b, len(b)-len(last.Body))
	case *Fragment:
		_, err = sa.dec.open(b, len(b)-len(last.Body))
	default:
		return false
	}
	if err != nil {
		e.drop("dropping IKE message that fails the integrity check", "gateway", sa.peer.cfg.Name, "msg", "retransmission")
	}
	return err == nil
}

// heard updates an SA after an authenticated message: counters, liveness,
// and the peer's address, which a NAT may have changed (RFC 7296 2.23).
func (e *Engine) heard(sa *ikeSA, d seam.Datagram, n int) {
	sa.inBytes += uint64(n)
	sa.inPackets++
	sa.lastHeard = e.now()
	if d.Local.Port() == e.cfg.NATTPort {
		sa.local, sa.remote = d.Local, d.Remote
	}
}

// unprotect authenticates and decrypts a message, collecting fragments; ok
// is false for anything to drop, including a message still incomplete.
func (e *Engine) unprotect(sa *ikeSA, b []byte, h Header) ([]Payload, bool) {
	m, err := Decode(b)
	if err != nil || len(m.Payloads) == 0 {
		e.drop("dropping malformed IKE message", "gateway", sa.peer.cfg.Name, "err", err)
		return nil, false
	}
	switch last := m.Payloads[len(m.Payloads)-1].(type) {
	case *Encrypted:
		plain, err := sa.dec.open(b, len(b)-len(last.Body))
		if err != nil {
			e.drop("dropping IKE message that fails the integrity check", "gateway", sa.peer.cfg.Name, "msg", h.String(), "err", err)
			return nil, false
		}
		ps, err := DecodePayloads(last.NextInner, plain)
		if err != nil {
			e.rl.Warn("malformed encrypted payloads", "gateway", sa.peer.cfg.Name, "msg", h.String(), "err", err)
			return nil, false
		}
		return ps, true
	case *Fragment:
		if !sa.fragOK {
			return nil, false
		}
		plain, err := sa.dec.open(b, len(b)-len(last.Body))
		if err != nil {
			e.drop("dropping IKE fragment that fails the integrity check", "gateway", sa.peer.cfg.Name, "msg", h.String(), "err", err)
			return nil, false
		}
		return e.reassemble(sa, h, last, plain)
	}
	return nil, false
}

// Bounds on a reassembled message, against memory exhaustion.
const (
	maxFragments   = 64
	maxReassembled = 64 << 10
)

func (e *Engine) reassemble(sa *ikeSA, h Header, f *Fragment, plain []byte) ([]Payload, bool) {
	slot := 0
	if h.IsResponse() {
		slot = 1
	}
	r := sa.reasm[slot]
	if r == nil || r.mid != h.MessageID || r.total != f.Total {
		if f.Total > maxFragments {
			return nil, false
		}
		r = &reassembly{mid: h.MessageID, total: f.Total, parts: map[uint16][]byte{}}
		sa.reasm[slot] = r
	}
	if _, dup := r.parts[f.Number]; dup {
		return nil, false
	}
	if r.size += len(plain); r.size > maxReassembled {
		sa.reasm[slot] = nil
		return nil, false
	}
	r.parts[f.Number] = plain
	if f.Number == 1 {
		r.next = f.NextInner
	}
	if len(r.parts) < int(r.total) {
		return nil, false
	}
	sa.reasm[slot] = nil
	var all []byte
	for i := uint16(1); i <= r.total; i++ {
		all = append(all, r.parts[i]...)
	}
	ps, err := DecodePayloads(r.next, all)
	if err != nil {
		e.rl.Warn("malformed reassembled message", "gateway", sa.peer.cfg.Name, "msg", h.String(), "err", err)
		return nil, false
	}
	return ps, true
}

// protect encodes and encrypts a message of sa, in fragments when it is too
// big and the peer takes them (RFC 7383 2.5). The datagrams carry the
// non-ESP marker on the NAT-T port.
func (e *Engine) protect(sa *ikeSA, exch ExchangeType, mid uint32, response bool, ps []Payload) ([][]byte, error) {
	h := Header{SPIi: sa.spiI, SPIr: sa.spiR, Version: Version, Exchange: exch, MessageID: mid}
	if sa.initiator {
		h.Flags |= FlagInitiator
	}
	if response {
		h.Flags |= FlagResponse
	}
	inner := AppendPayloads(nil, ps)
	first := PayloadNone
	if len(ps) > 0 {
		first = ps[0].Type()
	}
	marker := 0
	if sa.local.Port() == e.cfg.NATTPort {
		marker = 4
	}
	var out [][]byte
	if !sa.fragOK || marker+HeaderLen+genericHeaderLen+len(inner)+sa.enc.overhead() <= e.cfg.FragmentSize {
		m, err := sa.enc.seal(h, nil, first, inner, e.env.Rand)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	} else {
		chunk := e.cfg.FragmentSize - marker - HeaderLen - genericHeaderLen - 4 - sa.enc.overhead()
		if chunk < 64 {
			return nil, fmt.Errorf("fragment size %d leaves no room for data", e.cfg.FragmentSize)
		}
		total := (len(inner) + chunk - 1) / chunk
		for i := 0; i < total; i++ {
			part := inner[i*chunk : min(len(inner), (i+1)*chunk)]
			next := PayloadNone
			if i == 0 {
				next = first
			}
			m, err := sa.enc.seal(h, &Fragment{Number: uint16(i + 1), Total: uint16(total)}, next, part, e.env.Rand)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	if marker > 0 {
		for i, m := range out {
			out[i] = append([]byte{0, 0, 0, 0}, m...)
		}
	}
	return out, nil
}

func (e *Engine) transmit(sa *ikeSA, msg []byte) {
	sa.outBytes += uint64(len(msg))
	sa.outPackets++
	if err := e.tr.Send(seam.Datagram{Data: msg, Local: sa.local, Remote: sa.remote}); err != nil {
		e.env.Log.Warn("sending IKE message", "gateway", sa.peer.cfg.Name, "to", sa.remote, "err", err)
	}
}

// respond sends the answer to the peer's request h and keeps it for the
// peer's retransmissions.
func (e *Engine) respond(sa *ikeSA, h Header, ps []Payload) {
	ms, err := e.protect(sa, h.Exchange, h.MessageID, true, ps)
	if err != nil {
		e.env.Log.Error("building IKE response", "gateway", sa.peer.cfg.Name, "exchange", h.Exchange.String(), "err", err)
		return
	}
	sa.peerMID = h.MessageID + 1
	sa.lastResp = ms
	for _, m := range ms {
		e.transmit(sa, m)
	}
}

// enqueue adds a request of ours to sa and sends it when the window allows.
func (e *Engine) enqueue(sa *ikeSA, r *request) {
	sa.queue = append(sa.queue, r)
	e.kick(sa)
}

// kick sends the next queued request if none is outstanding.
func (e *Engine) kick(sa *ikeSA) {
	for sa.outReq == nil && len(sa.queue) > 0 && sa.state != ikeClosed && sa.enc != nil {
		if sa.state == ikeAuthSent && sa.queue[0].exch != IKEAuth {
			return
		}
		r := sa.queue[0]
		sa.queue = sa.queue[1:]
		ps, ok := r.build()
		if !ok {
			continue
		}
		r.mid = sa.nextMID
		sa.nextMID++
		ms, err := e.protect(sa, r.exch, r.mid, false, ps)
		if err != nil {
			e.env.Log.Error("building IKE request", "gateway", sa.peer.cfg.Name, "what", r.what, "err", err)
			continue
		}
		r.dgrams = ms
		r.limit = e.cfg.Retransmits
		r.retryAt = e.now().Add(e.cfg.RetransmitBase)
		if !r.fireForget {
			sa.outReq = r
		}
		for _, m := range ms {
			e.transmit(sa, m)
		}
	}
}

// sendNow sends a request at once, without waiting for the window: the
// deletes of a shutdown, whose answers nobody waits for.
func (e *Engine) sendNow(sa *ikeSA, exch ExchangeType, ps []Payload) {
	ms, err := e.protect(sa, exch, sa.nextMID, false, ps)
	if err != nil {
		return
	}
	sa.nextMID++
	for _, m := range ms {
		e.transmit(sa, m)
	}
}

// Tick runs the timers: retransmissions, lifetimes, rekeys, liveness checks
// and negotiations due.
func (e *Engine) Tick() {
	now := e.now()
	if e.secret == nil || !now.Before(e.secretRotateAt) {
		e.oldSecret, e.secret = e.secret, e.random(32)
		e.secretVersion++
		e.secretRotateAt = now.Add(secretLifetime)
	}
	for _, sa := range e.sas {
		e.tickSA(sa, now)
	}
	for _, p := range e.peers {
		e.tickPeer(p, now)
	}
	e.rl.Flush()
}

func (e *Engine) tickSA(sa *ikeSA, now time.Time) {
	if r := sa.outReq; r != nil && !now.Before(r.retryAt) {
		if r.retries >= r.limit {
			sa.outReq = nil
			switch {
			case r.onTimeout != nil:
				r.onTimeout()
			case sa.state == ikeInitSent && sa.initErr != "":
				e.fail(sa, fmt.Sprintf("IKE negotiation with %v failed: %s (no usable answer after %d retransmissions)", sa.remote.Addr(), sa.initErr, r.retries))
			case sa.state == ikeInitSent || sa.state == ikeAuthSent:
				e.fail(sa, fmt.Sprintf("IKE negotiation with %v timed out: no answer to %s after %d retransmissions", sa.remote.Addr(), r.what, r.retries))
			default:
				e.env.Log.Warn(fmt.Sprintf("peer %v is dead: no answer to %s after %d retransmissions", sa.remote.Addr(), r.what, r.retries),
					"gateway", sa.peer.cfg.Name, slog.Bool("security", true))
				e.closeIKE(sa)
			}
			return
		}
		r.retries++
		r.retryAt = now.Add(e.cfg.RetransmitBase << r.retries)
		e.env.Log.Debug("retransmitting", "gateway", sa.peer.cfg.Name, "what", r.what, "try", r.retries)
		for _, m := range r.dgrams {
			e.transmit(sa, m)
		}
	}
	switch sa.state {
	case ikeHalfOpen:
		if !now.Before(sa.deadline) {
			e.drop("half-open IKE SA timed out", "remote", sa.remote)
			e.closeIKE(sa)
		}
	case ikeRekeyed:
		if !now.Before(sa.deadline) && sa.outReq == nil {
			e.deleteIKE(sa)
		}
	case ikeEstablished:
		p := sa.peer
		if !sa.expires.IsZero() && !now.Before(sa.expires) {
			e.security("IKE SA lifetime expired", "gateway", p.cfg.Name, "index", sa.index)
			e.deleteIKE(sa)
			return
		}
		idle := sa.outReq == nil && len(sa.queue) == 0
		if p.ike == sa && idle && sa.rekey == nil && !sa.rekeyAt.IsZero() && !now.Before(sa.rekeyAt) {
			e.startIKERekey(sa)
			return
		}
		if p.cfg.DPDInterval > 0 && idle && now.Sub(sa.lastHeard) >= p.cfg.DPDInterval {
			e.env.Log.Debug("sending liveness check", "gateway", p.cfg.Name)
			e.enqueue(sa, &request{exch: Informational, what: "liveness check", build: func() ([]Payload, bool) { return nil, true },
				onResponse: func(Header, []Payload) {}})
			if t := p.cfg.DPDThreshold; t > 0 && sa.outReq != nil {
				sa.outReq.limit = t
			}
		}
		if sa.natLocal && now.Sub(sa.lastKeepalive) >= natKeepaliveInterval {
			sa.lastKeepalive = now
			if err := e.tr.Send(seam.Datagram{Data: []byte{0xff}, Local: sa.local, Remote: sa.remote}); err != nil {
				e.env.Log.Debug("sending NAT keepalive", "gateway", p.cfg.Name, "err", err)
			}
		}
	}
}

// natKeepaliveInterval is how often a host behind a NAT refreshes its
// mapping (RFC 3948 4; strongSwan's and Junos's default).
const natKeepaliveInterval = 20 * time.Second

func (e *Engine) tickPeer(p *peer, now time.Time) {
	for _, c := range p.children {
		for _, cs := range append([]*childSA(nil), c.sas...) {
			switch {
			case !cs.expireAt.IsZero() && !now.Before(cs.expireAt):
				e.security("IPsec SA lifetime expired", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "spi", fmt.Sprintf("%08x", cs.sa.SPIIn))
				e.deleteChildSA(p, cs)
			case cs.state == csRekeyed && !cs.deadline.IsZero() && !now.Before(cs.deadline):
				e.deleteChildSA(p, cs)
			}
		}
	}
	sa := p.ike
	if sa == nil || sa.state != ikeEstablished {
		// A half-open SA from the peer's address does not hold ours back:
		// anyone can make one by spoofing that address (see handleInitRequest).
		if sa != nil || p.negotiating != nil || p.cfg.dynamic() || now.Before(p.nextAttempt) {
			return
		}
		for _, c := range p.children {
			if c.wanted && c.current() == nil && c.nego == nil {
				e.initiate(p)
				return
			}
		}
		return
	}
	if sa.rekey != nil {
		return // children wait until the IKE SA is rekeyed
	}
	for _, c := range p.children {
		if c.nego != nil || now.Before(c.nextAttempt) {
			continue
		}
		cur := c.current()
		switch {
		case cur == nil && c.wanted:
			e.startChild(sa, c, nil)
		case cur != nil && cur.state == csInstalled && !cur.rekeyAt.IsZero() && !now.Before(cur.rekeyAt):
			e.env.Log.Info("rekeying IPsec SA", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "spi", fmt.Sprintf("%08x", cur.sa.SPIIn))
			e.startChild(sa, c, cur)
		}
	}
}

// fail ends an IKE SA that did not get established and schedules a retry.
func (e *Engine) fail(sa *ikeSA, msg string, args ...any) {
	e.env.Log.Warn(msg, append([]any{"gateway", sa.peer.cfg.Name, "remote", sa.remote.Addr(), "state", sa.state.String()}, args...)...)
	e.closeIKE(sa)
	sa.peer.nextAttempt = e.now().Add(e.cfg.RetryAfter)
}

// closeIKE forgets an IKE SA and, without messages, the Child SAs that
// run under it (RFC 7296 1.4.1).
func (e *Engine) closeIKE(sa *ikeSA) {
	if sa.state == ikeClosed {
		return
	}
	wasHalfOpen := sa.state == ikeHalfOpen
	if sa.state == ikeEstablished || sa.state == ikeRekeyed || sa.state == ikeDeleting {
		e.security("IKE SA deleted", "gateway", sa.peer.cfg.Name, "index", sa.index, "remote", sa.remote)
	}
	sa.state = ikeClosed
	delete(e.sas, sa.ourSPI())
	if e.halfOpen[sa.halfOpen] == sa {
		delete(e.halfOpen, sa.halfOpen)
	}
	p := sa.peer
	if wasHalfOpen {
		p.responders--
	}
	if p.negotiating == sa {
		p.negotiating = nil
	}
	for _, c := range p.children {
		if c.nego != nil && c.nego.sa == sa {
			e.abortNego(c)
		}
	}
	if coll := sa.collision; coll != nil && coll.sa.state == ikeEstablished {
		e.adopt(sa, coll.sa) // the peer's rekey of sa stands
	}
	for _, c := range p.children {
		for _, cs := range append([]*childSA(nil), c.sas...) {
			if cs.ike == sa {
				e.uninstall(p, cs)
				c.wanted = c.wanted || c.cfg.Immediately
			}
		}
	}
	if p.ike != sa {
		return
	}
	p.ike = nil
	for _, o := range e.sas {
		if o.peer == p && o.state == ikeEstablished {
			p.ike = o
			return
		}
	}
}

// adopt moves the Child SAs of IKE SA from to its successor to (RFC 7296
// 1.3.2: a rekeyed IKE SA passes its children on).
func (e *Engine) adopt(from, to *ikeSA) {
	for _, c := range from.peer.children {
		for _, cs := range c.sas {
			if cs.ike == from {
				cs.ike = to
			}
		}
	}
}

// abortNego forgets our negotiation for c.
func (e *Engine) abortNego(c *child) {
	if n := c.nego; n != nil && n.old != nil && n.old.state == csRekeying {
		n.old.state = csInstalled
	}
	c.nego = nil
}

// teardownPeer deletes the peer's IKE SAs and children; with notify it tells the peer.
func (e *Engine) teardownPeer(p *peer, notify bool) {
	for _, sa := range e.sas {
		if sa.peer != p {
			continue
		}
		if notify && (sa.state == ikeEstablished || sa.state == ikeRekeyed) {
			e.sendNow(sa, Informational, []Payload{&Delete{Protocol: ProtoIKE}})
		}
		e.closeIKE(sa)
	}
	for _, c := range p.children {
		for _, cs := range append([]*childSA(nil), c.sas...) {
			e.uninstall(p, cs)
		}
		c.nego = nil
	}
}

// uninstall removes a Child SA pair from the data plane and from its child.
func (e *Engine) uninstall(p *peer, cs *childSA) {
	c := cs.child
	for i, x := range c.sas {
		if x == cs {
			c.sas = append(c.sas[:i:i], c.sas[i+1:]...)
			e.security("IPsec SA down", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "spi_in", fmt.Sprintf("%08x", cs.sa.SPIIn),
				"spi_out", fmt.Sprintf("%08x", cs.sa.SPIOut))
			if err := e.env.Installer.Remove(cs.sa); err != nil {
				e.env.Log.Error("removing IPsec SA", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "err", err)
			}
			if p.ike != nil {
				p.ike.childrenDeleted++
			}
			return
		}
	}
}

// cookieFor computes the cookie for an IKE_SA_INIT:
// version | SHA-256(Ni | IPi | SPIi | secret) (RFC 7296 2.6).
func (e *Engine) cookieFor(version uint32, secret, ni []byte, from netip.AddrPort, spiI uint64) []byte {
	h := sha256.New()
	h.Write(ni)
	h.Write(from.Addr().AsSlice())
	binary.Write(h, binary.BigEndian, spiI)
	h.Write(secret)
	return h.Sum(binary.BigEndian.AppendUint32(nil, version))
}

func (e *Engine) validCookie(c, ni []byte, from netip.AddrPort, spiI uint64) bool {
	if len(c) != 4+sha256.Size {
		return false
	}
	v := binary.BigEndian.Uint32(c)
	switch {
	case v == e.secretVersion && e.secret != nil:
		return hmac.Equal(c, e.cookieFor(v, e.secret, ni, from, spiI))
	case v == e.secretVersion-1 && e.oldSecret != nil:
		return hmac.Equal(c, e.cookieFor(v, e.oldSecret, ni, from, spiI))
	}
	return false
}
