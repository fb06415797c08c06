package ikev2

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
	name string
	e    *Engine
	tr   seam.Transport
	inst *seam.RecordingInstaller
	log  *iketest.SyncBuffer
}

func mustProposal(t testing.TB, s string) Proposal {
	t.Helper()
	p, err := ParseProposal(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustChildProposal(t testing.TB, s string) (seam.ChildProposal, ikecrypto.Group) {
	t.Helper()
	p, g, err := ParseChildProposal(s)
	if err != nil {
		t.Fatal(err)
	}
	return p, g
}

func peerCfg(t testing.TB, name string, local, remote netip.Addr, lnet, rnet netip.Prefix, immediately bool) PeerConfig {
	cp, _ := mustChildProposal(t, "aes128-sha256")
	return PeerConfig{
		Name: name, Local: local, Remote: remote, PSK: []byte("juniper123"),
		Proposals: []Proposal{mustProposal(t, "aes128-sha256-modp2048")}, DPDInterval: 10 * time.Second,
		Children: []seam.ChildConfig{{
			Name: "VPN-" + name, Policy: "VPN-OUT", Reqid: 1, Local: lnet, Remote: rnet,
			Proposals: []seam.ChildProposal{cp}, Immediately: immediately,
		}},
	}
}

func newSide(t testing.TB, name string, net *seam.PipeNetwork, clock *iketest.Clock, local netip.Addr, seed uint64, cfg Config, peers ...PeerConfig) *side {
	t.Helper()
	tr := net.Attach(netip.AddrPortFrom(local, 500), netip.AddrPortFrom(local, 4500))
	return newSideOn(t, name, tr, clock, seed, cfg, peers...)
}

func newSideOn(t testing.TB, name string, tr seam.Transport, clock *iketest.Clock, seed uint64, cfg Config, peers ...PeerConfig) *side {
	s := &side{name: name, tr: tr, inst: seam.NewRecordingInstaller(), log: &iketest.SyncBuffer{}}
	var seedBytes [32]byte
	seedBytes[0] = byte(seed)
	seedBytes[1] = byte(seed >> 8)
	w := io.Writer(s.log)
	if tt, ok := t.(*testing.T); ok && testing.Verbose() {
		w = io.MultiWriter(s.log, testWriter{tt, name})
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.e = NewEngine(cfg, seam.Env{Now: clock.Now, Rand: rand.NewChaCha8(seedBytes), Log: log, Installer: s.inst}, tr)
	s.e.SetPeers(peers)
	return s
}

type testWriter struct {
	t    *testing.T
	name string
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.name, strings.TrimSpace(string(p)))
	return len(p), nil
}

// pump runs iketest.Pump over the sides' engines.
func pump(t testing.TB, clock *iketest.Clock, sides []*side, limit time.Duration, done func() bool) {
	t.Helper()
	nodes := make([]iketest.Node[seam.Datagram], len(sides))
	for i, s := range sides {
		nodes[i] = iketest.Node[seam.Datagram]{Engine: s.e, Rx: s.tr.Receive()}
	}
	iketest.Pump(t, clock, nodes, limit, done)
}

func installedBoth(a, b *side) func() bool {
	return func() bool { return len(a.inst.Installed()) > 0 && len(b.inst.Installed()) > 0 }
}

// settle pumps until nothing moves for a simulated second.
func settle(t testing.TB, clock *iketest.Clock, sides []*side) {
	t.Helper()
	quiet := 0
	pump(t, clock, sides, 30*time.Second, func() bool {
		for _, s := range sides {
			if len(s.tr.Receive()) > 0 {
				quiet = 0
				return false
			}
			if len(s.e.sasBusy()) > 0 {
				quiet = 0
				return false
			}
		}
		quiet++
		return quiet > 10
	})
}

// sasBusy lists SAs with a request out or queued.
func (e *Engine) sasBusy() []*ikeSA {
	var out []*ikeSA
	for _, sa := range e.sas {
		if sa.outReq != nil || len(sa.queue) > 0 {
			out = append(out, sa)
		}
	}
	return out
}

// checkPair checks that each side has exactly one SA pair for the tunnel,
// that they mirror each other and that the keys agree.
func checkPair(t *testing.T, a, b *side) {
	t.Helper()
	ia, ib := a.inst.Installed(), b.inst.Installed()
	if len(ia) != 1 || len(ib) != 1 {
		t.Fatalf("installed: A has %d, B has %d SA pairs, want 1 each\nA:\n%s\nB:\n%s", len(ia), len(ib), a.log, b.log)
	}
	x, y := ia[0], ib[0]
	if x.SPIIn != y.SPIOut || x.SPIOut != y.SPIIn {
		t.Errorf("SPIs do not mirror: A in %08x out %08x, B in %08x out %08x", x.SPIIn, x.SPIOut, y.SPIIn, y.SPIOut)
	}
	if !bytes.Equal(x.EncIn, y.EncOut) || !bytes.Equal(x.EncOut, y.EncIn) || !bytes.Equal(x.AuthIn, y.AuthOut) || !bytes.Equal(x.AuthOut, y.AuthIn) {
		t.Errorf("keys differ")
	}
	if bytes.Equal(x.EncIn, x.EncOut) || len(x.EncIn) != x.Suite.EncKeyLen() || len(x.AuthIn) != x.Suite.Auth.KeyLen() {
		t.Errorf("bad key lengths or equal directions: %d/%d", len(x.EncIn), len(x.AuthIn))
	}
	if x.Tunnel.Local != y.Tunnel.Remote || x.Tunnel.Remote != y.Tunnel.Local {
		t.Errorf("selectors do not mirror: A %v->%v, B %v->%v", x.Tunnel.Local, x.Tunnel.Remote, y.Tunnel.Local, y.Tunnel.Remote)
	}
}

func pair(t *testing.T, cfg Config, ca, cb PeerConfig) (*iketest.Clock, *side, *side) {
	net := seam.NewPipeNetwork()
	clock := iketest.NewClock(t0)
	a := newSide(t, "A", net, clock, addrA, 1, cfg, ca)
	b := newSide(t, "B", net, clock, addrB, 2, cfg, cb)
	return clock, a, b
}

func TestEstablish(t *testing.T) {
	for _, tc := range []struct{ ike, esp string }{
		{"aes128-sha256-modp2048", "aes128-sha256"},
		{"aes256-sha512-prfsha384-ecp384", "aes256-sha512"},
		{"aes128gcm16-prfsha256-curve25519", "aes128gcm16"},
		{"aes256gcm16-prfsha512-ecp256", "aes256gcm16-ecp256"},
		{"chacha20poly1305-prfsha256-curve25519", "chacha20poly1305"},
		{"aes256-sha384-ecp521", "aes128-sha1"},
		{"aes128-sha256-modp3072", "aes128-sha256"},
	} {
		t.Run(tc.ike+"/"+tc.esp, func(t *testing.T) {
			ca := peerCfg(t, "GW-B", addrA, addrB, netA, netB, true)
			cb := peerCfg(t, "GW-A", addrB, addrA, netB, netA, false)
			for _, c := range []*PeerConfig{&ca, &cb} {
				c.Proposals = []Proposal{mustProposal(t, tc.ike)}
				c.Children[0].Proposals[0], c.Children[0].PFS = mustChildProposal(t, tc.esp)
			}
			clock, a, b := pair(t, Config{}, ca, cb)
			pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
			checkPair(t, a, b)
			ikes, kids := a.e.Status()
			if len(ikes) != 1 || !ikes[0].Up || !ikes[0].Initiator || ikes[0].Algorithms != mustProposal(t, tc.ike).Names() || ikes[0].PeerID != addrB.String() {
				t.Errorf("A's IKE SAs: %+v", ikes)
			}
			if len(kids) != 1 || kids[0].LocalID != "10.100.11.0/24" || kids[0].Port != 500 {
				t.Errorf("A's children: %+v", kids)
			}
			if !strings.Contains(a.log.String(), "IKE SA established") || strings.Contains(a.log.String()+b.log.String(), "level=WARN") {
				t.Errorf("logs:\nA:\n%s\nB:\n%s", a.log, b.log)
			}
		})
	}
}
