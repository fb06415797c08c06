package ikev2

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// spoofedInit builds an IKE_SA_INIT as a flood would send it: a valid
// proposal and key share, from an address that never answers.
func spoofedInit(t *testing.T, r *rand.ChaCha8, p Proposal) []byte {
	k, err := p.Group.GenerateKey(r)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 32)
	r.Read(nonce)
	spi := r.Uint64() | 1
	return (&Message{Header: Header{SPIi: spi, Version: Version, Exchange: IKESAInit, Flags: FlagInitiator}, Payloads: []Payload{
		ikeSAPayload([]Proposal{p}, nil), &KE{Group: uint16(p.Group), Data: k.Public()}, &Nonce{Data: nonce},
	}}).Encode()
}

// TestCookieFlood sends IKE_SA_INIT from 1,000 spoofed addresses to a
// responder that answers anybody (a dynamic gateway), while a real peer
// establishes its SA. Past the threshold the responder only hands out
// cookies, so its half-open table stays bounded, and the real peer, which
// returns its cookie, gets through.
func TestCookieFlood(t *testing.T) {
	const threshold = 10
	prop := mustProposal(t, "aes128-sha256-modp2048")
	floodProp := mustProposal(t, "aes128-sha256-curve25519")
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	dyn := peerCfg(t, "ANY", addrB, netip.IPv4Unspecified(), netB, netip.MustParsePrefix("10.200.0.0/16"), false)
	dyn.Proposals = []Proposal{prop, floodProp}
	net := seam.NewPipeNetwork()
	clock := iketest.NewClock(t0)
	cfg := Config{CookieThreshold: threshold}
	a := newSide(t, "A", net, clock, addrA, 1, cfg, ca)
	b := newSide(quietTB{t}, "B", net, clock, addrB, 2, cfg, cb, dyn)
	r := rand.NewChaCha8([32]byte{9})
	var cookies, maxHalfOpen, maxSAs int
	flood := func(n, base int) {
		for i := range n {
			from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte((base + i) >> 8), byte(base + i)}), 500)
			b.e.HandleDatagram(seam.Datagram{Data: spoofedInit(t, r, floodProp), Local: netip.AddrPortFrom(addrB, 500), Remote: from})
			maxHalfOpen = max(maxHalfOpen, b.e.HalfOpen())
			maxSAs = max(maxSAs, len(b.e.sas))
		}
	}
	// What B sends to the spoofed addresses goes nowhere; count the cookies.
	countCookies := func(d seam.Datagram) {
		if d.Remote.Addr().As4()[0] == 198 {
			if m, err := Decode(d.Data); err == nil && len(m.Payloads) == 1 && FindNotify(m.Payloads, Cookie) != nil {
				cookies++
			}
		}
	}
	b.tr = countingTransport{b.tr, countCookies}
	b.e.tr = b.tr
	flood(500, 0)
	// The real peer negotiates while the flood goes on.
	a.e.Tick()
	flood(500, 500)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	checkPair(t, a, b)
	if maxHalfOpen > threshold {
		t.Errorf("half-open IKE SAs reached %d, threshold %d", maxHalfOpen, threshold)
	}
	if maxSAs > threshold+2 {
		t.Errorf("the IKE SA table reached %d entries", maxSAs)
	}
	if cookies < 1000-threshold {
		t.Errorf("%d cookies for 1000 spoofed requests", cookies)
	}
	if !strings.Contains(a.log.String(), "peer asks for a cookie") {
		t.Errorf("the real peer got no cookie:\n%s", a.log)
	}
	// Half-open SAs of the flood time out.
	pump(t, clock, []*side{a, b}, time.Minute, func() bool { return b.e.HalfOpen() == 0 })
	if n := b.e.HalfOpen(); n != 0 {
		t.Errorf("%d half-open SAs left after their timeout", n)
	}
}

type countingTransport struct {
	seam.Transport
	f func(seam.Datagram)
}

func (c countingTransport) Send(d seam.Datagram) error {
	c.f(d)
	return c.Transport.Send(d)
}
