// Package logbuf owns the box's messages log: the lines `show log messages`
// prints, kept in memory.
//
// Anyone on the Internet can make the box log: every packet that reaches
// the IKE ports or the SSH listener before authentication may cause a line.
// The daemons rate-limit those lines, but a log of fixed size still fills,
// and a single ring would let an attacker push out exactly the lines an
// operator needs after an attack: failed logins, tunnels going up and down,
// commits. So security events are kept in a ring of their own, which only
// other security events can push out, and `show log messages` merges both
// rings in the order the lines were written.
//
// A log record is a security event when it carries the attribute
// `security=true` (Security returns it). The daemons below firmware/ cannot
// import this package; they use the same attribute by name.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// SecurityKey is the attribute that marks a record as a security event.
const SecurityKey = "security"

// Security is the attribute to add to a security event's record.
func Security() slog.Attr { return slog.Bool(SecurityKey, true) }

// Log is the two rings. It is safe for concurrent use.
type Log struct {
	mu       sync.Mutex
	seq      uint64
	general  ring
	security ring
}

type entry struct {
	seq  uint64
	text string
}

// ring keeps the newest max entries; start is the oldest's index once full.
type ring struct {
	max     int
	entries []entry
	start   int
}

func (r *ring) add(e entry) {
	if len(r.entries) < r.max {
		r.entries = append(r.entries, e)
		return
	}
	r.entries[r.start] = e
	r.start = (r.start + 1) % r.max
}

// New keeps up to general ordinary lines and security security events.
func New(general, security int) *Log {
	return &Log{general: ring{max: max(general, 1)}, security: ring{max: max(security, 1)}}
}

func (l *Log) write(r *ring, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.seq++
		r.add(entry{seq: l.seq, text: s})
	}
}

// Write adds ordinary lines (one per \n).
func (l *Log) Write(p []byte) (int, error) {
	l.write(&l.general, p)
	return len(p), nil
}

// Events is an io.Writer for security events.
func (l *Log) Events() io.Writer { return eventWriter{l} }

type eventWriter struct{ l *Log }

func (w eventWriter) Write(p []byte) (int, error) {
	w.l.write(&w.l.security, p)
	return len(p), nil
}

// Lines returns every kept line, oldest first.
func (l *Log) Lines() []string {
	l.mu.Lock()
	all := make([]entry, 0, len(l.general.entries)+len(l.security.entries))
	all = append(all, l.general.entries...)
	all = append(all, l.security.entries...)
	l.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	out := make([]string, len(all))
	for i, e := range all {
		out[i] = e.text
	}
	return out
}

// Handler returns a slog handler that formats records as text (with
// opts) and writes security events to the security ring and the rest to
// the ordinary one, each also to tee (the boot console) when not nil.
func (l *Log) Handler(tee io.Writer, opts *slog.HandlerOptions) slog.Handler {
	to := func(w io.Writer) io.Writer {
		if tee == nil {
			return w
		}
		return io.MultiWriter(tee, w)
	}
	return &handler{
		general:  slog.NewTextHandler(to(l), opts),
		security: slog.NewTextHandler(to(l.Events()), opts),
	}
}

// handler routes each record by its security attribute; sec is set when
// a logger's own attributes (With) carry it.
type handler struct {
	general, security slog.Handler
	sec               bool
}

func (h *handler) Enabled(ctx context.Context, lv slog.Level) bool {
	return h.general.Enabled(ctx, lv)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	sec := h.sec
	if !sec {
		r.Attrs(func(a slog.Attr) bool {
			if isSecurity(a) {
				sec = true
				return false
			}
			return true
		})
	}
	if sec {
		return h.security.Handle(ctx, r)
	}
	return h.general.Handle(ctx, r)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &handler{general: h.general.WithAttrs(as), security: h.security.WithAttrs(as), sec: h.sec}
	for _, a := range as {
		n.sec = n.sec || isSecurity(a)
	}
	return n
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{general: h.general.WithGroup(name), security: h.security.WithGroup(name), sec: h.sec}
}

func isSecurity(a slog.Attr) bool {
	v := a.Value.Resolve()
	return a.Key == SecurityKey && v.Kind() == slog.KindBool && v.Bool()
}
