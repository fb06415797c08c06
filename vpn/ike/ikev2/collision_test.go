package ikev2

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// heldNet holds every datagram between two engines so that a test decides
// the order of delivery.
type heldNet struct {
	a, b       *side
	held       []seam.Datagram
	logA, logB int // log lengths when the scenario started
}

func (h *heldNet) capture(d seam.Datagram) bool {
	h.held = append(h.held, d)
	return true
}

// deliver hands the i-th held datagram to its destination.
func (h *heldNet) deliver(i int) {
	d := h.held[i]
	h.held = append(h.held[:i:i], h.held[i+1:]...)
	if d.Local.Addr() == addrA {
		h.a.e.HandleDatagram(d)
	} else {
		h.b.e.HandleDatagram(d)
	}
}

// collisionScenario establishes a tunnel, captures the network, and makes
// each end start something at the same instant.
type collisionScenario struct {
	name  string
	start func(a, b *Engine)
}

var collisionScenarios = []collisionScenario{
	{"both rekey the Child SA", func(a, b *Engine) { a.RekeyChild("VPN-OUT"); b.RekeyChild("VPN-OUT") }},
	{"both rekey the IKE SA", func(a, b *Engine) { a.RekeyIKE("GW-B"); b.RekeyIKE("GW-A") }},
	{"IKE rekey against Child rekey", func(a, b *Engine) { a.RekeyIKE("GW-B"); b.RekeyChild("VPN-OUT") }},
	{"Child rekey against IKE rekey", func(a, b *Engine) { a.RekeyChild("VPN-OUT"); b.RekeyIKE("GW-A") }},
	{"Child rekey against delete", func(a, b *Engine) { a.RekeyChild("VPN-OUT"); b.ClearIPsec() }},
}

// runPath replays a scenario with a fixed choice of deliveries. It returns
// the network (for the next choices) and the sides.
func runPath(t *testing.T, sc collisionScenario, seed uint64, path []int) (*heldNet, *iketest.Clock, *side, *side) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, true)
	for _, c := range []*PeerConfig{&ca, &cb} {
		c.Proposals = []Proposal{mustProposal(t, "aes128gcm16-prfsha256-curve25519")}
		c.DPDInterval = 0
	}
	net := seam.NewPipeNetwork()
	clock := iketest.NewClock(t0)
	a := newSideQuiet(t, "A", net, clock, seed, ca)
	b := newSideQuiet(t, "B", net, clock, seed+1000, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	settle(t, clock, []*side{a, b})
	h := &heldNet{a: a, b: b, logA: len(a.log.String()), logB: len(b.log.String())}
	net.SetDrop(h.capture)
	sc.start(a.e, b.e)
	a.e.Tick()
	b.e.Tick()
	for _, i := range path {
		if i >= len(h.held) {
			t.Fatalf("path %v: no datagram %d", path, i)
		}
		h.deliver(i)
	}
	return h, clock, a, b
}

// quietTB keeps the logs of the thousands of replays out of -v output.
type quietTB struct{ testing.TB }

func newSideQuiet(t *testing.T, name string, net *seam.PipeNetwork, clock *iketest.Clock, seed uint64, cfg PeerConfig) *side {
	local := addrA
	if name == "B" {
		local = addrB
	}
	return newSide(quietTB{t}, name, net, clock, local, seed, Config{}, cfg)
}

// TestCollisions explores every order in which the datagrams of two
// simultaneous exchanges (and what follows from them: deletes, the loser's
// cleanup) can arrive, and checks that each ends with one IKE SA and one
// Child SA pair that both ends agree on (RFC 7296 2.8.1, 2.25).
func TestCollisions(t *testing.T) {
	const maxLeaves = 3000
	for _, sc := range collisionScenarios {
		t.Run(sc.name, func(t *testing.T) {
			leaves, resolved := 0, 0
			var explore func(path []int)
			explore = func(path []int) {
				if leaves >= maxLeaves || t.Failed() {
					return
				}
				h, clock, a, b := runPath(t, sc, 7, path)
				if len(h.held) == 0 {
					leaves++
					if checkOutcome(t, fmt.Sprint(path), clock, h, a, b) {
						resolved++
					}
					return
				}
				for i := range h.held {
					explore(append(append([]int(nil), path...), i))
				}
			}
			explore(nil)
			if leaves < 2 {
				t.Errorf("only %d orders explored", leaves)
			}
			t.Logf("%d delivery orders, %d resolved by comparing nonces", leaves, resolved)
			if strings.HasPrefix(sc.name, "both") && resolved == 0 {
				t.Error("no order made the ends compare nonces")
			}
		})
	}
}

// checkOutcome lets the timers run out and checks the steady state.
// It reports whether the nonce rule of RFC 7296 2.8.1 was applied.
func checkOutcome(t *testing.T, path string, clock *iketest.Clock, h *heldNet, a, b *side) bool {
	t.Helper()
	// Anything still to do (retries after TEMPORARY_FAILURE, deadlines of
	// replaced SAs, re-creation after a delete) runs freely now.
	clock.Advance(time.Second)
	settleFree(t, clock, h)
	ia, _ := a.e.Status()
	ib, _ := b.e.Status()
	ok := len(ia) == 1 && len(ib) == 1 && ia[0].Up && ib[0].Up && ia[0].InitiatorCookie == ib[0].InitiatorCookie && ia[0].ResponderCookie == ib[0].ResponderCookie &&
		!ia[0].Established.IsZero() && !ia[0].Established.After(clock.Now())
	if ok {
		ca, cb := a.inst.Installed(), b.inst.Installed()
		ok = len(ca) == 1 && len(cb) == 1 && ca[0].SPIIn == cb[0].SPIOut && ca[0].SPIOut == cb[0].SPIIn && string(ca[0].EncIn) == string(cb[0].EncOut)
	}
	after := a.log.String()[h.logA:] + b.log.String()[h.logB:]
	// The scenario must end by the protocol, not by starting over.
	for _, bad := range []string{"level=ERROR", "is dead", "initiating IKE SA", "timed out"} {
		if strings.Contains(after, bad) {
			ok = false
		}
	}
	if !ok {
		t.Errorf("order %s: A has %d IKE SAs and %d Child SAs, B %d and %d\nA IKE %+v\nB IKE %+v\nA:\n%s\nB:\n%s",
			path, len(ia), len(a.inst.Installed()), len(ib), len(b.inst.Installed()), ia, ib, a.log, b.log)
	}
	return strings.Contains(after, "lowest nonce")
}

// settleFree delivers the held datagrams and everything after them in
// order, advancing the clock, until both engines are idle for long enough
// that replaced SAs have reached their deadlines.
func settleFree(t *testing.T, clock *iketest.Clock, h *heldNet) {
	end := clock.Now().Add(3 * time.Minute)
	for clock.Now().Before(end) {
		for len(h.held) > 0 {
			h.deliver(0)
		}
		clock.Advance(500 * time.Millisecond)
		h.a.e.Tick()
		h.b.e.Tick()
	}
	for len(h.held) > 0 {
		h.deliver(0)
	}
}

// TestBothInitiateOrders explores the delivery orders of two engines that
// initiate to each other at the same instant. Each IKE_SA_INIT is answered
// (neither end can tell the other's from a spoofed one), so both IKE SAs
// may authenticate; every order must end with one IKE SA and one Child SA
// pair that both ends agree on, without a timeout or a new negotiation.
func TestBothInitiateOrders(t *testing.T) {
	maxLeaves := 3000
	if testing.Short() {
		maxLeaves = 300
	}
	leaves, twins := 0, 0
	var explore func(path []int)
	explore = func(path []int) {
		if leaves >= maxLeaves || t.Failed() {
			return
		}
		ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
		cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, true)
		for _, c := range []*PeerConfig{&ca, &cb} {
			c.Proposals = []Proposal{mustProposal(t, "aes128gcm16-prfsha256-curve25519")}
			c.DPDInterval = 0
		}
		net := seam.NewPipeNetwork()
		clock := iketest.NewClock(t0)
		a := newSideQuiet(t, "A", net, clock, 7, ca)
		b := newSideQuiet(t, "B", net, clock, 1007, cb)
		h := &heldNet{a: a, b: b}
		net.SetDrop(h.capture)
		a.e.Tick()
		b.e.Tick()
		h.logA, h.logB = len(a.log.String()), len(b.log.String())
		for _, i := range path {
			h.deliver(i)
		}
		if len(h.held) == 0 {
			leaves++
			checkOutcome(t, fmt.Sprint(path), clock, h, a, b)
			if strings.Contains(a.log.String(), "two IKE SAs negotiated at once") {
				twins++
			}
			return
		}
		for i := range h.held {
			explore(append(append([]int(nil), path...), i))
		}
	}
	explore(nil)
	t.Logf("%d delivery orders, %d with both IKE SAs authenticated", leaves, twins)
	if twins == 0 {
		t.Error("no order had both IKE SAs authenticate")
	}
}
