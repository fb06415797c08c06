package loop

import (
	"context"
	"errors"
	"testing"
	"time"
)

// recorder is an Engine that logs what Run asked of it.
type recorder struct{ calls []string }

func (r *recorder) HandleDatagram(d string) { r.calls = append(r.calls, "datagram "+d) }
func (r *recorder) Tick()                   { r.calls = append(r.calls, "tick") }
func (r *recorder) Shutdown()               { r.calls = append(r.calls, "shutdown") }

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
