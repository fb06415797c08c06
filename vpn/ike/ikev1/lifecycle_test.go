package ikev1

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/seam"
)

func TestPhase1Rekey(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	ca.Proposals[0].Lifetime = 200 * time.Second
	cb.Proposals[0].Lifetime = 200 * time.Second
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	child, _ := checkPair(t, a, b)
	before, _ := a.e.Status()
	pump(t, clock, []*side{a, b}, 3*time.Minute, func() bool {
		ikes, _ := a.e.Status()
		return len(ikes) == 1 && ikes[0].Up && ikes[0].InitiatorCookie != before[0].InitiatorCookie
	})
	after, _ := a.e.Status()
	if len(after) != 1 || after[0].InitiatorCookie == before[0].InitiatorCookie {
		t.Fatalf("no phase 1 rekey: %+v\n%s", after, a.log)
	}
	if bi, _ := b.e.Status(); len(bi) != 1 || bi[0].InitiatorCookie != after[0].InitiatorCookie {
		t.Errorf("B's IKE SAs after the rekey: %+v", bi)
	}
	// The IPsec SA survived the phase 1 rekey (make before break).
	if got := a.inst.Installed(); len(got) != 1 || got[0].SPIIn != child.SPIIn {
		t.Errorf("the IPsec SA changed with the phase 1 rekey")
	}
	// And quick mode works on the new IKE SA.
	a.e.ClearIPsec()
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	checkPair(t, a, b)
}

func TestNATKeepalive(t *testing.T) {
	inside := netip.MustParseAddr("192.168.1.10")
	ca := peerCfg("GW-B", inside, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	net, clock, a, b := pair(t, ca, cb)
	net.SetNAT(inside, addrA)
	keepalives := 0
	net.SetDrop(func(d seam.Datagram) bool {
		if len(d.Data) == 1 && d.Data[0] == 0xff {
			keepalives++
			if d.Remote.Addr() != addrA || d.Local.Port() != 4500 {
				t.Errorf("keepalive %v -> %v", d.Remote, d.Local)
			}
		}
		return false
	})
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	pump(t, clock, []*side{a, b}, 61*time.Second, func() bool { return false })
	if keepalives < 3 {
		t.Errorf("%d NAT keepalives in a minute behind a NAT, want 3", keepalives)
	}
}

func TestSoftExpireRekeys(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	first, _ := checkPair(t, a, b)
	b.e.Expired(first.SPIOut, false) // B's inbound SPI is A's outbound: kilobytes used up at B
	pump(t, clock, []*side{a, b}, 10*time.Second, func() bool {
		ia, ib := a.inst.Installed(), b.inst.Installed()
		return len(ib) == 1 && ib[0].SPIOut != first.SPIIn && len(ia) == 1 && ia[0].SPIIn != first.SPIIn
	})
	second, _ := checkPair(t, a, b)
	if second.SPIIn == first.SPIIn {
		t.Errorf("soft expire did not rekey")
	}
	a.e.Expired(second.SPIIn, true)
	if len(a.inst.Installed()) != 0 {
		t.Errorf("hard expire kept the SA")
	}
}

func TestPeerReboot(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	net, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	// B reboots: a new engine with nothing of the old state.
	b.tr.Close()
	b = newSide(t, "B2", net, clock, addrB, 3, cb)
	start := clock.Now()
	pump(t, clock, []*side{a, b}, 3*time.Minute, installedBoth(a, b))
	checkPair(t, a, b)
	// DPD: idle 10s, then 3 unanswered R-U-THEREs 10s apart, then one negotiation.
	if took := clock.Now().Sub(start); took > 50*time.Second {
		t.Errorf("tunnel back after %v, want within the DPD detection time plus one negotiation", took)
	}
	if !strings.Contains(a.log.String(), "is dead") {
		t.Errorf("A did not detect the reboot by DPD")
	}
}

// TestGarbageFlood sends 100,000 random and mutated datagrams to both ports
// of an engine with a live tunnel; the tunnel must stay.
func TestGarbageFlood(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	ikes, _ := b.e.Status()
	sa := b.e.sas[[8]byte(mustHex(ikes[0].InitiatorCookie))]
	r := rand.New(rand.NewPCG(1, 2))
	n := 100000
	if testing.Short() {
		n = 10000
	}
	for i := range n {
		buf := make([]byte, r.IntN(300))
		for j := range buf {
			buf[j] = byte(r.Uint32())
		}
		port := uint16(500)
		if i%2 == 1 {
			port = 4500
			if len(buf) >= 4 {
				copy(buf, []byte{0, 0, 0, 0})
			}
		}
		off := 0
		if port == 4500 {
			off = 4
		}
		if i%3 == 0 && len(buf) >= off+28 { // aim at the live SA with a plausible header
			copy(buf[off:], sa.ci[:])
			copy(buf[off+8:], sa.cr[:])
			buf[off+17] = 0x10
			buf[off+18] = []byte{2, 5, 32}[r.IntN(3)]
			buf[off+24], buf[off+25], buf[off+26], buf[off+27] = 0, 0, 0, byte(len(buf)-off)
		}
		from := netip.AddrPortFrom(addrA, port)
		if i%5 == 0 {
			from = netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(r.Uint32()), 1, 2, 3}), port)
		}
		b.e.HandleDatagram(seam.Datagram{Data: buf, Local: netip.AddrPortFrom(addrB, port), Remote: from})
	}
	b.e.Tick()
	if len(b.inst.Installed()) != 1 {
		t.Fatal("the flood removed the tunnel")
	}
	// The tunnel still works: clear and renegotiate.
	a.e.ClearIPsec()
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	checkPair(t, a, b)
}
