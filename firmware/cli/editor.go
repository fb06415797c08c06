package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/palisade/palisade/firmware/config"
)

// Editor is the candidate configuration shared by all sessions of one box,
// with Junos semantics: sessions in plain `configure` share one candidate
// and see each other's changes; `configure exclusive` locks it against
// changes from other sessions and discards its uncommitted changes on exit.
type Editor struct {
	sys System

	mu        sync.Mutex // guards the fields below
	cand      *config.Config
	modified  bool              // cand has uncommitted changes
	exclusive *Session          // the session holding the lock, or nil
	users     map[*Session]bool // sessions in configuration mode
}

// NewEditor returns the editor of sys's configuration.
func NewEditor(sys System) *Editor {
	return &Editor{sys: sys, users: map[*Session]bool{}}
}

// Modified reports whether the shared candidate has uncommitted changes.
func (e *Editor) Modified() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.modified
}

// ErrLocked is returned when another session holds `configure exclusive`.
var ErrLocked = errors.New("configuration database locked")

func sessionName(s *Session) string {
	return fmt.Sprintf("%s terminal %s", s.user(), s.terminal())
}

// enter puts s into configuration mode. It returns the notices to print.
func (e *Editor) enter(s *Session, exclusive bool) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exclusive != nil && e.exclusive != s {
		return nil, fmt.Errorf("%w by: %s", ErrLocked, sessionName(e.exclusive))
	}
	var notes []string
	if exclusive {
		if e.modified {
			return nil, errors.New("configuration database modified")
		}
		e.exclusive = s
		notes = append(notes, "warning: uncommitted changes will be discarded on exit")
	}
	var others []string
	for u := range e.users {
		if u != s {
			others = append(others, "  "+sessionName(u))
		}
	}
	if len(others) > 0 {
		notes = append(notes, "Users currently editing the configuration:")
		notes = append(notes, others...)
		if e.modified {
			notes = append(notes, "The configuration has been changed but not committed")
		}
	}
	e.users[s] = true
	return notes, nil
}

// leave takes s out of configuration mode.
func (e *Editor) leave(s *Session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.users, s)
	if e.exclusive == s {
		e.exclusive = nil
		e.cand, e.modified = nil, false
	}
}

func (e *Editor) candidateLocked() *config.Config {
	if e.cand == nil {
		e.cand = e.sys.Active().Clone()
	}
	return e.cand
}

// view calls f with the candidate, which f must not modify.
func (e *Editor) view(f func(c *config.Config)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(e.candidateLocked())
}

// change calls f to modify the candidate. f must leave it unchanged when it
// fails.
func (e *Editor) change(s *Session, f func(c *config.Config) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exclusive != nil && e.exclusive != s {
		return fmt.Errorf("%w by: %s", ErrLocked, sessionName(e.exclusive))
	}
	if err := f(e.candidateLocked()); err != nil {
		return err
	}
	e.modified = true
	return nil
}

// replace loads c as the candidate (rollback).
func (e *Editor) replace(s *Session, c *config.Config, modified bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exclusive != nil && e.exclusive != s {
		return fmt.Errorf("%w by: %s", ErrLocked, sessionName(e.exclusive))
	}
	e.cand, e.modified = c, modified
	return nil
}

// commit hands a copy of the candidate to the System. On success the
// candidate starts again from the new active configuration.
func (e *Editor) commit(ctx context.Context, s *Session, opts CommitOptions) ([]*config.Problem, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exclusive != nil && e.exclusive != s {
		return nil, fmt.Errorf("%w by: %s", ErrLocked, sessionName(e.exclusive))
	}
	warns, err := e.sys.Commit(ctx, e.candidateLocked().Clone(), opts)
	if err != nil {
		// The System's error already names the statement; it is shown
		// line by line, so it is passed on as it is.
		return warns, err
	}
	if !opts.Check {
		e.cand, e.modified = nil, false
	}
	return warns, nil
}

// errorLines splits an error (possibly an errors.Join) into lines.
func errorLines(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				walk(e)
			}
			return
		}
		out = append(out, strings.Split(err.Error(), "\n")...)
	}
	walk(err)
	return out
}
