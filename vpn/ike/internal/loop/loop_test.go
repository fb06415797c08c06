package loop

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// recorder is an Engine that logs what Run asked of it.
type recorder struct{ calls []string }

func (r *recorder) HandleDatagram(d string) { r.calls = append(r.calls, "datagram "+d) }
func (r *recorder) Tick()                   { r.calls = append(r.calls, "tick") }
func (r *recorder) Shutdown()               { r.calls = append(r.calls, "shutdown") }
func (r *recorder) Restart(err error) {
	var p *PanicError
	if !errors.As(err, &p) {
		panic("Restart without a PanicError")
	}
	r.calls = append(r.calls, fmt.Sprint("restart after ", p.Value))
}

// crasher panics on the datagram "boom".
type crasher struct{ recorder }

func (c *crasher) HandleDatagram(d string) {
	if d == "boom" {
		var m map[string]int
		m[d]++ // a nil map write, as a real bug would
	}
	c.recorder.HandleDatagram(d)
}

func TestRunAndDo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	r := &recorder{}
	rx, tick, cmds := make(chan string), make(chan time.Time), make(chan func())
	done := make(chan error, 1)
	go func() { done <- Run[string](runCtx, r, rx, tick, cmds) }()
	rx <- "a"
	tick <- time.Time{}
	if err := Do(ctx, cmds, func() { r.calls = append(r.calls, "do") }); err != nil {
		t.Fatalf("Do: %v", err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	got, want := r.calls, []string{"datagram a", "tick", "do", "shutdown"}
	if len(got) != len(want) {
		t.Fatalf("calls: got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calls: got %q, want %q", got, want)
		}
	}
}

func TestRunTransportClosed(t *testing.T) {
	r := &recorder{}
	rx := make(chan string)
	close(rx)
	if err := Run[string](context.Background(), r, rx, nil, nil); err == nil {
		t.Fatal("Run: got nil after the transport closed, want an error")
	}
	if len(r.calls) != 1 || r.calls[0] != "shutdown" {
		t.Errorf("calls: got %q, want [shutdown]", r.calls)
	}
}

func TestDoCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Do(ctx, make(chan func()), func() {}); !errors.Is(err, context.Canceled) {
		t.Errorf("Do with nobody running: got %v, want context.Canceled", err)
	}
}

// TestPanicRestartsEngine: a datagram that makes the engine panic does not
// end Run (in the firmware it would end PID 1): the engine is restarted,
// after a pause that grows while panics keep coming, and the next datagram
// and command are served as before.
func TestPanicRestartsEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	c := &crasher{}
	rx, cmds := make(chan string), make(chan func())
	var pauses []time.Duration
	done := make(chan error, 1)
	go func() {
		done <- RunWith[string](runCtx, c, rx, nil, cmds, func(_ context.Context, d time.Duration) { pauses = append(pauses, d) })
	}()
	rx <- "boom"
	rx <- "boom"
	rx <- "a"
	if err := Do(ctx, cmds, func() { c.calls = append(c.calls, "do") }); err != nil {
		t.Fatalf("Do after the panics: %v", err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}
	want := []string{"restart after assignment to entry in nil map", "restart after assignment to entry in nil map", "datagram a", "do", "shutdown"}
	if fmt.Sprint(c.calls) != fmt.Sprint(want) {
		t.Errorf("calls: got %q, want %q", c.calls, want)
	}
	if fmt.Sprint(pauses) != fmt.Sprint([]time.Duration{MinBackoff, 2 * MinBackoff}) {
		t.Errorf("pauses: got %v, want %v then %v", pauses, MinBackoff, 2*MinBackoff)
	}
}

// A Do whose function panics is a crash of the engine like any other, and
// the caller is not left waiting.
func TestPanicInDo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	r := &recorder{}
	cmds := make(chan func())
	go RunWith[string](runCtx, r, nil, nil, cmds, func(context.Context, time.Duration) {})
	if err := Do(ctx, cmds, func() { panic("bad command") }); err != nil {
		t.Fatalf("Do: %v", err)
	}
	if err := Do(ctx, cmds, func() {}); err != nil {
		t.Fatalf("Do after the panic: %v", err)
	}
}
