// Package iketest is the scaffolding the engine tests of ikev1 and ikev2
// share: a log buffer safe for concurrent use, a settable clock, and the
// pump that steps engines over an in-memory network in simulated time.
//
// Only tests import it.
package iketest

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// SyncBuffer collects log output written from several goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Clock is an injected clock that moves only when told to.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Engine is an IKE engine as Pump drives it.
type Engine[D any] interface {
	HandleDatagram(D)
	Tick()
}

// Node is an engine and the channel its transport delivers datagrams on.
type Node[D any] struct {
	Engine Engine[D]
	Rx     <-chan D
}

// Step is how far Pump moves the clock when no datagram is queued.
const Step = 100 * time.Millisecond

// Pump ticks every engine, then delivers queued datagrams; when none are
// queued it advances the clock by Step and ticks the engines. It stops when
// done() holds or after limit of simulated time.
func Pump[D any](t testing.TB, clock *Clock, nodes []Node[D], limit time.Duration, done func() bool) {
	t.Helper()
	end := clock.Now().Add(limit)
	for _, n := range nodes {
		n.Engine.Tick()
	}
	for !done() {
		moved := false
		for _, n := range nodes {
		drain:
			for {
				select {
				case d := <-n.Rx:
					n.Engine.HandleDatagram(d)
					moved = true
				default:
					break drain
				}
			}
		}
		if moved {
			continue
		}
		if clock.Now().After(end) {
			return
		}
		clock.Advance(Step)
		for _, n := range nodes {
			n.Engine.Tick()
		}
	}
}
