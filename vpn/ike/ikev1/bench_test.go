package ikev1

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// BenchmarkSetup measures main mode + quick mode setups between two engines
// in one process (modp2048, aes128-sha256 phase 1, aes128-sha1 ESP: the
// proposal of strongSwan's ~95/s on this machine), both on this goroutine.
func BenchmarkSetup(b *testing.B) {
	t := &testing.T{}
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
		cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
		net := seam.NewPipeNetwork()
		clock := iketest.NewClock(t0)
		x := newSide(t, "A", net, clock, addrA, uint64(i), ca)
		y := newSide(t, "B", net, clock, addrB, uint64(i)+1, cb)
		pump(t, clock, []*side{x, y}, time.Minute, installedBoth(x, y))
		if len(x.inst.Installed()) != 1 {
			b.Fatal("no tunnel")
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "setups/s")
}

// BenchmarkMemoryPerTunnel establishes n tunnels from one engine to n peers
// and reports the heap the initiating engine keeps per established tunnel
// (IKE SA, Child SA and the recorded installation).
func BenchmarkMemoryPerTunnel(b *testing.B) {
	const n = 200
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t := &testing.T{}
		net := seam.NewPipeNetwork()
		clock := iketest.NewClock(t0)
		var cfgs []PeerConfig
		var peers []*side
		for i := range n {
			remote := netip.AddrFrom4([4]byte{172, 16, byte(100 + i/250), byte(1 + i%250)})
			rnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i), 0}), 24)
			c := peerCfg(fmt.Sprintf("GW-%d", i), addrA, remote, netA, rnet, true)
			c.DPDInterval = 0
			cfgs = append(cfgs, c)
			pc := peerCfg("GW-A", remote, addrA, rnet, netA, false)
			pc.DPDInterval = 0
			peers = append(peers, newSide(t, "B", net, clock, remote, uint64(i+10), pc))
		}
		a := newSide(t, "A", net, clock, addrA, 1, cfgs[0])
		a.e.SetPeers(cfgs)
		all := append([]*side{a}, peers...)
		pump(t, clock, all, 5*time.Minute, func() bool { return len(a.inst.Installed()) == n })
		if len(a.inst.Installed()) != n {
			b.Fatalf("%d of %d tunnels", len(a.inst.Installed()), n)
		}
		// Drop the peers and everything queued, keep A.
		for _, p := range peers {
			p.tr.Close()
		}
		peers, all = nil, nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/tunnel")
		runtime.KeepAlive(a)
	}
}
