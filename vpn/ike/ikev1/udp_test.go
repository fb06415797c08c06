package ikev1

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/internal/swtest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// TestRealUDP runs two engines over real UDP sockets on ports 500 and 4500,
// in a fresh network namespace so that the ports are free, each engine on
// its own goroutine under Run, with the injected clock and randomness.
func TestRealUDP(t *testing.T) {
	swtest.EnterNamespace(t)
	la, lb := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Sockets belong to the namespace they were opened in, whichever
	// goroutine uses them later.
	ta, err := seam.ListenUDP(ctx, la, 500, 4500)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := seam.ListenUDP(ctx, lb, 500, 4500)
	if err != nil {
		t.Fatal(err)
	}
	clock := iketest.NewClock(t0)
	a := newSideOn(t, "A", ta, clock, 1, peerCfg("GW-B", la, lb, netA, netB, true))
	b := newSideOn(t, "B", tb, clock, 2, peerCfg("GW-A", lb, la, netB, netA, false))

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	ticks := []chan time.Time{make(chan time.Time), make(chan time.Time)}
	for i, s := range []*side{a, b} {
		go func() { done <- s.e.Run(runCtx, ticks[i]) }()
	}
	for len(a.inst.Installed()) == 0 || len(b.inst.Installed()) == 0 {
		select {
		case ticks[0] <- clock.Now():
		case <-ctx.Done():
			t.Fatalf("no tunnel over UDP:\nA:\n%s\nB:\n%s", a.log, b.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
	checkPair(t, a, b)
	var ikes []seam.IKESAStatus
	if err := a.e.Do(ctx, func(e *Engine) { ikes, _ = e.Status() }); err != nil {
		t.Fatal(err)
	}
	if len(ikes) != 1 || !ikes[0].Up || ikes[0].Remote.Port() != 500 {
		t.Errorf("status: %+v", ikes)
	}
	stop()
	for range 2 {
		<-done
	}
	// Run deletes the SAs on the way out.
	if len(a.inst.Installed()) != 0 || len(b.inst.Installed()) != 0 {
		t.Errorf("SAs left after Run returned")
	}
	ta.Close()
	tb.Close()
	for range ta.Receive() {
	}
	for range tb.Receive() {
	}
}
