// Package supervisor runs the box's services and restarts one that returns
// or panics, with a growing backoff, until its context ends.
package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Service is one long-running part of the firmware (console, IKE daemon,
// SSH server). Run must return when ctx is done.
type Service struct {
	Name string
	Run  func(ctx context.Context) error
}

// Options tune restarts. The zero value restarts after 1 s, doubling up to 30 s.
type Options struct {
	MinBackoff, MaxBackoff time.Duration
	Log                    *slog.Logger
	// Sleep waits for d or until ctx ends; nil means a real timer. Tests inject it.
	Sleep func(ctx context.Context, d time.Duration)
}

func (o Options) withDefaults() Options {
	if o.MinBackoff == 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
	return o
}

// Run runs every service until ctx ends, and waits for all to return.
func Run(ctx context.Context, o Options, services ...Service) {
	o = o.withDefaults()
	var wg sync.WaitGroup
	for _, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keep(ctx, o, s)
		}()
	}
	wg.Wait()
}

func keep(ctx context.Context, o Options, s Service) {
	backoff := o.MinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := runSafely(ctx, s)
		if ctx.Err() != nil {
			return
		}
		o.Log.Error("service stopped; restarting", "service", s.Name, "err", err, "backoff", backoff)
		o.Sleep(ctx, backoff)
		// A service that ran for a while before failing starts over with
		// the shortest backoff.
		if time.Since(start) > o.MaxBackoff {
			backoff = o.MinBackoff
		} else {
			backoff = min(2*backoff, o.MaxBackoff)
		}
	}
}

func runSafely(ctx context.Context, s Service) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	if err := s.Run(ctx); err != nil {
		return err
	}
	return fmt.Errorf("service %s returned", s.Name)
}
