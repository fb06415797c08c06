package ikev1

import (
	"bytes"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/isakmp"
	"github.com/palisade/palisade/vpn/ike/seam"
)

var (
	addrA = netip.MustParseAddr("172.16.13.1")
	addrB = netip.MustParseAddr("172.16.23.1")
	netA  = netip.MustParsePrefix("10.100.11.0/24")
	netB  = netip.MustParsePrefix("10.100.22.0/24")
	t0    = time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
)

// side is one engine under test.
type side struct {
	name  string
	e     *Engine
	tr    seam.Transport
	inst  *seam.RecordingInstaller
	log   *iketest.SyncBuffer
	clock *iketest.Clock
}

func defaultProposal() Proposal {
	return Proposal{Cipher: ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 128}, Hash: ikecrypto.SHA256, Group: ikecrypto.MODP2048, Lifetime: 8 * time.Hour}
}

func defaultChildProposal() seam.ChildProposal {
	return seam.ChildProposal{Suite: ikecrypto.ESPSuite{Cipher: ikecrypto.ESPAESCBC, KeyBits: 128, Auth: ikecrypto.AuthHMACSHA1}, Lifetime: time.Hour}
}

func peerCfg(name string, local, remote netip.Addr, lnet, rnet netip.Prefix, immediately bool) PeerConfig {
	return PeerConfig{
		Name: name, Local: local, Remote: remote, PSK: []byte("juniper123"),
		Proposals: []Proposal{defaultProposal()}, DPDInterval: 10 * time.Second, DPDThreshold: 3,
		Children: []seam.ChildConfig{{
			Name: "VPN-" + name, Policy: "VPN-OUT", Reqid: 1, Local: lnet, Remote: rnet,
			Proposals: []seam.ChildProposal{defaultChildProposal()}, Immediately: immediately,
		}},
	}
}

func newSide(t *testing.T, name string, net *seam.PipeNetwork, clock *iketest.Clock, local netip.Addr, seed uint64, cfg PeerConfig) *side {
	t.Helper()
	tr := net.Attach(netip.AddrPortFrom(local, 500), netip.AddrPortFrom(local, 4500))
	return newSideOn(t, name, tr, clock, seed, cfg)
}

func newSideOn(t *testing.T, name string, tr seam.Transport, clock *iketest.Clock, seed uint64, cfg PeerConfig) *side {
	s := &side{name: name, tr: tr, inst: seam.NewRecordingInstaller(), log: &iketest.SyncBuffer{}, clock: clock}
	var seedBytes [32]byte
	seedBytes[0] = byte(seed)
	log := slog.New(slog.NewTextHandler(io.MultiWriter(s.log, testWriter{t, name}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.e = NewEngine(Config{}, seam.Env{Now: clock.Now, Rand: rand.NewChaCha8(seedBytes), Log: log, Installer: s.inst}, tr)
	s.e.SetPeers([]PeerConfig{cfg})
	return s
}

type testWriter struct {
	t    *testing.T
	name string
}

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Logf("%s: %s", w.name, strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// pump runs iketest.Pump over the sides' engines.
func pump(t *testing.T, clock *iketest.Clock, sides []*side, limit time.Duration, done func() bool) {
	t.Helper()
	nodes := make([]iketest.Node[seam.Datagram], len(sides))
	for i, s := range sides {
		nodes[i] = iketest.Node[seam.Datagram]{Engine: s.e, Rx: s.tr.Receive()}
	}
	iketest.Pump(t, clock, nodes, limit, done)
}

func installedBoth(a, b *side) func() bool {
	return func() bool { return len(a.inst.Installed()) == 1 && len(b.inst.Installed()) == 1 }
}

func pair(t *testing.T, ca, cb PeerConfig) (*seam.PipeNetwork, *iketest.Clock, *side, *side) {
	net := seam.NewPipeNetwork()
	clock := iketest.NewClock(t0)
	a := newSide(t, "A", net, clock, ca.Local, 1, ca)
	b := newSide(t, "B", net, clock, cb.Local, 2, cb)
	return net, clock, a, b
}

func checkPair(t *testing.T, a, b *side) (seam.ChildSA, seam.ChildSA) {
	t.Helper()
	ia, ib := a.inst.Installed(), b.inst.Installed()
	if len(ia) != 1 || len(ib) != 1 {
		t.Fatalf("installed: A %d, B %d SAs; want 1 each\nA log:\n%s\nB log:\n%s", len(ia), len(ib), a.log, b.log)
	}
	x, y := ia[0], ib[0]
	if x.SPIOut != y.SPIIn || x.SPIIn != y.SPIOut {
		t.Errorf("SPIs do not pair: A in %08x out %08x, B in %08x out %08x", x.SPIIn, x.SPIOut, y.SPIIn, y.SPIOut)
	}
	if !bytes.Equal(x.EncOut, y.EncIn) || !bytes.Equal(x.AuthOut, y.AuthIn) || !bytes.Equal(x.EncIn, y.EncOut) || !bytes.Equal(x.AuthIn, y.AuthOut) {
		t.Errorf("keys do not pair")
	}
	if bytes.Equal(x.EncIn, x.EncOut) {
		t.Errorf("both directions have the same key")
	}
	return x, y
}

func TestHappyPath(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*PeerConfig)
	}{
		{"aes128-sha256-modp2048", func(*PeerConfig) {}},
		{"3des-sha1-modp1024 pfs ecp256", func(c *PeerConfig) {
			c.Proposals = []Proposal{{Cipher: ikecrypto.Cipher{Alg: ikecrypto.TripleDES, KeyBits: 192}, Hash: ikecrypto.SHA1, Group: ikecrypto.MODP1024, Lifetime: time.Hour}}
			c.Children[0].PFS = ikecrypto.ECP256
		}},
		{"aes256-sha512-ecp384 gcm pfs modp1536", func(c *PeerConfig) {
			c.Proposals = []Proposal{{Cipher: ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 256}, Hash: ikecrypto.SHA512, Group: ikecrypto.ECP384, Lifetime: time.Hour}}
			c.Children[0].Proposals = []seam.ChildProposal{{Suite: ikecrypto.ESPSuite{Cipher: ikecrypto.ESPAESGCM16, KeyBits: 256}, Lifetime: time.Hour}}
			c.Children[0].PFS = ikecrypto.MODP1536
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
			cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
			tc.modify(&ca)
			tc.modify(&cb)
			_, clock, a, b := pair(t, ca, cb)
			pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
			x, _ := checkPair(t, a, b)
			if x.EncapLocal != 0 {
				t.Errorf("NAT-T used without a NAT")
			}
			for _, s := range []*side{a, b} {
				if !strings.Contains(s.log.String(), "IKE SA established") || !strings.Contains(s.log.String(), "IPsec SA established") {
					t.Errorf("%s log lacks the establishment lines:\n%s", s.name, s.log)
				}
				if strings.Contains(s.log.String(), "juniper123") {
					t.Errorf("%s log contains the pre-shared key", s.name)
				}
			}
		})
	}
}

func TestNATTraversal(t *testing.T) {
	inside := netip.MustParseAddr("192.168.1.10")
	ca := peerCfg("GW-B", inside, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false) // B sees A's NAT address
	net, clock, a, b := pair(t, ca, cb)
	net.SetNAT(inside, addrA)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	x, y := checkPair(t, a, b)
	if x.EncapLocal != 4500 || x.EncapRemote != 4500 || y.EncapLocal != 4500 {
		t.Errorf("encap ports A %d->%d, B %d->%d; want 4500", x.EncapLocal, x.EncapRemote, y.EncapLocal, y.EncapRemote)
	}
	if !strings.Contains(a.log.String(), "NAT detected") {
		t.Errorf("A did not log the float:\n%s", a.log)
	}
}

func TestWrongKey(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	cb.PSK = []byte("wrong-key")
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, 5*time.Second, func() bool { return strings.Contains(a.log.String(), "pre-shared key mismatch") })
	for _, s := range []*side{a, b} {
		if !strings.Contains(s.log.String(), "pre-shared key mismatch") {
			t.Errorf("%s log does not say pre-shared key mismatch:\n%s", s.name, s.log)
		}
		if len(s.inst.Installed()) != 0 {
			t.Errorf("%s installed an SA", s.name)
		}
		if strings.Contains(s.log.String(), "wrong-key") || strings.Contains(s.log.String(), "juniper123") {
			t.Errorf("%s log contains a key", s.name)
		}
	}
}

func TestProposalMismatch(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	cb.Proposals = []Proposal{{Cipher: ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 256}, Hash: ikecrypto.SHA384, Group: ikecrypto.ECP384, Lifetime: time.Hour}}
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, 5*time.Second, func() bool { return strings.Contains(a.log.String(), "NO-PROPOSAL-CHOSEN") })
	bl := b.log.String()
	if !strings.Contains(bl, "proposal mismatch") || !strings.Contains(bl, "aes128-cbc/sha-256/DH-group-14") || !strings.Contains(bl, "aes256-cbc/sha-384/DH-group-20") {
		t.Errorf("B's log does not list both sides' proposals:\n%s", bl)
	}
	if !strings.Contains(a.log.String(), "NO-PROPOSAL-CHOSEN") {
		t.Errorf("A's log does not say NO-PROPOSAL-CHOSEN:\n%s", a.log)
	}
}

func TestChildProposalMismatch(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	cb.Children[0].Proposals[0].Suite.Auth = ikecrypto.AuthHMACSHA256
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, 5*time.Second, func() bool { return strings.Contains(a.log.String(), "rejected quick mode") })
	bl := b.log.String()
	if !strings.Contains(bl, "aes-cbc-128/sha1") || !strings.Contains(bl, "aes-cbc-128/sha256") {
		t.Errorf("B's log does not list both sides' proposals:\n%s", bl)
	}
}

func TestProxyIDMismatch(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netip.MustParsePrefix("10.100.99.0/24"), false)
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, 5*time.Second, func() bool { return strings.Contains(a.log.String(), "INVALID-ID-INFORMATION") })
	bl := b.log.String()
	for _, want := range []string{"proxy-id mismatch", "ipv4_subnet(any:0,[0..7]=10.100.11.0/24)", "10.100.99.0/24"} {
		if !strings.Contains(bl, want) {
			t.Errorf("B's log lacks %q:\n%s", want, bl)
		}
	}
	if !strings.Contains(a.log.String(), "INVALID-ID-INFORMATION") {
		t.Errorf("A's log lacks INVALID-ID-INFORMATION:\n%s", a.log)
	}
}

func TestLostPackets(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	net, clock, a, b := pair(t, ca, cb)
	// Lose the first two copies of every distinct datagram.
	seen := map[string]int{}
	net.SetDrop(func(d seam.Datagram) bool {
		seen[string(d.Data)]++
		return seen[string(d.Data)] <= 2
	})
	pump(t, clock, []*side{a, b}, 2*time.Minute, installedBoth(a, b))
	checkPair(t, a, b)
	if !strings.Contains(a.log.String(), "retransmitting") {
		t.Errorf("no retransmission logged")
	}
}

func TestUnreachablePeer(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	net := seam.NewPipeNetwork()
	clock := iketest.NewClock(t0)
	a := newSide(t, "A", net, clock, addrA, 1, ca)
	start := clock.Now()
	pump(t, clock, []*side{a}, 2*time.Minute, func() bool { return strings.Contains(a.log.String(), "timed out") })
	if !strings.Contains(a.log.String(), "timed out after 5 retransmissions") {
		t.Errorf("log lacks the timeout:\n%s", a.log)
	}
	// Backoff 1+2+4+8+16+32 s before giving up.
	if got := clock.Now().Sub(start); got < 63*time.Second || got > 64*time.Second {
		t.Errorf("gave up after %v, want 63s of backoff", got)
	}
}

func TestDPD(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	net, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	checkPair(t, a, b)
	// Idle but alive: R-U-THERE is answered, nothing is torn down.
	pump(t, clock, []*side{a, b}, 45*time.Second, func() bool { return false })
	if len(a.inst.Installed()) != 1 || strings.Contains(a.log.String(), "is dead") {
		t.Fatalf("a live peer was declared dead:\n%s", a.log)
	}
	// B goes silent.
	net.SetDrop(func(d seam.Datagram) bool { return d.Remote.Addr() == addrB })
	pump(t, clock, []*side{a, b}, 2*time.Minute, func() bool { return strings.Contains(a.log.String(), "is dead") })
	if !strings.Contains(a.log.String(), "is dead: 3 R-U-THERE unanswered") {
		t.Errorf("A did not declare B dead:\n%s", a.log)
	}
	if len(a.inst.Installed()) != 0 {
		t.Errorf("dead peer's SA still installed")
	}
	// B comes back: the tunnel (establish immediately) is negotiated again.
	net.SetDrop(nil)
	b.e.Shutdown()
	pump(t, clock, []*side{a, b}, 2*time.Minute, installedBoth(a, b))
	checkPair(t, a, b)
}

func TestRekey(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	ca.Children[0].Proposals[0].Lifetime = 100 * time.Second
	cb.Children[0].Proposals[0].Lifetime = 100 * time.Second
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	first, _ := checkPair(t, a, b)
	pump(t, clock, []*side{a, b}, 2*time.Minute, func() bool {
		ia := a.inst.Installed()
		return len(ia) == 1 && ia[0].SPIIn != first.SPIIn && len(b.inst.Installed()) == 1 && b.inst.Removed > 0
	})
	second, _ := checkPair(t, a, b)
	if second.SPIIn == first.SPIIn {
		t.Fatalf("no rekey happened:\n%s", a.log)
	}
	if got := second.Established.Sub(first.Established); got < 89*time.Second || got > 91*time.Second {
		t.Errorf("rekeyed after %v, want 90s (90%% of the lifetime)", got)
	}
}

func TestShutdownDeletes(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	a.e.Shutdown()
	if len(a.inst.Installed()) != 0 {
		t.Errorf("A kept SAs after shutdown")
	}
	pump(t, clock, []*side{a, b}, time.Second, func() bool { return len(b.inst.Installed()) == 0 })
	if len(b.inst.Installed()) != 0 {
		t.Errorf("B kept SAs after A's delete:\n%s", b.log)
	}
}

// TestBothInitiate has both sides establish immediately and start in the
// same instant: exactly one IKE SA and one SA pair must result.
func TestBothInitiate(t *testing.T) {
	for seed := range uint64(5) {
		ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
		cb := peerCfg("GW-A", addrB, addrA, netB, netA, true)
		net := seam.NewPipeNetwork()
		clock := iketest.NewClock(t0)
		a := newSide(t, "A", net, clock, addrA, 10+seed, ca)
		b := newSide(t, "B", net, clock, addrB, 20+seed, cb)
		pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
		checkPair(t, a, b)
		pump(t, clock, []*side{a, b}, 10*time.Second, func() bool { return false })
		checkPair(t, a, b)
		ia, _ := a.e.Status()
		ib, _ := b.e.Status()
		if len(ia) != 1 || len(ib) != 1 || ia[0].InitiatorCookie != ib[0].InitiatorCookie {
			t.Errorf("seed %d: IKE SAs A %+v, B %+v", seed, ia, ib)
		} else if e := ia[0].Established; e.Before(t0) || e.After(clock.Now()) {
			t.Errorf("seed %d: IKE SA established at %v, want between the start %v and now %v", seed, e, t0, clock.Now())
		}
	}
}

func TestIdentityMismatch(t *testing.T) {
	ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
	cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
	cb.RemoteID = isakmp.IDName(isakmp.IDFQDN, "srx1.example")
	_, clock, a, b := pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, 5*time.Second, func() bool { return strings.Contains(a.log.String(), "INVALID-ID-INFORMATION") })
	if bl := b.log.String(); !strings.Contains(bl, "identity mismatch") || !strings.Contains(bl, "srx1.example") {
		t.Errorf("B's log lacks the identity mismatch:\n%s", bl)
	}
	// With the right identity it works.
	ca.LocalID = isakmp.IDName(isakmp.IDFQDN, "srx1.example")
	_, clock, a, b = pair(t, ca, cb)
	pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
	checkPair(t, a, b)
}
