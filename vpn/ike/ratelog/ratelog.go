// Package ratelog bounds the log lines that unauthenticated packets can
// cause. Anyone on the Internet can send an IKE engine thousands of
// malformed, spoofed or unmatched datagrams a second (and the SSH server
// thousands of connections, firmware/sshd uses it too); if each one logged a
// line, the flood would push everything else out of `show log messages`.
// A Limiter lets one line a second through per cause (the message text) and
// reports how many it held back with the next line of that cause, or at the
// next Flush once the flood stops.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Window is how often a line of one cause gets through.
const Window = time.Second

// maxCauses bounds the table: causes are the engines' constant messages, so
// a few dozen at most; a caller that puts variable text in the message
// still cannot grow it past this (further causes share one bucket).
const maxCauses = 256

// Limiter is safe for concurrent use.
type Limiter struct {
	log *slog.Logger
	now func() time.Time

	mu     sync.Mutex // guards causes
	causes map[string]*cause
}

type cause struct {
	since      time.Time // start of the current window
	level      slog.Level
	held       int // lines held back since the last one logged
	heldDetail []any
}

// New returns a limiter writing to log, reading the time from now.
func New(log *slog.Logger, now func() time.Time) *Limiter {
	return &Limiter{log: log, now: now, causes: map[string]*cause{}}
}

// Log logs msg with args unless a line with the same msg got through less
// than Window ago; then it only counts it.
func (l *Limiter) Log(level slog.Level, msg string, args ...any) {
	now := l.now()
	l.mu.Lock()
	c := l.causes[msg]
	if c == nil {
		if len(l.causes) >= maxCauses {
			msg = "unauthenticated traffic (other causes)"
			args = nil
			c = l.causes[msg]
		}
		if c == nil {
			c = &cause{}
			l.causes[msg] = c
		}
	}
	if !c.since.IsZero() && now.Sub(c.since) < Window {
		c.held++
		c.level = level
		c.heldDetail = args
		l.mu.Unlock()
		return
	}
	if c.held > 0 {
		args = append(args[:len(args):len(args)], "suppressed", c.held)
	}
	c.since, c.held, c.heldDetail = now, 0, nil
	l.mu.Unlock()
	l.log.Log(context.Background(), level, msg, args...)
}

// Info and Warn are Log at those levels.
func (l *Limiter) Info(msg string, args ...any) { l.Log(slog.LevelInfo, msg, args...) }
func (l *Limiter) Warn(msg string, args ...any) { l.Log(slog.LevelWarn, msg, args...) }

// Flush reports the counts held back by causes whose window has passed, so
// that the last second of a flood is not lost; call it from a timer.
func (l *Limiter) Flush() {
	now := l.now()
	type line struct {
		level slog.Level
		msg   string
		args  []any
	}
	var out []line
	l.mu.Lock()
	for msg, c := range l.causes {
		if c.held > 0 && now.Sub(c.since) >= Window {
			out = append(out, line{c.level, msg, append(c.heldDetail[:len(c.heldDetail):len(c.heldDetail)], "suppressed", c.held-1)})
			c.since, c.held, c.heldDetail = now, 0, nil
		}
	}
	l.mu.Unlock()
	for _, ln := range out {
		l.log.Log(context.Background(), ln.level, ln.msg, ln.args...)
	}
}
