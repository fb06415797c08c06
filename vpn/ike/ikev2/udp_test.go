package ikev2

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/internal/swtest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// TestRealUDP runs two engines over real UDP sockets on ports 500 and 4500
// in a fresh network namespace, each under Run on its own goroutine, with
// the injected clock and randomness; then rekeys both SAs and shuts down.
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
	a := newSideOn(t, "A", ta, clock, 1, Config{}, peerCfg(t, "GW-B", la, lb, netA, netB, true))
	b := newSideOn(t, "B", tb, clock, 2, Config{}, peerCfg(t, "GW-A", lb, la, netB, netA, false))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	ticks := []chan time.Time{make(chan time.Time), make(chan time.Time)}
	for i, s := range []*side{a, b} {
		go func() { done <- s.e.Run(runCtx, ticks[i]) }()
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			clock.Advance(100 * time.Millisecond)
			for _, tk := range ticks {
				select {
				case tk <- clock.Now():
				case <-ctx.Done():
					t.Fatalf("%s over UDP:\nA:\n%s\nB:\n%s", what, a.log, b.log)
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	until("no tunnel", installedBoth(a, b))
	checkPair(t, a, b)
	first := a.inst.Installed()[0].SPIIn
	var old string
	a.e.Do(ctx, func(e *Engine) {
		s, _ := e.Status()
		old = s[0].InitiatorCookie
		e.RekeyIKE("GW-B")
		e.RekeyChild("VPN-OUT")
	})
	until("no rekey", func() bool {
		var ok bool
		a.e.Do(ctx, func(e *Engine) { s, _ := e.Status(); ok = len(s) == 1 && s[0].InitiatorCookie != old })
		x, y := a.inst.Installed(), b.inst.Installed()
		return ok && len(x) == 1 && len(y) == 1 && x[0].SPIIn != first && y[0].SPIOut == x[0].SPIIn
	})
	checkPair(t, a, b)
	stop()
	for range 2 {
		<-done
	}
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
