// Package commit is the one path by which a configuration reaches the
// kernel, at boot and at the CLI's commit: validate, then each stage
// compiles and applies its part, then the store persists it. A stage that
// fails makes the pipeline re-apply the previous configuration to the stages
// already run, so the box keeps running what it ran before, and the error
// names the stage.
package commit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/store"
)

// Stage compiles its part of a configuration and applies it to the kernel.
// Apply must be idempotent: applying the same configuration twice changes
// nothing.
type Stage interface {
	Name() string
	Apply(ctx context.Context, c *config.Config) error
}

// StageFunc adapts a function to Stage.
type StageFunc struct {
	StageName string
	Fn        func(ctx context.Context, c *config.Config) error
}

func (s StageFunc) Name() string { return s.StageName }

func (s StageFunc) Apply(ctx context.Context, c *config.Config) error { return s.Fn(ctx, c) }

// Pipeline runs the stages in order. Later issues plug zones, policies and
// the VPN in as further stages.
type Pipeline struct {
	Stages []Stage
	Store  *store.Store // nil: nothing is persisted (no config disk)
	Log    *slog.Logger

	mu     sync.Mutex
	active *config.Config
}

// Active returns the running configuration (nil before the first commit).
func (p *Pipeline) Active() *config.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active == nil {
		return nil
	}
	return p.active.Clone()
}

// Options modify one commit.
type Options struct {
	Check   bool // validate and compile only
	Persist bool // store as the new rollback 0
	Meta    store.Meta
}

// ValidationError lists the errors that stopped a commit before any stage ran.
type ValidationError struct{ Problems []*config.Problem }

// Unwrap gives the problems to errors.As and to displays that place each
// one in the hierarchy.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

func (e *ValidationError) Error() string {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return "commit failed: " + errors.Join(errs...).Error()
}

// Commit validates c, applies it through every stage and, with Persist,
// stores it. Warnings are returned even on success.
func (p *Pipeline) Commit(ctx context.Context, c *config.Config, o Options) ([]*config.Problem, error) {
	problems := c.Validate()
	var warnings []*config.Problem
	for _, pr := range problems {
		if pr.Warning {
			warnings = append(warnings, pr)
		}
	}
	if errs := config.Errors(problems); len(errs) > 0 {
		return warnings, &ValidationError{Problems: errs}
	}
	if o.Check {
		return warnings, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range p.Stages {
		if err := s.Apply(ctx, c); err != nil {
			failed := fmt.Errorf("commit failed in %s: %w", s.Name(), err)
			if rerr := p.restore(ctx, i); rerr != nil {
				failed = errors.Join(failed, rerr)
			}
			return warnings, failed
		}
	}
	if o.Persist && p.Store != nil {
		if _, err := p.Store.Commit(c, o.Meta); err != nil {
			// The kernel runs c now; not storing it would lose it at the
			// next boot, so the commit is reported as failed and undone.
			failed := fmt.Errorf("commit applied but not saved: %w", err)
			if rerr := p.restore(ctx, len(p.Stages)-1); rerr != nil {
				failed = errors.Join(failed, rerr)
			}
			return warnings, failed
		}
	}
	p.active = c.Clone()
	return warnings, nil
}

// restore re-applies the previous configuration to stages 0..upto.
func (p *Pipeline) restore(ctx context.Context, upto int) error {
	prev := p.active
	if prev == nil {
		prev = &config.Config{}
	}
	var errs []error
	for _, s := range p.Stages[:upto+1] {
		if err := s.Apply(ctx, prev); err != nil {
			errs = append(errs, fmt.Errorf("restoring the previous configuration in %s: %w", s.Name(), err))
		}
	}
	if p.Log != nil && len(errs) == 0 {
		p.Log.Info("previous configuration restored after a failed commit")
	}
	return errors.Join(errs...)
}
