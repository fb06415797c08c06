package supervisor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestRestartsWithBackoffAndSurvivesPanics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var runs atomic.Int32
	var sleeps []time.Duration
	o := Options{MinBackoff: time.Second, MaxBackoff: 4 * time.Second, Sleep: func(ctx context.Context, d time.Duration) {
		sleeps = append(sleeps, d)
	}}
	s := Service{Name: "flaky", Run: func(ctx context.Context) error {
		switch runs.Add(1) {
		case 1:
			panic("boom")
		case 2, 3, 4:
			return errors.New("failed")
		default:
			cancel()
			<-ctx.Done()
			return nil
		}
	}}
	done := make(chan struct{})
	go func() { Run(ctx, o, s); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("supervisor did not stop with its context")
	}
	if runs.Load() != 5 {
		t.Errorf("got %d runs, want 5", runs.Load())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	if len(sleeps) != len(want) {
		t.Fatalf("sleeps %v, want %v", sleeps, want)
	}
	for i := range want {
		if sleeps[i] != want[i] {
			t.Errorf("sleeps %v, want %v", sleeps, want)
		}
	}
}
