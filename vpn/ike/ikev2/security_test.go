package ikev2

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// TestSpoofedInitDoesNotBlockOurTunnel: an attacker who knows the peer's
// address sends a well-formed IKE_SA_INIT in its name every 2 s. Neither
// the collision rule nor the half-open SAs it leaves may stop the tunnel
// we initiate to the real peer.
func TestSpoofedInitDoesNotBlockOurTunnel(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	clock, a, b := pair(t, Config{}, ca, cb)
	r := rand.NewChaCha8([32]byte{42})
	sides := []*side{a, b}
	var upSince time.Time
	for clock.Now().Sub(t0) < 10*time.Minute {
		a.e.HandleDatagram(seam.Datagram{Data: spoofedInit(t, r, ca.Proposals[0]), Local: netip.AddrPortFrom(addrA, 500), Remote: netip.AddrPortFrom(addrB, 500)})
		pump(t, clock, sides, 2*time.Second, func() bool { return false })
		up := len(a.inst.Installed()) == 1 && len(b.inst.Installed()) == 1
		switch {
		case up && upSince.IsZero():
			upSince = clock.Now()
		case !up && !upSince.IsZero():
			t.Fatalf("the tunnel went down at %v after coming up at %v\nA:\n%s", clock.Now().Sub(t0), upSince.Sub(t0), a.log)
		}
	}
	if upSince.IsZero() || upSince.Sub(t0) > 10*time.Second {
		t.Fatalf("tunnel up at %v, want within 10s\nA:\n%s", upSince.Sub(t0), a.log)
	}
	checkPair(t, a, b)
	if ikes, _ := a.e.Status(); countUp(ikes) != 1 {
		t.Errorf("A's IKE SAs: %+v", ikes)
	}
}

func countUp(ikes []seam.IKESAStatus) int {
	n := 0
	for _, s := range ikes {
		if s.Up {
			n++
		}
	}
	return n
}

// TestForgedDatagramMovesNothing: the SPIs are cleartext, so anyone can
// send a datagram that names an established IKE SA. Without a valid
// integrity check it must not float the peer's port (RFC 7296 2.23), count
// as a sign of life or traffic, or make us send anything.
func TestForgedDatagramMovesNothing(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, netip.MustParseAddr("198.51.100.7"), netB, netA, false)
	net := seam.NewPipeNetwork()
	net.SetNAT(addrA, netip.MustParseAddr("198.51.100.7"))
	clock := iketest.NewClock(t0)
	a := newSide(t, "A", net, clock, addrA, 1, Config{}, ca)
	b := newSide(t, "B", net, clock, addrB, 2, Config{}, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	settle(t, clock, []*side{a, b})
	var sa *ikeSA
	for _, x := range b.e.sas {
		if x.state == ikeEstablished {
			sa = x
		}
	}
	if sa == nil || sa.remote.Port() != 4500 {
		t.Fatalf("B has no established IKE SA on 4500: %+v", sa)
	}
	clock.Advance(3 * time.Second)
	remote, heard, inP, outP := sa.remote, sa.lastHeard, sa.inPackets, sa.outPackets
	for _, mid := range []uint32{sa.peerMID, sa.peerMID - 1, sa.peerMID + 1} {
		for _, resp := range []bool{false, true} {
			h := Header{SPIi: sa.spiI, SPIr: sa.spiR, Version: Version, Exchange: Informational, MessageID: mid, Flags: FlagInitiator}
			if resp {
				h.Flags |= FlagResponse
				h.MessageID = sa.nextMID - 1
			}
			m := (&Message{Header: h, Payloads: []Payload{&Encrypted{NextInner: PayloadNone, Body: make([]byte, 64)}}}).Encode()
			from := netip.AddrPortFrom(sa.remote.Addr(), 4501)
			b.e.HandleDatagram(seam.Datagram{Data: append([]byte{0, 0, 0, 0}, m...), Local: sa.local, Remote: from})
		}
	}
	if sa.remote != remote {
		t.Errorf("peer address: got %v, want %v", sa.remote, remote)
	}
	if !sa.lastHeard.Equal(heard) {
		t.Errorf("last heard: got %v, want %v", sa.lastHeard, heard)
	}
	if sa.inPackets != inP || sa.outPackets != outP {
		t.Errorf("packets in/out: got %d/%d, want %d/%d", sa.inPackets, sa.outPackets, inP, outP)
	}
	if n := len(b.tr.Receive()) + len(a.tr.Receive()); n != 0 {
		t.Errorf("%d datagrams sent because of forged ones", n)
	}
}

// TestSpoofFloodLogLines: what unauthenticated packets cause is logged at
// most once a second per cause.
func TestSpoofFloodLogLines(t *testing.T) {
	ca := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	dyn := peerCfg(t, "ANY", addrB, netip.IPv4Unspecified(), netB, netip.MustParsePrefix("10.200.0.0/16"), false)
	net := seam.NewPipeNetwork()
	clock := iketest.NewClock(t0)
	b := newSide(quietTB{t}, "B", net, clock, addrB, 2, Config{}, ca, dyn)
	b.e.Tick()
	r := rand.NewChaCha8([32]byte{9})
	good := mustProposal(t, "aes128-sha256-modp2048")
	bad := mustProposal(t, "aes256gcm16-prfsha384-ecp384")
	local := netip.AddrPortFrom(addrB, 500)
	before, beforeLen := strings.Count(b.log.String(), "\n"), len(b.log.String())
	for i := range 1000 {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 500)
		b.e.HandleDatagram(seam.Datagram{Data: spoofedInit(t, r, good), Local: local, Remote: from})
		b.e.HandleDatagram(seam.Datagram{Data: spoofedInit(t, r, bad), Local: local, Remote: from})
		b.e.HandleDatagram(seam.Datagram{Data: spoofedInit(t, r, bad), Local: local, Remote: netip.AddrPortFrom(addrA, 500)})
		b.e.HandleDatagram(seam.Datagram{Data: []byte("garbage that is not IKE at all, but long enough"), Local: local, Remote: from})
		unknown := (&Message{Header: Header{SPIi: r.Uint64(), SPIr: r.Uint64(), Version: Version, Exchange: IKEAuth, Flags: FlagInitiator},
			Payloads: []Payload{&Encrypted{NextInner: PayloadIDi, Body: make([]byte, 64)}}}).Encode()
		b.e.HandleDatagram(seam.Datagram{Data: unknown, Local: local, Remote: from})
		if i%100 == 0 {
			clock.Advance(10 * time.Millisecond)
		}
	}
	during := strings.Count(b.log.String(), "\n") - before
	// The half-open SAs time out; the held counts are reported.
	for range 60 {
		clock.Advance(time.Second)
		b.e.Tick()
	}
	total := strings.Count(b.log.String(), "\n") - before
	t.Logf("5,000 spoofed datagrams: %d lines at once, %d after the timeouts:\n%s", during, total, b.log.String()[beforeLen:])
	if during > 10 || total > 20 {
		t.Errorf("5,000 spoofed datagrams logged %d lines (%d after the timeouts), want at most 10 (20):\n%s", during, total, b.log)
	}
	if b.e.HalfOpen() != 0 {
		t.Errorf("%d half-open SAs left", b.e.HalfOpen())
	}
}

// TestDynamicGatewayByID: with several dynamic gateways the responder picks
// the gateway (and so the PSK) by the identity the initiator sends, not by
// the order of a map.
func TestDynamicGatewayByID(t *testing.T) {
	type road struct {
		id, psk string
		addr    netip.Addr
		net     netip.Prefix
	}
	roads := []road{
		{"alice.example", "alice-key", netip.MustParseAddr("192.0.2.11"), netip.MustParsePrefix("10.201.0.0/24")},
		{"bob.example", "bob-key", netip.MustParseAddr("192.0.2.12"), netip.MustParsePrefix("10.202.0.0/24")},
		{"carol.example", "carol-key", netip.MustParseAddr("192.0.2.13"), netip.MustParsePrefix("10.203.0.0/24")},
	}
	gateways := func(fallback bool) []PeerConfig {
		var gws []PeerConfig
		for _, rd := range roads {
			g := peerCfg(t, "DYN-"+rd.id, addrB, netip.IPv4Unspecified(), netB, rd.net, false)
			g.PSK, g.RemoteID = []byte(rd.psk), IDName(IDFQDN, rd.id)
			gws = append(gws, g)
		}
		if fallback {
			g := peerCfg(t, "DYN-ANY", addrB, netip.IPv4Unspecified(), netB, netip.MustParsePrefix("10.209.0.0/24"), false)
			g.PSK = []byte("any-key")
			gws = append(gws, g)
		}
		return gws
	}
	initiator := func(rd road) PeerConfig {
		c := peerCfg(t, "GW-B", rd.addr, addrB, rd.net, netB, true)
		c.PSK, c.LocalID = []byte(rd.psk), IDName(IDFQDN, rd.id)
		return c
	}
	for run := range 12 {
		net := seam.NewPipeNetwork()
		clock := iketest.NewClock(t0)
		b := newSide(quietTB{t}, "B", net, clock, addrB, uint64(100+run), Config{}, gateways(run%2 == 1)...)
		sides := []*side{b}
		for i, rd := range roads {
			sides = append(sides, newSide(quietTB{t}, rd.id, net, clock, rd.addr, uint64(run*10+i), Config{}, initiator(rd)))
		}
		pump(t, clock, sides, 20*time.Second, func() bool {
			for _, s := range sides[1:] {
				if len(s.inst.Installed()) == 0 {
					return false
				}
			}
			return true
		})
		ikes, _ := b.e.Status()
		got := map[string]string{}
		for _, s := range ikes {
			if s.Up {
				got[s.PeerID] = s.Gateway
			}
		}
		for _, rd := range roads {
			if got[rd.id] != "DYN-"+rd.id {
				t.Fatalf("run %d: %s got gateway %q, want %q (all: %v)\nB:\n%s", run, rd.id, got[rd.id], "DYN-"+rd.id, got, b.log)
			}
		}
	}
	// An identity no gateway names: the fallback (the one dynamic gateway
	// without remote-identity) takes it when there is one, else
	// AUTHENTICATION_FAILED.
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprint("fallback=", fallback), func(t *testing.T) {
			net := seam.NewPipeNetwork()
			clock := iketest.NewClock(t0)
			b := newSide(t, "B", net, clock, addrB, 7, Config{}, gateways(fallback)...)
			dave := initiator(road{"dave.example", "any-key", netip.MustParseAddr("192.0.2.14"), netip.MustParsePrefix("10.209.0.0/24")})
			d := newSide(t, "dave", net, clock, netip.MustParseAddr("192.0.2.14"), 8, Config{}, dave)
			pump(t, clock, []*side{b, d}, 5*time.Second, func() bool { return len(d.inst.Installed()) > 0 })
			ikes, _ := b.e.Status()
			if fallback {
				if countUp(ikes) != 1 || ikes[0].Gateway != "DYN-ANY" {
					t.Errorf("B's IKE SAs: %+v", ikes)
				}
				return
			}
			if countUp(ikes) != 0 || !strings.Contains(d.log.String(), "AUTHENTICATION_FAILED") {
				t.Errorf("B's IKE SAs: %+v\ndave:\n%s", ikes, d.log)
			}
			if !strings.Contains(b.log.String(), "dave.example") {
				t.Errorf("B's log does not name the identity:\n%s", b.log)
			}
		})
	}
}

// TestHugeLifetime: a lifetime near the limit of time.Duration must not
// wrap into a rekey time in the past.
func TestHugeLifetime(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	for _, c := range []*PeerConfig{&ca, &cb} {
		c.Proposals[0].Lifetime = 1_500_000_000 * time.Second // 47 years: lt*9 wraps
		c.Children[0].Proposals[0].Lifetime = 1_500_000_000 * time.Second
		c.DPDInterval = 0
	}
	clock, a, b := pair(t, Config{}, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	first, _ := a.e.Status()
	child := a.inst.Installed()[0]
	pump(t, clock, []*side{a, b}, 2*time.Minute, func() bool { return false })
	ikes, _ := a.e.Status()
	if len(ikes) != 1 || ikes[0].InitiatorCookie != first[0].InitiatorCookie || ikes[0].ExpiresIn <= 0 {
		t.Errorf("IKE SAs after 2 minutes: %+v, want %+v", ikes, first)
	}
	if got := a.inst.Installed(); len(got) != 1 || got[0].SPIIn != child.SPIIn {
		t.Errorf("Child SA rekeyed or lost: %+v", got)
	}
	if l := a.log.String() + b.log.String(); strings.Contains(l, "rekeying") || strings.Contains(l, "expired") {
		t.Errorf("rekeyed or expired:\nA:\n%s\nB:\n%s", a.log, b.log)
	}
}

// TestInitialContactScope: INITIAL_CONTACT removes only the established IKE
// SAs of the same identity, tells the peer about them with a Delete, and
// leaves exchanges in progress alone.
func TestInitialContactScope(t *testing.T) {
	t.Run("fixed gateway", func(t *testing.T) {
		ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
		cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
		net := seam.NewPipeNetwork()
		clock := iketest.NewClock(t0)
		a := newSide(t, "A", net, clock, addrA, 1, Config{}, ca)
		b := newSide(t, "B", net, clock, addrB, 2, Config{}, cb)
		pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
		settle(t, clock, []*side{a, b})
		old := b.e.peers["GW-A"].ike
		a.tr.Close()
		a2 := newSide(t, "A2", net, clock, addrA, 3, Config{}, ca)
		// B starts its own negotiation just before A2's IKE_AUTH arrives.
		var deletes int
		var ours *ikeSA
		oursAlive := false
		net.SetDrop(func(d seam.Datagram) bool {
			h, err := DecodeHeader(d.Data)
			if err != nil {
				return false
			}
			if h.Exchange == Informational && h.SPIi == old.spiI && h.SPIr == old.spiR && !h.IsResponse() {
				deletes++
			}
			if h.Exchange == IKEAuth && !h.IsResponse() && d.Remote.Addr() == addrA && ours == nil {
				b.e.initiate(b.e.peers["GW-A"])
				ours = b.e.peers["GW-A"].negotiating
			}
			// B answers A2's IKE_AUTH after handling its INITIAL_CONTACT.
			if h.Exchange == IKEAuth && h.IsResponse() && d.Remote.Addr() == addrB && ours != nil {
				oursAlive = ours.state != ikeClosed
			}
			return false
		})
		pump(t, clock, []*side{a2, b}, time.Minute, func() bool { return len(a2.inst.Installed()) > 0 })
		if ours == nil || !oursAlive {
			t.Fatalf("INITIAL_CONTACT ended B's negotiation in progress:\n%s", b.log)
		}
		if old.state != ikeClosed {
			t.Errorf("the stale IKE SA is %v", old.state)
		}
		if deletes == 0 {
			t.Errorf("B sent no Delete for the IKE SA it dropped:\n%s", b.log)
		}
		settle(t, clock, []*side{a2, b})
		pump(t, clock, []*side{a2, b}, time.Minute, func() bool { return false })
		checkPair(t, a2, b)
		ia, _ := a2.e.Status()
		ib, _ := b.e.Status()
		if countUp(ia) != 1 || countUp(ib) != 1 {
			t.Errorf("IKE SAs: A2 %+v\nB %+v", ia, ib)
		}
	})
	t.Run("dynamic gateway, other identity", func(t *testing.T) {
		dyn := peerCfg(t, "ANY", addrB, netip.IPv4Unspecified(), netB, netip.MustParsePrefix("10.200.0.0/16"), false)
		net := seam.NewPipeNetwork()
		clock := iketest.NewClock(t0)
		b := newSide(t, "B", net, clock, addrB, 2, Config{}, dyn)
		sides := []*side{b}
		for i, name := range []string{"one.example", "two.example"} {
			addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(21 + i)})
			c := peerCfg(t, "GW-B", addr, addrB, netip.MustParsePrefix(fmt.Sprintf("10.200.%d.0/24", i+1)), netB, true)
			c.LocalID = IDName(IDFQDN, name)
			sides = append(sides, newSide(t, name, net, clock, addr, uint64(10+i), Config{}, c))
			pump(t, clock, sides, 20*time.Second, func() bool { return len(sides[len(sides)-1].inst.Installed()) > 0 })
		}
		ikes, _ := b.e.Status()
		if countUp(ikes) != 2 {
			t.Errorf("B's IKE SAs: %+v\n%s", ikes, b.log)
		}
	})
}

// forgedInitResponse is an IKE_SA_INIT response with a notify, as anyone
// who saw our request (and so our SPI) can send.
func forgedInitResponse(spiI uint64, n NotifyType, data []byte) []byte {
	return (&Message{Header: Header{SPIi: spiI, SPIr: 0, Version: Version, Exchange: IKESAInit, Flags: FlagResponse},
		Payloads: []Payload{&Notify{NotifyType: n, Data: data}}}).Encode()
}

// TestForgedInitErrorDoesNotEndNegotiation: an error in an IKE_SA_INIT
// response is unauthenticated; it must not end the negotiation at once
// while the real answer may still come.
func TestForgedInitErrorDoesNotEndNegotiation(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	clock, a, b := pair(t, Config{}, ca, cb)
	forged := false
	a.e.Tick()
	if n := a.e.peers["GW-B"].negotiating; n != nil {
		for _, x := range []NotifyType{NoProposalChosen, AuthenticationFailed} {
			a.e.HandleDatagram(seam.Datagram{Data: forgedInitResponse(n.spiI, x, nil), Local: n.local, Remote: n.remote})
		}
		a.e.HandleDatagram(seam.Datagram{Data: forgedInitResponse(n.spiI, InvalidKEPayload, binary.BigEndian.AppendUint16(nil, 99)), Local: n.local, Remote: n.remote})
		forged = true
	}
	if !forged {
		t.Fatal("A did not initiate")
	}
	pump(t, clock, []*side{a, b}, 3*time.Second, installedBoth(a, b))
	checkPair(t, a, b)
}

// TestSecurityEvents: the lines for IKE and IPsec SAs coming up and going
// carry security=true, so that the box keeps them apart from the flood.
func TestSecurityEvents(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	clock, a, b := pair(t, Config{}, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	a.e.ClearIKE()
	pump(t, clock, []*side{a, b}, time.Second, func() bool { return len(b.inst.Installed()) == 0 })
	for _, s := range []*side{a, b} {
		for _, msg := range []string{"IKE SA established", "IPsec SA established", "IPsec SA down", "IKE SA deleted"} {
			found := false
			for _, line := range strings.Split(s.log.String(), "\n") {
				if strings.Contains(line, `msg="`+msg+`"`) {
					found = true
					if !strings.Contains(line, "security=true") {
						t.Errorf("%s: %q lacks security=true", s.name, line)
					}
				}
			}
			if !found {
				t.Errorf("%s: no %q line:\n%s", s.name, msg, s.log)
			}
		}
	}
}
