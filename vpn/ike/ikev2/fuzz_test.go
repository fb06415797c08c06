package ikev2

import (
	"bytes"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// FuzzDecode checks that decoding never panics and that whatever decodes
// encodes to bytes that decode and encode to themselves.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		b1 := m.Encode()
		m2, err := Decode(b1)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", b1, err)
		}
		if b2 := m2.Encode(); !bytes.Equal(b1, b2) {
			t.Fatalf("round trip differs:\n%x\n%x", b1, b2)
		}
	})
}

// FuzzDecodePayloads does the same for a payload chain (the inside of an
// SK payload), its first byte naming the first payload.
func FuzzDecodePayloads(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		ps, err := DecodePayloads(PayloadType(b[0]), b[1:])
		if err != nil || len(ps) == 0 {
			return
		}
		b1 := AppendPayloads(nil, ps)
		ps2, err := DecodePayloads(ps[0].Type(), b1)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", b1, err)
		}
		if b2 := AppendPayloads(nil, ps2); !bytes.Equal(b1, b2) {
			t.Fatalf("round trip differs:\n%x\n%x", b1, b2)
		}
	})
}

// FuzzHandleDatagram feeds an engine with an established IKE SA arbitrary
// datagrams on both ports, and arbitrary payloads encrypted under the SA as
// requests and responses, so that the handlers behind the integrity check
// are reached too. Nothing may panic.
func FuzzHandleDatagram(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		a, bs, sa := establishedPair(t)
		switch mode % 4 {
		case 0:
			bs.e.HandleDatagram(seam.Datagram{Data: b, Local: netip.AddrPortFrom(addrB, 500), Remote: netip.AddrPortFrom(addrA, 500)})
		case 1:
			bs.e.HandleDatagram(seam.Datagram{Data: append([]byte{0, 0, 0, 0}, b...), Local: netip.AddrPortFrom(addrB, 4500), Remote: netip.AddrPortFrom(addrA, 4500)})
		default:
			if len(b) == 0 {
				return
			}
			exch := []ExchangeType{CreateChildSA, Informational}[mode%2]
			h := Header{SPIi: sa.spiI, SPIr: sa.spiR, Version: Version, Exchange: exch, Flags: FlagInitiator, MessageID: sa.nextMID}
			m, err := sa.enc.seal(h, nil, PayloadType(b[0]), b[1:], rand.NewChaCha8([32]byte{}))
			if err != nil {
				t.Fatal(err)
			}
			bs.e.HandleDatagram(seam.Datagram{Data: m, Local: netip.AddrPortFrom(addrB, 500), Remote: netip.AddrPortFrom(addrA, 500)})
		}
		bs.e.Tick()
		a.e.Tick()
	})
}

// establishedPair returns A and B with an IKE SA up, and A's SA.
func establishedPair(t *testing.T) (*side, *side, *ikeSA) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	for _, c := range []*PeerConfig{&ca, &cb} {
		c.Proposals = []Proposal{mustProposal(t, "aes128-sha256-curve25519")}
	}
	net := seam.NewPipeNetwork()
	clock := iketest.NewClock(t0)
	mk := func(name string, local netip.Addr, seed byte, c PeerConfig) *side {
		tr := net.Attach(netip.AddrPortFrom(local, 500), netip.AddrPortFrom(local, 4500))
		s := &side{name: name, tr: tr, inst: seam.NewRecordingInstaller(), log: &iketest.SyncBuffer{}}
		s.e = NewEngine(Config{}, seam.Env{Now: clock.Now, Rand: rand.NewChaCha8([32]byte{seed}), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Installer: s.inst}, tr)
		s.e.SetPeers([]PeerConfig{c})
		return s
	}
	a, b := mk("A", addrA, 1, ca), mk("B", addrB, 2, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	sa := a.e.peers["GW-B"].ike
	if sa == nil {
		t.Fatal("no IKE SA")
	}
	return a, b, sa
}
