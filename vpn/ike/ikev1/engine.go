package ikev1

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/loop"
	"github.com/palisade/palisade/vpn/ike/isakmp"
	"github.com/palisade/palisade/vpn/ike/ratelog"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// Config tunes an engine. The zero value is the standard setup.
type Config struct {
	IKEPort        uint16        // default 500
	NATTPort       uint16        // default 4500
	Retransmits    int           // retransmissions before giving up, default 5
	RetransmitBase time.Duration // first retransmission delay, doubled each time; default 1s
	RetryAfter     time.Duration // wait before negotiating a failed peer again, default 10s
	// MaxHalfOpen bounds the responder IKE SAs not yet authenticated, over
	// all peers (default 1000); MaxHalfOpenPerSource those from one address
	// (default 5). Main mode message 1 is unauthenticated and anyone can
	// spoof a peer's address, so each costs state until HalfOpenTimeout
	// (default 30s) ends it. Names as in ikev2.Config.
	MaxHalfOpen          int
	MaxHalfOpenPerSource int
	HalfOpenTimeout      time.Duration
}

func (c Config) withDefaults() Config {
	if c.IKEPort == 0 {
		c.IKEPort = 500
	}
	if c.NATTPort == 0 {
		c.NATTPort = 4500
	}
	if c.Retransmits == 0 {
		c.Retransmits = 5
	}
	if c.RetransmitBase == 0 {
		c.RetransmitBase = time.Second
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = 10 * time.Second
	}
	if c.MaxHalfOpen == 0 {
		c.MaxHalfOpen = 1000
	}
	if c.MaxHalfOpenPerSource == 0 {
		c.MaxHalfOpenPerSource = 5
	}
	if c.HalfOpenTimeout == 0 {
		c.HalfOpenTimeout = 30 * time.Second
	}
	return c
}

// peer is one configured gateway with its tunnels.
type peer struct {
	cfg PeerConfig
	// ike is the established IKE SA, or the one we initiated while none is.
	// A responder SA gets here only once it is authenticated: until then it
	// may be anyone's spoof, and must not keep us from initiating.
	ike         *IKESA
	pending     *IKESA // one we initiated beside ike (a phase 1 rekey, or a collision that has not settled)
	children    []*child
	nextAttempt time.Time
}

// child is one tunnel policy and its installed SA pair.
type child struct {
	cfg          seam.ChildConfig
	installed    *seam.ChildSA
	negotiating  bool
	wanted       bool // establish now (immediately, or after an acquire)
	rekeyAt      time.Time
	peerID       string // the IKE identity the installed pair was negotiated with
	installedSeq uint64 // Engine.seq when it was installed
}

// Engine runs IKEv1 for every gateway of one local address. Its methods are
// not safe for concurrent use: call them from one goroutine, or use Run and Do.
type Engine struct {
	cfg       Config
	env       seam.Env
	tr        seam.Transport
	peers     map[string]*peer
	sas       map[isakmp.Cookie]*IKESA
	nextIndex uint32
	cmds      chan func()
	// seq orders SA creation and establishment, to tell a collision (both
	// negotiations ran at once) from a rekey; the clock may not move
	// between the two.
	seq uint64
	// unauth limits the log lines that unauthenticated datagrams can cause.
	unauth *ratelog.Limiter
	// halfOpen counts responder SAs not yet authenticated, in all and by
	// the peer's address.
	halfOpen       int
	halfOpenByAddr map[netip.Addr]int
}

// NewEngine returns an engine sending through tr.
func NewEngine(cfg Config, env seam.Env, tr seam.Transport) *Engine {
	return &Engine{
		cfg: cfg.withDefaults(), env: env, tr: tr,
		peers: map[string]*peer{}, sas: map[isakmp.Cookie]*IKESA{},
		nextIndex: 1, cmds: make(chan func()),
		unauth: ratelog.New(env.Log, env.Now), halfOpenByAddr: map[netip.Addr]int{},
	}
}

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
// changed are torn down; new ones with Immediately negotiate at the next Tick.
func (e *Engine) SetPeers(cfgs []PeerConfig) {
	seam.Reconcile(e.peers, cfgs, func(c PeerConfig) string { return c.Name },
		func(p *peer, c PeerConfig) bool { return samePeer(p.cfg, c) },
		func(name string, p *peer) {
			e.env.Log.Info("removing IKE gateway", "gateway", name)
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

func samePeer(a, b PeerConfig) bool {
	return a.Local == b.Local && a.Remote == b.Remote && string(a.PSK) == string(b.PSK) &&
		fmt.Sprint(a.Proposals) == fmt.Sprint(b.Proposals) && a.DPDInterval == b.DPDInterval && a.DPDThreshold == b.DPDThreshold &&
		fmt.Sprint(a.LocalID) == fmt.Sprint(b.LocalID) && fmt.Sprint(a.RemoteID) == fmt.Sprint(b.RemoteID)
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

// Shutdown deletes every SA, telling each peer, and uninstalls every child.
func (e *Engine) Shutdown() {
	for _, p := range e.peers {
		e.teardownPeer(p, true)
	}
}

func (e *Engine) now() time.Time { return e.env.Now() }

func (e *Engine) random(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(e.env.Rand, b); err != nil {
		panic(fmt.Sprintf("ikev1: reading randomness: %v", err)) // the injected source must not fail
	}
	return b
}

func (e *Engine) randomUint32() uint32 {
	for {
		if v := binary.BigEndian.Uint32(e.random(4)); v >= 256 {
			return v // SPIs below 256 are reserved; message IDs only need nonzero
		}
	}
}

func (e *Engine) peerByRemote(a netip.Addr) *peer {
	for _, p := range e.peers {
		if p.cfg.Remote == a {
			return p
		}
	}
	return nil
}

// HandleDatagram processes one received datagram.
//
// Nothing in a datagram counts before its exchange accepts it: the cleartext
// cookies are no proof of origin. Only a message that decrypts and whose
// HASH verifies may move the peer's address or port (NAT-T float) or count
// as a sign of life for DPD (see authenticated).
func (e *Engine) HandleDatagram(d seam.Datagram) {
	b := d.Data
	if d.Local.Port() == e.cfg.NATTPort {
		if len(b) == 1 && b[0] == 0xff {
			return // NAT keepalive
		}
		if len(b) < 4 || binary.BigEndian.Uint32(b) != 0 {
			return // ESP in UDP belongs to the kernel
		}
		b = b[4:]
	}
	h, err := isakmp.DecodeHeader(b)
	if err != nil {
		e.unauth.Log(slog.LevelDebug, "dropping datagram", "from", d.Remote, "err", err)
		return
	}
	b = b[:h.Length]
	sa := e.sas[h.InitiatorCookie]
	if sa == nil {
		if h.Exchange == isakmp.ExchangeMain && h.ResponderCookie.IsZero() && h.Flags&isakmp.FlagEncryption == 0 {
			e.respondMM1(d, b)
		}
		return
	}
	if sa.remote.Addr() != d.Remote.Addr() {
		return
	}
	if !sa.cr.IsZero() && h.ResponderCookie != sa.cr {
		// The initiator repeats message 1 (with no responder cookie) when
		// our message 2 was lost: answer it again, as we do not retransmit
		// on our own as responder.
		if !sa.initiator && sa.state == mmSentSA && h.ResponderCookie.IsZero() && h.Exchange == isakmp.ExchangeMain && sa.lastRecv == digest(b) {
			e.resend(sa, sa.rt)
		}
		return
	}
	accepted := false
	switch h.Exchange {
	case isakmp.ExchangeMain:
		if sa.lastRecv != (msgDigest{}) && sa.lastRecv == digest(b) {
			e.resend(sa, sa.rt)
			return
		}
		accepted = e.handleMain(sa, d, b)
	case isakmp.ExchangeQuick:
		accepted = e.handleQuick(sa, d, h, b)
	case isakmp.ExchangeInformational:
		accepted = e.handleInformational(sa, d, h, b)
	}
	if accepted {
		sa.progressAt = e.now()
		sa.inBytes += uint64(len(d.Data))
		sa.inPackets++
	}
}

// authenticated records that a message of sa from d decrypted and passed
// its HASH: only now may the peer's NAT mapping move, and only now has the
// peer shown that it is alive.
func (e *Engine) authenticated(sa *IKESA, d seam.Datagram) {
	sa.lastHeard = e.now()
	if d.Local.Port() == e.cfg.NATTPort && sa.nattVID {
		sa.local, sa.remote = d.Local, d.Remote // floated; the peer's NAT mapping may change
	}
}

// send transmits a message of sa. With rt set, the message is kept there:
// with a what it is retransmitted until the exchange's next message arrives;
// without (the last message of an exchange) it is only sent again when the
// peer repeats the message it answers.
func (e *Engine) send(sa *IKESA, msg []byte, rt **retransmitter, what string) {
	if sa.local.Port() == e.cfg.NATTPort {
		msg = append([]byte{0, 0, 0, 0}, msg...) // non-ESP marker (RFC 3948 2.2)
	}
	if rt != nil {
		*rt = &retransmitter{msg: msg, what: what}
		if what != "" {
			(*rt).retryAt = e.now().Add(e.cfg.RetransmitBase)
		}
	}
	e.transmit(sa, msg)
}

func (e *Engine) transmit(sa *IKESA, msg []byte) {
	sa.outBytes += uint64(len(msg))
	sa.outPackets++
	if err := e.tr.Send(seam.Datagram{Data: msg, Local: sa.local, Remote: sa.remote}); err != nil {
		// Rate-limited: a spoofed message 1 makes us send too.
		e.unauth.Warn("sending IKE message", "gateway", sa.peer.cfg.Name, "to", sa.remote, "err", err)
	}
}

func (e *Engine) resend(sa *IKESA, rt *retransmitter) {
	if rt != nil {
		e.transmit(sa, rt.msg)
	}
}

// fail ends a phase 1 negotiation or SA.
func (e *Engine) fail(sa *IKESA, msg string, args ...any) {
	args = append([]any{"gateway", sa.peer.cfg.Name, "remote", sa.remote, "state", sa.state.String()}, args...)
	if ike := sa.peer.ike; ike != nil && ike != sa && ike.state == established {
		// A negotiation beside an established SA (a collision that the
		// other exchange settled): nothing is lost, nothing to retry.
		e.env.Log.Debug(msg, args...)
		sa.state = failed
		e.dropSA(sa)
		return
	}
	e.env.Log.Warn(msg, args...)
	sa.state = failed
	e.dropSA(sa)
	sa.peer.nextAttempt = e.now().Add(e.cfg.RetryAfter)
}

// successor picks the peer's IKE SA when its current one goes: another
// established one (a collision's second, see establish), else a
// negotiation of ours, rather than a third one starting.
func (e *Engine) successor(p *peer) *IKESA {
	var next *IKESA
	for _, sa := range e.sas {
		if sa.peer == p && sa.state == established && sa != p.ike && (next == nil || bytes.Compare(sa.ci[:], next.ci[:]) < 0) {
			next = sa
		}
	}
	if next == nil {
		next, p.pending = p.pending, nil
	}
	return next
}

func (e *Engine) dropSA(sa *IKESA) {
	if e.sas[sa.ci] == sa {
		delete(e.sas, sa.ci)
	}
	e.notHalfOpen(sa)
	sa.dh = nil
	if sa.peer.ike == sa {
		sa.peer.ike = e.successor(sa.peer)
	}
	if sa.peer.pending == sa {
		sa.peer.pending = nil
	}
	for _, ex := range sa.exchanges {
		if ex.child != nil && ex.state != qmDone {
			ex.child.negotiating = false
		}
	}
}

// teardownPeer deletes the peer's IKE SA and children; with notify it tells the peer.
func (e *Engine) teardownPeer(p *peer, notify bool) {
	for _, c := range p.children {
		e.removeChild(p, c, notify)
	}
	if sa := p.ike; sa != nil {
		if notify && sa.state == established {
			spi := append(append([]byte(nil), sa.ci[:]...), sa.cr[:]...)
			e.sendInformational(sa, &isakmp.Delete{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, SPISize: 16, SPIs: [][]byte{spi}})
		}
		if sa.state == established {
			e.env.Log.Info("IKE SA deleted", "gateway", p.cfg.Name, "remote", sa.remote, slog.Bool("security", true))
		}
		sa.state = deleted
		e.dropSA(sa)
	}
	// What remains is ours negotiating (pending) or the peer's, half-open
	// or a collision's loser: none of it may outlive the gateway.
	for _, sa := range e.sas {
		if sa.peer == p {
			sa.state = deleted
			e.dropSA(sa)
		}
	}
}

// removeChild uninstalls a child's SA pair; with notify it sends a delete.
func (e *Engine) removeChild(p *peer, c *child, notify bool) {
	if c.installed == nil {
		return
	}
	if notify && p.ike != nil && p.ike.state == established {
		e.sendInformational(p.ike, &isakmp.Delete{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoESP, SPISize: 4, SPIs: [][]byte{spiBytes(c.installed.SPIIn)}})
	}
	if err := e.env.Installer.Remove(c.installed); err != nil {
		e.env.Log.Error("removing IPsec SA", "tunnel", c.cfg.Name, "err", err)
	}
	e.env.Log.Info("IPsec SA deleted", "gateway", p.cfg.Name, "tunnel", c.cfg.Name,
		"spi_in", fmt.Sprintf("%08x", c.installed.SPIIn), "spi_out", fmt.Sprintf("%08x", c.installed.SPIOut), slog.Bool("security", true))
	if p.ike != nil {
		p.ike.childrenDeleted++
	}
	c.installed = nil
}

// Tick runs the timers: retransmissions, DPD, rekeys and negotiations due.
func (e *Engine) Tick() {
	now := e.now()
	e.unauth.Flush()
	for _, sa := range e.sas {
		if sa.halfOpen && now.Sub(sa.progressAt) >= e.cfg.HalfOpenTimeout {
			// Quietly: a spoofed message 1 is the usual cause, and the
			// peer, if it was real, has its own timeout to report.
			e.unauth.Log(slog.LevelDebug, "dropping half-open IKE SA", "gateway", sa.peer.cfg.Name, "remote", sa.remote, "state", sa.state.String())
			sa.state = failed
			e.dropSA(sa)
			continue
		}
		if sa.rt != nil && sa.rt.what != "" && sa.state != established && !now.Before(sa.rt.retryAt) {
			if !e.retransmit(sa, sa.rt) {
				var args []any
				if sa.peerSaid != "" {
					args = append(args, "peer_said", sa.peerSaid)
				}
				e.fail(sa, fmt.Sprintf("IKE negotiation with %v timed out after %d retransmissions waiting for an answer to %s",
					sa.remote.Addr(), sa.rt.retries, sa.rt.what), args...)
				continue
			}
		}
		for mid, ex := range sa.exchanges {
			if ex.state == qmDone {
				// sa.seen keeps the message ID, so a replay stays refused.
				if now.Sub(ex.done) > time.Minute {
					delete(sa.exchanges, mid)
				}
				continue
			}
			if ex.rt != nil && ex.rt.what != "" && !now.Before(ex.rt.retryAt) && !e.retransmit(sa, ex.rt) {
				e.env.Log.Warn(fmt.Sprintf("quick mode with %v timed out after %d retransmissions", sa.remote.Addr(), ex.rt.retries),
					"gateway", sa.peer.cfg.Name, "tunnel", ex.child.cfg.Name)
				ex.child.negotiating = false
				delete(sa.exchanges, mid)
			}
		}
		if sa.state == established && sa != sa.peer.ike && now.Sub(sa.establishedAt) >= collisionGrace {
			// A collision's second IKE SA (see establish). By now a
			// peer that saw a rekey rather than a collision has deleted
			// the other one, so both sides serve with the same SA.
			spi := append(append([]byte(nil), sa.ci[:]...), sa.cr[:]...)
			e.sendInformational(sa, &isakmp.Delete{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, SPISize: 16, SPIs: [][]byte{spi}})
			e.env.Log.Info("IKE SA deleted", "gateway", sa.peer.cfg.Name, "remote", sa.remote, "reason", "main mode collision", slog.Bool("security", true))
			sa.state = deleted
			e.dropSA(sa)
			continue
		}
		if sa.state == established && sa == sa.peer.ike {
			// Only the SA in use: a silent second one says nothing
			// about the peer.
			e.tickDPD(sa, now)
		}
	}
	for _, p := range e.peers {
		e.tickPeer(p, now)
	}
}

// retransmit resends rt's message with exponential backoff; false when out of tries.
func (e *Engine) retransmit(sa *IKESA, rt *retransmitter) bool {
	if rt.retries >= e.cfg.Retransmits {
		return false
	}
	rt.retries++
	rt.retryAt = e.now().Add(e.cfg.RetransmitBase << rt.retries)
	e.env.Log.Debug("retransmitting", "gateway", sa.peer.cfg.Name, "what", rt.what, "try", rt.retries)
	e.transmit(sa, rt.msg)
	return true
}

// collisionGrace is how long the second IKE SA of a main mode collision
// stays beside the first (see establish): long enough for the peer's
// Delete, if it saw a rekey, to arrive first.
const collisionGrace = 5 * time.Second

// natKeepaliveInterval is how often a host behind a NAT refreshes the
// mapping (RFC 3948 4, strongSwan's and Junos's default).
const natKeepaliveInterval = 20 * time.Second

func (e *Engine) tickPeer(p *peer, now time.Time) {
	for _, c := range p.children {
		// The hard lifetime ran out (the kernel removes its states too).
		if c.installed != nil && c.installed.Lifetime > 0 && !now.Before(c.installed.Established.Add(c.installed.Lifetime)) {
			e.env.Log.Info("IPsec SA lifetime expired", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, slog.Bool("security", true))
			e.removeChild(p, c, true)
			c.wanted = c.wanted || c.cfg.Immediately
		}
	}
	need := false
	for _, c := range p.children {
		if (c.wanted && c.installed == nil) || e.rekeyDue(c, now) {
			need = true
		}
	}
	sa := p.ike
	if sa == nil {
		if need && !now.Before(p.nextAttempt) {
			e.initiateMain(p)
		}
		return
	}
	if sa.state != established {
		return
	}
	if !sa.expires.IsZero() {
		if now.After(sa.expires) {
			// The IPsec SAs live on; a new IKE SA comes when one is needed.
			e.env.Log.Info("IKE SA lifetime expired", "gateway", p.cfg.Name, slog.Bool("security", true))
			spi := append(append([]byte(nil), sa.ci[:]...), sa.cr[:]...)
			e.sendInformational(sa, &isakmp.Delete{DOI: isakmp.DOIIPsec, Protocol: isakmp.ProtoISAKMP, SPISize: 16, SPIs: [][]byte{spi}})
			sa.state = deleted
			e.dropSA(sa)
			return
		}
		rekeyAt := sa.establishedAt.Add(sa.prop.Lifetime * 9 / 10)
		if sa.initiator && p.pending == nil && !now.Before(rekeyAt) && !now.Before(p.nextAttempt) {
			e.env.Log.Info("rekeying IKE SA", "gateway", p.cfg.Name)
			e.initiateMain(p)
		}
	}
	if sa.behindNAT && now.Sub(sa.lastKeepalive) >= natKeepaliveInterval {
		sa.lastKeepalive = now
		if err := e.tr.Send(seam.Datagram{Data: []byte{0xff}, Local: sa.local, Remote: sa.remote}); err != nil {
			e.env.Log.Debug("sending NAT keepalive", "gateway", p.cfg.Name, "err", err)
		}
	}
	for _, c := range p.children {
		switch {
		case c.negotiating:
		case c.installed == nil && c.wanted:
			e.initiateQuick(sa, c, nil)
		case e.rekeyDue(c, now):
			e.env.Log.Info("rekeying IPsec SA", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, "spi", fmt.Sprintf("%08x", c.installed.SPIIn))
			e.initiateQuick(sa, c, c.installed)
		}
	}
}

func (e *Engine) rekeyDue(c *child, now time.Time) bool {
	return c.installed != nil && !c.negotiating && !c.rekeyAt.IsZero() && !now.Before(c.rekeyAt)
}

// Expired reports a kernel lifetime event for the SA with inbound SPI spi:
// soft (kilobytes nearly used up) starts a rekey, hard removes the pair.
func (e *Engine) Expired(spi uint32, hard bool) {
	for _, p := range e.peers {
		for _, c := range p.children {
			if c.installed == nil || (c.installed.SPIIn != spi && c.installed.SPIOut != spi) {
				continue
			}
			if hard {
				e.env.Log.Info("IPsec SA reached its hard lifetime", "gateway", p.cfg.Name, "tunnel", c.cfg.Name, slog.Bool("security", true))
				e.removeChild(p, c, true)
				c.wanted = c.wanted || c.cfg.Immediately
			} else {
				c.rekeyAt = e.now()
			}
		}
	}
}
