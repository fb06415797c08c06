// Package commit is the one path by which a configuration reaches the
// kernel, at boot and at the CLI's commit, and the one place that reacts
// when the running box changes under it (a cable pulled, an address
// added).
//
// A commit is: hash plain-text passwords, validate once, compile once into
// an Intent (links and routes, the nftables ruleset, the tunnels with their
// reqids, the box's kernel settings), then let each stage apply its part of
// that Intent, in order, and persist. Nothing travels between stages
// outside the Intent. A stage that fails makes the pipeline re-apply the
// previous Intent to the stages already run, so the box keeps running what
// it ran before, and the error names the stage. A confirmed commit arms a
// timer that commits the previous configuration again unless a later commit
// comes first.
//
// After a commit, React hands the running Intent to the stages that depend
// on a change of the box (Reactor): the routes are applied again when a
// port's carrier changes, a port that appears (hot-plugged) gets its links,
// addresses and routes, the IKE gateways waiting for their address start
// when it appears. Nothing else is re-applied.
package commit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/palisade/palisade/drivers/ports"
	"github.com/palisade/palisade/firmware/auth"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/netconf"
	"github.com/palisade/palisade/firmware/store"
	"github.com/palisade/palisade/policy"
	"github.com/palisade/palisade/vpn"
)

// Intent is one configuration compiled for the box: everything the stages
// apply, made once and without I/O.
type Intent struct {
	Config   *config.Config // validated; passwords only as hashes
	Warnings []*config.Problem
	Net      netconf.Intent
	Firewall *policy.Compiled
	VPN      *vpn.Intent
	// Sysctls are the kernel settings of the whole box (conntrack
	// timeouts, route failover, forwarding), by /proc/sys path.
	Sysctls map[string]string
}

// Stage applies its part of an Intent to the kernel. Apply must be
// idempotent: applying the same Intent twice changes nothing.
type Stage interface {
	Name() string
	Apply(ctx context.Context, in *Intent) error
}

// Reactor is a stage with parts that depend on the running box: React
// applies those parts of the running Intent again after ch.
type Reactor interface {
	React(ctx context.Context, in *Intent, ch Change) error
}

// Change is something that changed under the running configuration.
type Change struct {
	Kind ChangeKind
	Port string // the Junos name, when known
}

// ChangeKind says what changed.
type ChangeKind int

const (
	// Carrier: a port's link went up or down.
	Carrier ChangeKind = iota + 1
	// Address: an address appeared on or left a port.
	Address
	// Port: a port appeared (a NIC hot-plugged, or its driver loaded).
	Port
)

func (k ChangeKind) String() string {
	switch k {
	case Carrier:
		return "carrier"
	case Address:
		return "address"
	case Port:
		return "port"
	}
	return fmt.Sprintf("change(%d)", int(k))
}

// StageFunc adapts functions to Stage (and to Reactor when React is set).
type StageFunc struct {
	StageName string
	Fn        func(ctx context.Context, in *Intent) error
	ReactFn   func(ctx context.Context, in *Intent, ch Change) error
}

func (s StageFunc) Name() string { return s.StageName }

func (s StageFunc) Apply(ctx context.Context, in *Intent) error { return s.Fn(ctx, in) }

func (s StageFunc) React(ctx context.Context, in *Intent, ch Change) error {
	if s.ReactFn == nil {
		return nil
	}
	return s.ReactFn(ctx, in, ch)
}

// Pipeline compiles and runs the stages in order. Its zero value plus
// Stages works; the rest tunes it.
type Pipeline struct {
	Stages []Stage
	Store  *store.Store // nil: nothing is persisted (no config disk)
	Log    *slog.Logger // nil: discarded
	// Present says whether the board has a port (ge-0/0/1); a configured
	// port it lacks is a warning, not an error, as on an SRX. Nil: every
	// port is present.
	Present func(junos string) bool
	// Rand salts password hashes; nil: crypto/rand.
	Rand io.Reader
	// Validate checks a configuration; nil: (*config.Config).Validate.
	// Tests count the calls.
	Validate func(*config.Config) []*config.Problem
	// Announce prints a line on every console (the rollback of a commit
	// that was not confirmed); nil: logged only.
	Announce func(string)
	// Committed, if set, is called after every commit that took effect
	// (services that follow the configuration, such as SSH, restart).
	Committed func()
	// AfterFunc arms the confirmed-commit timer; nil: time.AfterFunc.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)

	mu      sync.Mutex
	active  *Intent
	confirm func() bool // stops the armed confirmed-commit timer
}

// Active returns the running configuration (nil before the first commit).
func (p *Pipeline) Active() *config.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active == nil {
		return nil
	}
	return p.active.Config.Clone()
}

// Running returns the running Intent (nil before the first commit). The
// caller must not modify it.
func (p *Pipeline) Running() *Intent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active
}

// Options modify one commit.
type Options struct {
	Check   bool // validate and compile only
	Persist bool // store as the new rollback 0
	Meta    store.Meta
	// Confirm > 0 is `commit confirmed`: unless another commit comes
	// within Confirm, the configuration that ran before is committed again.
	Confirm time.Duration
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
	return "commit failed: " + errors.Join(e.Unwrap()...).Error()
}

func (p *Pipeline) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

// Compile hashes c's plain-text passwords, validates it and compiles it
// into an Intent, with the reqids of the running tunnels carried over. A
// configuration that does not validate gives a *ValidationError.
func (p *Pipeline) Compile(c *config.Config) (*Intent, error) {
	p.mu.Lock()
	prev := p.active
	p.mu.Unlock()
	return p.compile(c, prev)
}

func (p *Pipeline) compile(c *config.Config, prev *Intent) (*Intent, error) {
	c, err := auth.HashPlainText(c, p.Rand)
	if err != nil {
		return nil, err
	}
	validate := p.Validate
	if validate == nil {
		validate = (*config.Config).Validate
	}
	problems := validate(c)
	in := &Intent{Config: c}
	for _, pr := range problems {
		if pr.Warning {
			in.Warnings = append(in.Warnings, pr)
		}
	}
	if errs := config.Errors(problems); len(errs) > 0 {
		return in, &ValidationError{Problems: errs}
	}
	in.Warnings = append(in.Warnings, p.missingPorts(c)...)
	if in.Net, err = netconf.Compile(c, ports.KernelName); err != nil {
		return in, fmt.Errorf("compiling interfaces and routes: %w", err)
	}
	if in.Firewall, err = policy.Compile(c, policy.Options{KernelName: ports.UnitKernelName}); err != nil {
		return in, fmt.Errorf("compiling security policies: %w", err)
	}
	var prevVPN *vpn.Intent
	if prev != nil {
		prevVPN = prev.VPN
	}
	if in.VPN, err = vpn.Compile(c, tunnels(in.Firewall), prevVPN); err != nil {
		return in, fmt.Errorf("compiling ipsec vpn: %w", err)
	}
	in.Sysctls = sysctls()
	return in, nil
}

// missingPorts warns of configured ports the board does not have: their
// statements are kept and wait for the port, as Junos does.
func (p *Pipeline) missingPorts(c *config.Config) []*config.Problem {
	if p.Present == nil {
		return nil
	}
	var out []*config.Problem
	for _, ifc := range c.InterfaceList() {
		if !p.Present(ifc.Name) {
			out = append(out, &config.Problem{Statement: "interfaces " + ifc.Name, Warning: true,
				Message: "this board has no such port; the statements wait for it"})
		}
	}
	return out
}

// tunnels turns the firewall's tunnel selectors into the VPN's tunnels. A
// mirrored pair (VPN-OUT, VPN-IN) shares one proxy-id; the SA is named
// after the first, the outbound one, as Junos shows it.
func tunnels(fw *policy.Compiled) []vpn.Tunnel {
	var out []vpn.Tunnel
	for _, s := range fw.Tunnels {
		t := vpn.Tunnel{VPNName: s.VPN, PolicyName: s.Policies[0], Local: s.Local, Remote: s.Remote, Protocol: s.Proto}
		if s.LocalPorts[0] == s.LocalPorts[1] {
			t.LocalPort = s.LocalPorts[0]
		}
		if s.RemotePorts[0] == s.RemotePorts[1] {
			t.RemotePort = s.RemotePorts[0]
		}
		out = append(out, t)
	}
	return out
}

// Commit compiles c, applies it through every stage and, with Persist,
// stores it. Warnings are returned even on failure.
func (p *Pipeline) Commit(ctx context.Context, c *config.Config, o Options) ([]*config.Problem, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.compile(c, p.active)
	if in == nil {
		return nil, err
	}
	if err != nil || o.Check {
		return in.Warnings, err
	}
	return in.Warnings, p.applyLocked(ctx, in, o)
}

// Apply runs a compiled Intent through the stages (boot, which compiled it
// while choosing the newest good configuration) and, with Persist, stores
// its configuration.
func (p *Pipeline) Apply(ctx context.Context, in *Intent, o Options) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applyLocked(ctx, in, o)
}

func (p *Pipeline) applyLocked(ctx context.Context, in *Intent, o Options) error {
	prev := p.active
	for i, s := range p.Stages {
		if err := s.Apply(ctx, in); err != nil {
			failed := fmt.Errorf("commit failed in %s: %w", s.Name(), err)
			if rerr := p.restore(ctx, prev, i); rerr != nil {
				failed = errors.Join(failed, rerr)
			}
			return failed
		}
	}
	if o.Persist && p.Store != nil {
		if _, err := p.Store.Commit(in.Config, o.Meta); err != nil {
			// The kernel runs the new Intent now; not storing it would
			// lose it at the next boot, so the commit is reported as
			// failed and undone.
			failed := fmt.Errorf("commit applied but not saved: %w", err)
			if rerr := p.restore(ctx, prev, len(p.Stages)-1); rerr != nil {
				failed = errors.Join(failed, rerr)
			}
			return failed
		}
	}
	p.active = in
	p.armConfirm(prev, o)
	if p.Committed != nil {
		p.Committed()
	}
	return nil
}

// armConfirm stops a pending confirmed-commit timer (this commit confirms
// the one before) and arms a new one for a confirmed commit.
func (p *Pipeline) armConfirm(prev *Intent, o Options) {
	if p.confirm != nil {
		p.confirm()
		p.confirm = nil
	}
	if o.Confirm <= 0 || prev == nil {
		return
	}
	after := p.AfterFunc
	if after == nil {
		after = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	p.confirm = after(o.Confirm, func() { p.rollbackUnconfirmed(prev.Config) })
}

func (p *Pipeline) rollbackUnconfirmed(prev *config.Config) {
	meta := store.Meta{Time: time.Now(), User: "root", Comment: "automatic rollback: commit confirmed was not confirmed"}
	_, err := p.Commit(context.Background(), prev, Options{Persist: true, Meta: meta})
	msg := "Commit was not confirmed; automatic rollback complete"
	if err != nil {
		msg = "Commit was not confirmed; automatic rollback FAILED: " + err.Error()
	}
	p.log().Warn(msg, slog.Bool("security", true))
	if p.Announce != nil {
		p.Announce(msg)
	}
}

// restore re-applies the previous Intent to stages 0..upto.
func (p *Pipeline) restore(ctx context.Context, prev *Intent, upto int) error {
	if prev == nil {
		var err error
		if prev, err = p.compile(&config.Config{}, nil); err != nil {
			return fmt.Errorf("compiling the empty configuration to restore: %w", err)
		}
	}
	var errs []error
	for _, s := range p.Stages[:upto+1] {
		if err := s.Apply(ctx, prev); err != nil {
			errs = append(errs, fmt.Errorf("restoring the previous configuration in %s: %w", s.Name(), err))
		}
	}
	if len(errs) == 0 {
		p.log().Info("previous configuration restored after a failed commit")
	}
	return errors.Join(errs...)
}

// React hands ch to every stage that depends on the running box, with the
// running Intent. Before the first commit there is nothing to re-apply.
func (p *Pipeline) React(ctx context.Context, ch Change) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active == nil {
		return nil
	}
	var errs []error
	for _, s := range p.Stages {
		if r, ok := s.(Reactor); ok {
			if err := r.React(ctx, p.active, ch); err != nil {
				errs = append(errs, fmt.Errorf("%s after a %v change: %w", s.Name(), ch.Kind, err))
			}
		}
	}
	return errors.Join(errs...)
}
