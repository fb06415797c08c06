package ikev2

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

func TestWrongPSK(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	cb.PSK = []byte("other")
	clock, a, b := pair(t, Config{}, ca, cb)
	pump(t, clock, []*side{a, b}, 5*time.Second, func() bool { return false })
	if n := len(a.inst.Installed()) + len(b.inst.Installed()); n != 0 {
		t.Fatalf("%d SAs installed with different keys", n)
	}
	if !strings.Contains(b.log.String(), "pre-shared key mismatch for gateway GW-A; answering AUTHENTICATION_FAILED") {
		t.Errorf("responder log lacks the key mismatch:\n%s", b.log)
	}
	if !strings.Contains(a.log.String(), "rejected our authentication (AUTHENTICATION_FAILED): the pre-shared keys of gateway GW-B differ") {
		t.Errorf("initiator log lacks AUTHENTICATION_FAILED:\n%s", a.log)
	}
	if ikes, _ := b.e.Status(); len(ikes) != 0 {
		t.Errorf("responder keeps %d IKE SAs", len(ikes))
	}
	// And the other way round: the initiator finds the responder's AUTH bad.
	ca.PSK, cb.PSK = []byte("other"), []byte("juniper123")
	clock, a, b = pair(t, Config{}, ca, cb)
	pump(t, clock, []*side{a, b}, 5*time.Second, func() bool { return false })
	if !strings.Contains(a.log.String()+b.log.String(), "pre-shared key mismatch") {
		t.Errorf("no key mismatch logged:\nA:\n%s\nB:\n%s", a.log, b.log)
	}
}

func TestProposalMismatch(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	cb.Proposals = []Proposal{mustProposal(t, "aes256gcm16-prfsha384-ecp384"), mustProposal(t, "aes256-sha512-modp4096")}
	clock, a, b := pair(t, Config{}, ca, cb)
	pump(t, clock, []*side{a, b}, 3*time.Second, func() bool { return false })
	want := "no proposal chosen: the peer offered [ike:aes128-sha256-prfsha256-modp2048], gateway GW-A accepts [ike:aes256gcm16-prfsha384-ecp384 ike:aes256-sha512-prfsha512-modp4096]"
	if !strings.Contains(b.log.String(), want) {
		t.Errorf("responder log lacks %q:\n%s", want, b.log)
	}
	if !strings.Contains(a.log.String(), "the peer accepted none of our IKE proposals [ike:aes128-sha256-prfsha256-modp2048] (NO_PROPOSAL_CHOSEN)") {
		t.Errorf("initiator log:\n%s", a.log)
	}

	// ESP mismatch: the IKE SA comes up, the child does not.
	cb = peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	cb.Children[0].Proposals[0], _ = mustChildProposal(t, "aes256gcm16")
	clock, a, b = pair(t, Config{}, ca, cb)
	pump(t, clock, []*side{a, b}, 3*time.Second, func() bool { return false })
	if ikes, _ := a.e.Status(); len(ikes) != 1 || !ikes[0].Up {
		t.Errorf("IKE SA: %+v", ikes)
	}
	if !strings.Contains(b.log.String(), "no proposal chosen for tunnel VPN-GW-A: 172.16.13.1 offered [esp:aes128-sha256], we accept [esp:aes-gcm-256/None]") {
		t.Errorf("responder log:\n%s", b.log)
	}
	if !strings.Contains(a.log.String(), "accepted none of our ESP proposals [esp:aes-cbc-128/sha256] (NO_PROPOSAL_CHOSEN)") {
		t.Errorf("initiator log:\n%s", a.log)
	}
}

func TestTrafficSelectors(t *testing.T) {
	t.Run("mismatch", func(t *testing.T) {
		ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
		cb := peerCfg(t, "GW-A", addrB, addrA, netip.MustParsePrefix("10.100.33.0/24"), netA, false)
		clock, a, b := pair(t, Config{}, ca, cb)
		pump(t, clock, []*side{a, b}, 3*time.Second, func() bool { return false })
		want := "traffic selectors unacceptable: 172.16.13.1 proposed TSi=10.100.11.0/24 TSr=10.100.22.0/24 (its local, its remote); gateway GW-A has [VPN-GW-A: local 10.100.33.0/24 remote 10.100.11.0/24]; answering TS_UNACCEPTABLE"
		if !strings.Contains(b.log.String(), want) {
			t.Errorf("responder log lacks %q:\n%s", want, b.log)
		}
		if !strings.Contains(a.log.String(), "refused our traffic selectors TSi=10.100.11.0/24 TSr=10.100.22.0/24 (TS_UNACCEPTABLE)") {
			t.Errorf("initiator log:\n%s", a.log)
		}
		if len(a.inst.Installed())+len(b.inst.Installed()) != 0 {
			t.Error("SAs installed")
		}
	})
	t.Run("narrowing", func(t *testing.T) {
		// The initiator asks for /16s; the responder narrows to its /24s.
		ca := peerCfg(t, "GW-B", addrA, addrB, netip.MustParsePrefix("10.100.0.0/16"), netip.MustParsePrefix("10.0.0.0/8"), true)
		cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
		cb.Children[0].Protocol, cb.Children[0].LocalPort = 6, 22
		clock, a, b := pair(t, Config{}, ca, cb)
		pump(t, clock, []*side{a, b}, 5*time.Second, installedBoth(a, b))
		checkPair(t, a, b)
		x := a.inst.Installed()[0]
		if x.Tunnel.Local != netA || x.Tunnel.Remote != netB || x.Tunnel.Protocol != 6 || x.Tunnel.RemotePort != 22 || x.Tunnel.LocalPort != 0 {
			t.Errorf("initiator's narrowed tunnel: %+v", x.Tunnel)
		}
	})
}

func TestRetransmit(t *testing.T) {
	for _, lose := range []int{0, 1, 2, 3} { // the nth datagram of the exchange is lost
		t.Run(fmt.Sprint(lose), func(t *testing.T) {
			ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
			cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
			net := seam.NewPipeNetwork()
			clock := iketest.NewClock(t0)
			a := newSide(t, "A", net, clock, addrA, 1, Config{}, ca)
			b := newSide(t, "B", net, clock, addrB, 2, Config{}, cb)
			n := 0
			net.SetDrop(func(seam.Datagram) bool { n++; return n-1 == lose })
			pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
			checkPair(t, a, b)
			if !strings.Contains(a.log.String(), "retransmitting") {
				t.Errorf("no retransmission logged:\n%s", a.log)
			}
		})
	}
	t.Run("give up", func(t *testing.T) {
		ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
		net := seam.NewPipeNetwork()
		clock := iketest.NewClock(t0)
		a := newSide(t, "A", net, clock, addrA, 1, Config{}, ca)
		pump(t, clock, []*side{a}, 70*time.Second, func() bool { return strings.Contains(a.log.String(), "timed out") })
		if !strings.Contains(a.log.String(), "IKE negotiation with 172.16.23.1 timed out: no answer to IKE_SA_INIT after 5 retransmissions") {
			t.Errorf("log:\n%s", a.log)
		}
	})
}

// childrenOf returns the installed SA pairs by inbound SPI.
func spis(s *side) map[uint32]bool {
	m := map[uint32]bool{}
	for _, c := range s.inst.Installed() {
		m[c.SPIIn] = true
	}
	return m
}

func TestRekeyChild(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	for _, c := range []*PeerConfig{&ca, &cb} {
		c.Children[0].Proposals[0].Lifetime = 10 * time.Minute
		c.Children[0].PFS = 14
		c.DPDInterval = 0
	}
	clock, a, b := pair(t, Config{}, ca, cb)
	sides := []*side{a, b}
	pump(t, clock, sides, time.Minute, installedBoth(a, b))
	first := a.inst.Installed()[0]
	// Rekeyed at 90% less up to 5% of the lifetime, by whichever end comes first.
	pump(t, clock, sides, 10*time.Minute, func() bool { return !spis(a)[first.SPIIn] })
	settle(t, clock, sides)
	checkPair(t, a, b)
	if got := a.inst.Installed()[0]; got.SPIIn == first.SPIIn || clock.Now().Sub(t0) > 9*time.Minute+30*time.Second {
		t.Errorf("not rekeyed before the lifetime ran out (at %v)", clock.Now().Sub(t0))
	}
	if ikes, _ := a.e.Status(); len(ikes) != 1 {
		t.Errorf("IKE SAs after child rekey: %+v", ikes)
	}
}

func TestRekeyIKE(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	for _, c := range []*PeerConfig{&ca, &cb} {
		c.Proposals[0].Lifetime = 20 * time.Minute
		c.DPDInterval = 0
	}
	clock, a, b := pair(t, Config{}, ca, cb)
	sides := []*side{a, b}
	pump(t, clock, sides, time.Minute, installedBoth(a, b))
	child := a.inst.Installed()[0]
	ikes, _ := a.e.Status()
	old := ikes[0].InitiatorCookie
	pump(t, clock, sides, 20*time.Minute, func() bool {
		ikes, _ := a.e.Status()
		return len(ikes) == 1 && ikes[0].InitiatorCookie != old && ikes[0].Up
	})
	settle(t, clock, sides)
	ia, _ := a.e.Status()
	ib, _ := b.e.Status()
	if len(ia) != 1 || len(ib) != 1 || ia[0].InitiatorCookie == old || ia[0].InitiatorCookie != ib[0].InitiatorCookie || ia[0].ResponderCookie != ib[0].ResponderCookie {
		t.Fatalf("IKE SAs after rekey: A %+v\nB %+v\nA log:\n%s\nB log:\n%s", ia, ib, a.log, b.log)
	}
	checkPair(t, a, b)
	if a.inst.Installed()[0].SPIIn != child.SPIIn {
		t.Error("the Child SA did not survive the IKE rekey")
	}
	// The new IKE SA works: rekey the child over it.
	a.e.RekeyChild("VPN-OUT")
	pump(t, clock, sides, time.Minute, func() bool { return !spis(a)[child.SPIIn] })
	settle(t, clock, sides)
	checkPair(t, a, b)
}

func TestDPD(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	ca.DPDThreshold = 3
	net := seam.NewPipeNetwork()
	clock := iketest.NewClock(t0)
	a := newSide(t, "A", net, clock, addrA, 1, Config{}, ca)
	b := newSide(t, "B", net, clock, addrB, 2, Config{}, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	// Quiet for a while: liveness checks are answered.
	pump(t, clock, []*side{a, b}, 35*time.Second, func() bool { return false })
	if !strings.Contains(a.log.String(), "liveness check") || len(a.inst.Installed()) != 1 {
		t.Fatalf("no answered liveness check:\n%s", a.log)
	}
	// B goes silent.
	b.tr.Close()
	pump(t, clock, []*side{a}, 2*time.Minute, func() bool { return len(a.inst.Installed()) == 0 })
	if !strings.Contains(a.log.String(), "peer 172.16.23.1 is dead: no answer to liveness check after 3 retransmissions") {
		t.Errorf("log:\n%s", a.log)
	}
	if len(a.inst.Installed()) != 0 {
		t.Error("children of the dead peer still installed")
	}
}

func TestNATAndFragmentation(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, netip.MustParseAddr("198.51.100.7"), netB, netA, false)
	net := seam.NewPipeNetwork()
	net.SetNAT(addrA, netip.MustParseAddr("198.51.100.7"))
	clock := iketest.NewClock(t0)
	// A fragment size this small splits IKE_AUTH and the CREATE_CHILD_SA messages.
	cfg := Config{FragmentSize: 200}
	a := newSide(t, "A", net, clock, addrA, 1, cfg, ca)
	b := newSide(t, "B", net, clock, addrB, 2, cfg, cb)
	var frags int
	net.SetDrop(func(d seam.Datagram) bool {
		if d.Local.Port() == 4500 && len(d.Data) > 4+HeaderLen && d.Data[4+16] == byte(PayloadSKF) {
			frags++
		}
		return false
	})
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	x, y := a.inst.Installed()[0], b.inst.Installed()[0]
	if x.EncapLocal != 4500 || x.EncapRemote != 4500 || y.EncapLocal != 4500 || y.EncapRemote != 4500 {
		t.Errorf("encapsulation: A %d->%d, B %d->%d", x.EncapLocal, x.EncapRemote, y.EncapLocal, y.EncapRemote)
	}
	if frags == 0 {
		t.Error("no fragments sent")
	}
	a.e.RekeyChild("VPN-OUT")
	pump(t, clock, []*side{a, b}, time.Minute, func() bool { return !spis(a)[x.SPIIn] })
	settle(t, clock, []*side{a, b})
	if ia, ib := a.inst.Installed(), b.inst.Installed(); len(ia) != 1 || len(ib) != 1 || ia[0].SPIIn != ib[0].SPIOut {
		t.Errorf("after rekey: %d and %d SAs", len(ia), len(ib))
	}
	// A is behind the NAT: it keeps the mapping alive.
	var keepalives int
	net.SetDrop(func(d seam.Datagram) bool {
		if len(d.Data) == 1 && d.Data[0] == 0xff {
			keepalives++
		}
		return false
	})
	pump(t, clock, []*side{a, b}, time.Minute, func() bool { return false })
	if keepalives == 0 {
		t.Error("no NAT keepalives")
	}
}

func TestMoreChildrenAndDelete(t *testing.T) {
	netC := netip.MustParsePrefix("10.100.33.0/24")
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	c2a, c2b := ca.Children[0], cb.Children[0]
	c2a.Policy, c2a.Reqid, c2a.Local, c2a.Name = "VPN-OUT2", 2, netC, "second"
	c2b.Policy, c2b.Reqid, c2b.Remote, c2b.Name = "VPN-OUT2", 2, netC, "second"
	c2a.PFS, c2b.PFS = 31, 31
	ca.Children = append(ca.Children, c2a)
	cb.Children = append(cb.Children, c2b)
	clock, a, b := pair(t, Config{}, ca, cb)
	sides := []*side{a, b}
	pump(t, clock, sides, time.Minute, func() bool { return len(a.inst.Installed()) == 2 && len(b.inst.Installed()) == 2 })
	settle(t, clock, sides)
	if len(a.inst.Installed()) != 2 || len(b.inst.Installed()) != 2 {
		t.Fatalf("children: A %d, B %d\nA:\n%s\nB:\n%s", len(a.inst.Installed()), len(b.inst.Installed()), a.log, b.log)
	}
	// Removing the second tunnel deletes it at the peer too.
	a.e.SetPeers([]PeerConfig{{Name: ca.Name, Local: ca.Local, Remote: ca.Remote, PSK: ca.PSK, Proposals: ca.Proposals,
		DPDInterval: ca.DPDInterval, Children: ca.Children[:1]}})
	settle(t, clock, sides)
	if len(a.inst.Installed()) != 1 || len(b.inst.Installed()) != 1 {
		t.Errorf("after removing a tunnel: A %d, B %d", len(a.inst.Installed()), len(b.inst.Installed()))
	}
	// clear ipsec: both ends lose the SAs, the initiator negotiates anew.
	a.e.ClearIPsec()
	settle(t, clock, sides)
	checkPair(t, a, b)
	// clear ike: the peer forgets everything, then the tunnel comes back.
	a.e.ClearIKE()
	if ikes, _ := b.e.Status(); len(b.inst.Installed()) != 0 || len(ikes) != 0 {
		pump(t, clock, sides, time.Second, func() bool { return len(b.inst.Installed()) == 0 })
	}
	pump(t, clock, sides, time.Minute, installedBoth(a, b))
	settle(t, clock, sides)
	checkPair(t, a, b)
}

// TestBothInitiate starts both ends at once: one IKE SA and one Child SA pair result.
// Neither end drops or closes a negotiation because of the other's
// IKE_SA_INIT (that request is unauthenticated and could be spoofed, see
// TestSpoofedInitDoesNotBlockOurTunnel): both IKE SAs authenticate and
// both ends delete the same one of them (resolveTwins).
func TestBothInitiate(t *testing.T) {
	twins := 0
	defer func() {
		if twins == 0 {
			t.Error("no seed had both IKE SAs authenticate")
		}
	}()
	for seed := uint64(1); seed < 6; seed++ {
		ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
		cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, true)
		net := seam.NewPipeNetwork()
		clock := iketest.NewClock(t0)
		a := newSide(t, "A", net, clock, addrA, seed, Config{}, ca)
		b := newSide(t, "B", net, clock, addrB, seed+100, Config{}, cb)
		pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
		settle(t, clock, []*side{a, b})
		checkPair(t, a, b)
		ia, _ := a.e.Status()
		ib, _ := b.e.Status()
		if len(ia) != 1 || len(ib) != 1 {
			t.Errorf("seed %d: IKE SAs: A %d, B %d", seed, len(ia), len(ib))
		}
		if strings.Contains(a.log.String(), "two IKE SAs negotiated at once") {
			twins++
		}
	}
}

// TestInitialContact: A restarts (new engine, same config); B drops the
// stale SAs when A's new IKE_AUTH says INITIAL_CONTACT.
func TestInitialContact(t *testing.T) {
	ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
	net := seam.NewPipeNetwork()
	clock := iketest.NewClock(t0)
	a := newSide(t, "A", net, clock, addrA, 1, Config{}, ca)
	b := newSide(t, "B", net, clock, addrB, 2, Config{}, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	a.tr.Close()
	a2 := newSide(t, "A2", net, clock, addrA, 3, Config{}, ca)
	pump(t, clock, []*side{a2, b}, time.Minute, installedBoth(a2, b))
	settle(t, clock, []*side{a2, b})
	checkPair(t, a2, b)
	if ikes, _ := b.e.Status(); len(ikes) != 1 || !strings.Contains(b.log.String(), "INITIAL_CONTACT") {
		t.Errorf("B keeps %d IKE SAs:\n%s", len(ikes), b.log)
	}
}
