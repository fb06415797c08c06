package sshd

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Defaults of the Server fields that bound what a client can do before it
// has logged in.
const (
	// defaultMaxStartups and defaultPerSourceMaxStartups are OpenSSH's
	// MaxStartups (its 10 is raised for a box several admins reach) and a
	// per-source share small enough that one host cannot take them all.
	defaultMaxStartups          = 32
	defaultPerSourceMaxStartups = 4
	// defaultMaxAuthTries is lower than OpenSSH's 6: with the growing
	// failure delay a client gains nothing from more tries on one
	// connection, and a person rarely mistypes three times.
	defaultMaxAuthTries = 3
)

// The delay before the reply to a failed password grows from failDelay,
// doubling at each failure from the same source, up to failDelayMax. It is
// forgotten after a success from that source or after failForget without a
// failure, so that a mistyped password costs a returning admin nothing.
const (
	failDelay    = time.Second
	failDelayMax = 30 * time.Second
	failForget   = 5 * time.Minute
	// maxFailSources bounds the failure table against a flood from many
	// addresses; a source that finds it full waits failDelayMax.
	maxFailSources = 4096
)

// sourceOf is the address a client is counted under: its IP, or its /64
// for IPv6 since one host commonly holds a whole /64.
func sourceOf(a net.Addr) netip.Addr {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		// Not TCP (net.Pipe in tests): all such clients are one source.
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// startups counts the connections that have not logged in yet, per source
// and in total, as OpenSSH's MaxStartups and PerSourceMaxStartups do.
type startups struct {
	perSource, total int

	mu       sync.Mutex // guards n and bySource
	n        int
	bySource map[netip.Addr]int
}

// Causes of a refused connection, also the messages of their log lines.
const (
	refusedTotal     = "ssh connection refused: too many unauthenticated connections"
	refusedPerSource = "ssh connection refused: too many unauthenticated connections from one source"
)

// acquire takes a slot for a connection from src, or says which cap refuses
// it.
func (s *startups) acquire(src netip.Addr) (cause string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.n >= s.total:
		return refusedTotal, false
	case s.bySource[src] >= s.perSource:
		return refusedPerSource, false
	}
	s.n++
	s.bySource[src]++
	return "", true
}

func (s *startups) release(src netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n--
	if s.bySource[src]--; s.bySource[src] <= 0 {
		delete(s.bySource, src)
	}
}

// failures times the replies to failed passwords per source. The delays of
// one source are served one after the other, not side by side, so parallel
// connections from it do not guess faster than one.
type failures struct {
	now func() time.Time

	mu       sync.Mutex // guards bySource
	bySource map[netip.Addr]*failState
}

type failState struct {
	n     int       // failures since the last success or quiet period
	last  time.Time // of the latest failure
	until time.Time // when the latest failure's reply is due
}

// fail records a failure from src and returns how long to wait before
// replying to it, and how many failures src has made in a row.
func (f *failures) fail(src netip.Addr) (time.Duration, int) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.bySource[src]
	if st != nil && now.Sub(st.last) >= failForget {
		st = nil
	}
	if st == nil {
		if len(f.bySource) >= maxFailSources {
			f.prune(now)
		}
		if len(f.bySource) >= maxFailSources {
			return failDelayMax, 0
		}
		st = &failState{}
		f.bySource[src] = st
	}
	st.n++
	st.last = now
	d := failDelayMax
	if st.n <= 6 { // failDelay<<5 = 32 s is past the cap already
		d = min(failDelay<<(st.n-1), failDelayMax)
	}
	st.until = now.Add(max(st.until.Sub(now), 0) + d)
	return st.until.Sub(now), st.n
}

// succeed forgets src's failures: the next mistake starts at failDelay.
func (f *failures) succeed(src netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.bySource, src)
}

func (f *failures) prune(now time.Time) {
	for src, st := range f.bySource {
		if now.Sub(st.last) >= failForget && !now.Before(st.until) {
			delete(f.bySource, src)
		}
	}
}

// sleep waits d or until ctx is done, through s.Sleep when set.
func (s *Server) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
