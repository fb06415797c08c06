// Package loop is the goroutine side the IKEv1 and IKEv2 engines share:
// one goroutine owns an engine and serializes its received datagrams, its
// timer ticks and the commands other goroutines hand it. The engines' state
// machines stay in their own packages.
//
// The loop is also where an engine survives its own bugs. The firmware is
// PID 1: a panic that escaped an engine's goroutine would end the process
// and the kernel with it, and a datagram from anyone on the Internet can
// reach the code that panics. So each event is handled under recover; after
// a panic the engine is restarted in place (Restart drops every SA and
// exchange and starts over from its configuration) after a growing pause,
// and the loop goes on. The engine keeps its identity and its command
// channel, so callers of Do never notice beyond the lost state.
package loop

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Engine is what Run drives. Its methods are only called from Run's
// goroutine.
type Engine[D any] interface {
	HandleDatagram(D)
	Tick()
	// Shutdown deletes every SA, telling the peers.
	Shutdown()
	// Restart is called after a panic (err holds the value and the
	// stack): the engine logs err, forgets every SA and exchange without
	// trusting them (uninstalling what it installed where it can), and
	// starts over from its configuration.
	Restart(err error)
}

// Backoff bounds the pause after a panic: MinBackoff after the first,
// doubling up to MaxBackoff while panics keep coming within MaxBackoff of
// each other, so that a datagram that crashes the engine every time cannot
// keep a core busy restarting it.
const (
	MinBackoff = time.Second
	MaxBackoff = 30 * time.Second
)

// PanicError is what Restart receives.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n%s", p.Value, p.Stack)
}

// Run handles datagrams from rx, ticks and commands from cmds until ctx is
// done; then it shuts e down and returns nil. If rx is closed it shuts e
// down and returns an error.
func Run[D any](ctx context.Context, e Engine[D], rx <-chan D, tick <-chan time.Time, cmds <-chan func()) error {
	return RunWith(ctx, e, rx, tick, cmds, sleep)
}

// RunWith is Run with the pause after a panic injected (tests).
func RunWith[D any](ctx context.Context, e Engine[D], rx <-chan D, tick <-chan time.Time, cmds <-chan func(),
	pause func(context.Context, time.Duration)) error {
	backoff := MinBackoff
	var lastPanic time.Time
	for {
		stop, err, crash := step(ctx, e, rx, tick, cmds)
		if crash != nil {
			if !lastPanic.IsZero() && time.Since(lastPanic) < MaxBackoff+backoff {
				backoff = min(2*backoff, MaxBackoff)
			} else {
				backoff = MinBackoff
			}
			lastPanic = time.Now()
			if again := guard(func() { e.Restart(crash) }); again != nil {
				// The engine cannot even start over: give up on it
				// rather than spin; the caller logs and decides.
				return fmt.Errorf("engine restart after a panic failed: %w (first: %w)", again, crash)
			}
			pause(ctx, backoff)
			continue
		}
		if stop {
			return err
		}
	}
}

// step handles one event; crash is set when the handler panicked.
func step[D any](ctx context.Context, e Engine[D], rx <-chan D, tick <-chan time.Time, cmds <-chan func()) (stop bool, err error, crash *PanicError) {
	var handle func()
	select {
	case <-ctx.Done():
		handle, stop = e.Shutdown, true
	case d, ok := <-rx:
		if !ok {
			handle, stop, err = e.Shutdown, true, errors.New("transport closed")
		} else {
			handle = func() { e.HandleDatagram(d) }
		}
	case <-tick:
		handle = e.Tick
	case f := <-cmds:
		handle = f
	}
	if crash = guard(handle); crash != nil && stop {
		// A panic while shutting down: nothing to restart for.
		return true, errors.Join(err, crash), nil
	}
	return stop, err, crash
}

func guard(f func()) (crash *PanicError) {
	defer func() {
		if r := recover(); r != nil {
			crash = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	f()
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Do hands f to the Run reading cmds and waits until it has run, or until
// ctx is done (f may then still run later).
func Do(ctx context.Context, cmds chan<- func(), f func()) error {
	done := make(chan struct{})
	select {
	case cmds <- func() { defer close(done); f() }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
