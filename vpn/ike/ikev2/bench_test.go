package ikev2

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// BenchmarkSetup measures IKE SA + Child SA setups between two engines, one
// after the other on one goroutine (the latency of a setup, all crypto
// included), with strongSwan's benchmark proposals.
func BenchmarkSetup(b *testing.B) {
	for _, prop := range []string{"aes128-sha256-modp2048", "aes128-sha256-curve25519"} {
		b.Run(prop, func(b *testing.B) {
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				ca := peerCfg(b, "GW-B", addrA, addrB, netA, netB, true)
				cb := peerCfg(b, "GW-A", addrB, addrA, netB, netA, false)
				ca.Proposals[0], cb.Proposals[0] = mustProposal(b, prop), mustProposal(b, prop)
				net := seam.NewPipeNetwork()
				clock := iketest.NewClock(t0)
				x := newSide(b, "A", net, clock, addrA, uint64(2*i), Config{}, ca)
				y := newSide(b, "B", net, clock, addrB, uint64(2*i+1), Config{}, cb)
				pump(b, clock, []*side{x, y}, time.Minute, installedBoth(x, y))
				if len(x.inst.Installed()) != 1 {
					b.Fatal("no tunnel")
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "setups/s")
		})
	}
}

// BenchmarkSetupRate measures the rate strongSwan's numbers in PLATFORM.md
// are: two instances, each on its own goroutine (and core), with real time
// and randomness, one initiating n tunnels to n gateway addresses of the
// other at once, until every IKE SA and Child SA is up on both.
func BenchmarkSetupRate(b *testing.B) {
	const n = 200 // below the pipe transport's queue of 256 datagrams
	for _, prop := range []string{"aes128-sha256-modp2048", "aes128-sha256-curve25519"} {
		b.Run(prop, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				total += setupBatch(b, prop, n)
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "setups/s")
		})
	}
}

func setupBatch(b *testing.B, prop string, n int) time.Duration {
	net := seam.NewPipeNetwork()
	var ca, cb []PeerConfig
	var la, lb []netip.AddrPort
	for i := range n {
		x := netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)})
		y := netip.AddrFrom4([4]byte{172, 17, byte(i >> 8), byte(i)})
		rx := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32)
		ry := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 32)
		p := peerCfg(b, fmt.Sprint("to-", y), x, y, rx, ry, true)
		q := peerCfg(b, fmt.Sprint("to-", x), y, x, ry, rx, false)
		p.Proposals[0], q.Proposals[0] = mustProposal(b, prop), mustProposal(b, prop)
		p.DPDInterval, q.DPDInterval = 0, 0
		ca, cb = append(ca, p), append(cb, q)
		la = append(la, netip.AddrPortFrom(x, 500), netip.AddrPortFrom(x, 4500))
		lb = append(lb, netip.AddrPortFrom(y, 500), netip.AddrPortFrom(y, 4500))
	}
	// A burst of n setups is not a flood: no cookies.
	cfg := Config{CookieThreshold: 2 * n, MaxHalfOpen: 2 * n}
	ia, ib := seam.NewRecordingInstaller(), seam.NewRecordingInstaller()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ta, tb := net.Attach(la...), net.Attach(lb...)
	ea := NewEngine(cfg, seam.Env{Now: time.Now, Rand: rand.Reader, Log: log, Installer: ia}, ta)
	eb := NewEngine(cfg, seam.Env{Now: time.Now, Rand: rand.Reader, Log: log, Installer: ib}, tb)
	ea.SetPeers(ca)
	eb.SetPeers(cb)
	ctx, cancel := context.WithCancel(context.Background())
	ka, kb := time.NewTicker(100*time.Millisecond), time.NewTicker(100*time.Millisecond)
	defer ka.Stop()
	defer kb.Stop()
	done := make(chan error, 2)
	go func() { done <- eb.Run(ctx, kb.C) }()
	start := time.Now()
	ea.Tick() // every tunnel starts at once (Run is not running yet)
	go func() { done <- ea.Run(ctx, ka.C) }()
	for len(ia.Installed()) < n || len(ib.Installed()) < n {
		if time.Since(start) > time.Minute {
			b.Fatalf("%d and %d of %d tunnels after a minute", len(ia.Installed()), len(ib.Installed()), n)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	<-done
	<-done
	return elapsed
}
