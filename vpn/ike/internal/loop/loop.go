// Package loop is the goroutine side the IKEv1 and IKEv2 engines share:
// one goroutine owns an engine and serializes its received datagrams, its
// timer ticks and the commands other goroutines hand it. The engines' state
// machines stay in their own packages.
package loop

import (
	"context"
	"errors"
	"time"
)

// Engine is what Run drives. Its methods are only called from Run's
// goroutine.
type Engine[D any] interface {
	HandleDatagram(D)
	Tick()
	// Shutdown deletes every SA, telling the peers.
	Shutdown()
}

// Run handles datagrams from rx, ticks and commands from cmds until ctx is
// done; then it shuts e down and returns nil. If rx is closed it shuts e
// down and returns an error.
func Run[D any](ctx context.Context, e Engine[D], rx <-chan D, tick <-chan time.Time, cmds <-chan func()) error {
	for {
		select {
		case <-ctx.Done():
			e.Shutdown()
			return nil
		case d, ok := <-rx:
			if !ok {
				e.Shutdown()
				return errors.New("transport closed")
			}
			e.HandleDatagram(d)
		case <-tick:
			e.Tick()
		case f := <-cmds:
			f()
		}
	}
}

// Do hands f to the Run reading cmds and waits until it has run, or until
// ctx is done (f may then still run later).
func Do(ctx context.Context, cmds chan<- func(), f func()) error {
	done := make(chan struct{})
	select {
	case cmds <- func() { f(); close(done) }:
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
