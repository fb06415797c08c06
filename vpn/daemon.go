package vpn

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/vpn/ike/ikev1"
	"github.com/palisade/palisade/vpn/ike/ikev2"
	"github.com/palisade/palisade/vpn/ike/seam"
	"github.com/palisade/palisade/vpn/xfrm"
)

// Options configure a Daemon. The zero value, plus a Handle, is the
// firmware's setup: real clock and randomness, UDP 500/4500, XFRM.
type Options struct {
	Log  *slog.Logger
	Now  func() time.Time // default time.Now
	Rand io.Reader        // default crypto/rand
	// Handle programs XFRM policies and states. Nil: no kernel programming
	// (then Installer must be set).
	Handle *netlink.Handle
	// Installer overrides where Child SAs go (tests, hosts without ESP).
	Installer seam.Installer
	// Listen opens the IKE transport of one local address; default UDP 500 and 4500.
	Listen func(ctx context.Context, local netip.Addr) (seam.Transport, error)
	// Engine tunes retransmission and the ports; EngineV2 the IKEv2 engine
	// (cookies, fragmentation), whose ports follow Engine's.
	Engine   ikev1.Config
	EngineV2 ikev2.Config
	// Tick is how often timers are checked; default 250ms. Ticks, if set,
	// replaces the ticker (tests drive it together with Now).
	Tick  time.Duration
	Ticks <-chan time.Time
	// Events are the kernel's XFRM events (see xfrm.Subscribe): an Acquire
	// starts the matching on-traffic tunnel, a soft Expire (kilobytes) rekeys
	// the SA, a hard one removes it.
	Events <-chan xfrm.Event
}

// Daemon is the VPN service.
type Daemon struct {
	opts Options
	log  *slog.Logger
	xm   *xfrm.Manager

	ready chan struct{} // closed once Run has started; Apply waits for it

	mu        sync.Mutex
	runCtx    context.Context           // set by Run; guarded by mu
	engines   map[netip.Addr]*engineRun // guarded by mu
	applied   *Intent                   // the intent last applied; guarded by mu
	waiting   map[netip.Addr][]string   // local addresses not on the box, with their gateways; guarded by mu
	policies  map[string]xfrm.Policy    // installed XFRM policies by tunnel policy; guarded by mu
	statsBase map[uint32]xfrm.Counters  // per SPI, for clear statistics; guarded by mu
	wg        sync.WaitGroup
}

// retryWaiting is how often Run tries again to open the IKE sockets of
// gateways whose local address was not on the box (Rebind does it at once
// when the firmware sees an address appear).
const retryWaiting = 5 * time.Second

// engineRun is the IKE service of one local address: an IKEv1 and an IKEv2
// engine sharing the sockets, each on its own goroutine.
type engineRun struct {
	e      *ikev1.Engine
	e2     *ikev2.Engine
	tr     seam.Transport
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a daemon; call Run, then Reconcile.
func New(opts Options) *Daemon {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	// Engines run on goroutines of their own (two per address) and share
	// the reader, which need not be safe for concurrent use (a seeded test
	// source is not).
	opts.Rand = &lockedReader{r: opts.Rand}
	if opts.Tick == 0 {
		opts.Tick = 250 * time.Millisecond
	}
	if opts.Listen == nil {
		eng := opts.Engine
		opts.Listen = func(ctx context.Context, a netip.Addr) (seam.Transport, error) {
			ike, natt := eng.IKEPort, eng.NATTPort
			if ike == 0 {
				ike = 500
			}
			if natt == 0 {
				natt = 4500
			}
			return seam.ListenUDP(ctx, a, ike, natt)
		}
	}
	d := &Daemon{opts: opts, log: opts.Log, engines: map[netip.Addr]*engineRun{}, ready: make(chan struct{}),
		waiting: map[netip.Addr][]string{}, policies: map[string]xfrm.Policy{}, statsBase: map[uint32]xfrm.Counters{}}
	if opts.Handle != nil {
		d.xm = xfrm.NewManager(opts.Handle, opts.Log)
		if opts.Installer == nil {
			d.opts.Installer = XFRMInstaller{M: d.xm}
		}
	}
	return d
}

// Run serves until ctx is done; then it deletes every SA (telling the
// peers), removes every XFRM policy and state it installed, and returns.
func (d *Daemon) Run(ctx context.Context) error {
	if d.opts.Installer == nil {
		return errors.New("vpn daemon: neither a netlink handle nor an installer was given")
	}
	d.mu.Lock()
	d.runCtx = ctx
	again := d.applied
	d.mu.Unlock()
	// Run again under the supervisor after a failure: what was applied
	// before is applied anew, since stop removed it.
	if again != nil {
		if err := d.Apply(ctx, again); err != nil {
			d.log.Error("re-applying the VPN configuration", "err", err)
		}
	}
	select {
	case <-d.ready:
	default:
		close(d.ready)
	}
	retry := time.NewTicker(retryWaiting)
	defer retry.Stop()
	events := d.opts.Events
	for {
		select {
		case <-ctx.Done():
			return d.stop()
		case <-retry.C:
			d.Rebind(ctx)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			switch ev := ev.(type) {
			case xfrm.Acquire:
				d.acquire(ev)
			case xfrm.Expire:
				d.each(ctx, func(e seam.Engine) { e.Expired(ev.ID.SPI, ev.Hard) })
			}
		}
	}
}

func (d *Daemon) stop() error {
	d.mu.Lock()
	for _, r := range d.engines {
		r.cancel()
	}
	d.mu.Unlock()
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.engines = map[netip.Addr]*engineRun{}
	d.waiting = map[netip.Addr][]string{}
	d.policies = map[string]xfrm.Policy{}
	if d.xm != nil {
		if err := d.xm.Close(); err != nil {
			return fmt.Errorf("vpn daemon: cleaning up XFRM: %w", err)
		}
	}
	return nil
}

// Reconcile compiles gws and tuns (reqids carried over from the intent
// running now) and applies them: a convenience for tests and tools that
// hold plain values rather than a configuration.
func (d *Daemon) Reconcile(ctx context.Context, gws []Gateway, tuns []Tunnel) error {
	d.mu.Lock()
	prev := d.applied
	d.mu.Unlock()
	in, err := CompileGateways(gws, tuns, prev)
	if err != nil {
		return err
	}
	return d.Apply(ctx, in)
}

// Apply makes the running VPNs match in: it installs the XFRM policies of
// new tunnels, removes those of tunnels that are gone or changed, and hands
// each local address's engines their gateways. Unchanged tunnels keep
// their SAs. A gateway whose local address is not on the box (its port is
// missing, or has no address yet) is not an error: it waits for its
// interface, and starts when the address appears (Rebind).
func (d *Daemon) Apply(ctx context.Context, in *Intent) error {
	select {
	case <-d.ready:
	case <-ctx.Done():
		return fmt.Errorf("vpn daemon not started: %w", ctx.Err())
	}
	d.mu.Lock()
	runCtx := d.runCtx
	var errs []error
	if d.xm != nil {
		for name, old := range d.policies {
			if nw, ok := in.policies[name]; !ok || nw != old {
				if err := d.xm.RemovePolicy(old); err != nil {
					errs = append(errs, err)
				}
				delete(d.policies, name)
			}
		}
		for name, p := range in.policies {
			if _, ok := d.policies[name]; ok {
				continue
			}
			if err := d.xm.InstallPolicy(p); err != nil {
				errs = append(errs, fmt.Errorf("tunnel policy %s: %w", name, err))
				continue
			}
			d.policies[name] = p
		}
	} else {
		d.policies = maps.Clone(in.policies)
	}
	d.applied = in
	// Engines: start new addresses, configure all, stop the unused.
	var cfgs []func() error
	addrs := in.addrs()
	waiting := map[netip.Addr][]string{}
	for addrStr := range addrs {
		a := netip.MustParseAddr(addrStr)
		r := d.engines[a]
		if r == nil {
			var err error
			if r, err = d.startEngine(runCtx, a); err != nil {
				waiting[a] = in.gatewayNames(addrStr)
				if _, was := d.waiting[a]; !was {
					d.log.Warn("IKE gateway waiting for its interface", "gateways", strings.Join(waiting[a], ","),
						"local", a.String(), "err", err)
				}
				continue
			}
			d.engines[a] = r
		}
		cfgs = append(cfgs, d.configure(ctx, r, in, addrStr))
	}
	d.waiting = waiting
	var stopped []*engineRun
	for a, r := range d.engines {
		if !addrs[a.String()] {
			stopped = append(stopped, r)
			delete(d.engines, a)
		}
	}
	d.mu.Unlock()
	for _, f := range cfgs {
		if err := f(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range stopped {
		r.cancel()
		<-r.done
	}
	return errors.Join(errs...)
}

// configure returns the step that hands an engine run its peers of in.
func (d *Daemon) configure(ctx context.Context, r *engineRun, in *Intent, addr string) func() error {
	peers, peers2 := in.v1[addr], in.v2[addr]
	return func() error {
		return errors.Join(r.e.Do(ctx, func(e *ikev1.Engine) { e.SetPeers(peers) }), r.e2.Do(ctx, func(e *ikev2.Engine) { e.SetPeers(peers2) }))
	}
}

// Rebind starts the engines of gateways that wait for their interface,
// where the address has appeared since.
func (d *Daemon) Rebind(ctx context.Context) {
	d.mu.Lock()
	runCtx, in := d.runCtx, d.applied
	var cfgs []func() error
	for a, gws := range d.waiting {
		r, err := d.startEngine(runCtx, a)
		if err != nil {
			continue
		}
		d.log.Info("IKE gateway started: its address is up", "gateways", strings.Join(gws, ","), "local", a.String())
		d.engines[a] = r
		delete(d.waiting, a)
		cfgs = append(cfgs, d.configure(ctx, r, in, a.String()))
	}
	d.mu.Unlock()
	for _, f := range cfgs {
		if err := f(); err != nil {
			d.log.Warn("configuring an IKE gateway whose address came up", "err", err)
		}
	}
}

// Waiting is a gateway whose local address is not on the box.
type Waiting struct {
	Gateway string
	Local   netip.Addr
}

// WaitingGateways lists the gateways that wait for their interface.
func (d *Daemon) WaitingGateways() []Waiting {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Waiting
	for a, gws := range d.waiting {
		for _, g := range gws {
			out = append(out, Waiting{Gateway: g, Local: a})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Gateway < out[j].Gateway })
	return out
}

func (d *Daemon) startEngine(ctx context.Context, a netip.Addr) (*engineRun, error) {
	tr, err := d.opts.Listen(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("starting IKE on %v: %w", a, err)
	}
	ectx, cancel := context.WithCancel(ctx)
	mux := seam.NewVersionMux(tr)
	p1, p2 := mux.Ports()
	env := seam.Env{Now: d.opts.Now, Rand: d.opts.Rand, Log: d.log.With("local", a.String()), Installer: d.opts.Installer}
	cfg2 := d.opts.EngineV2
	cfg2.IKEPort, cfg2.NATTPort = d.opts.Engine.IKEPort, d.opts.Engine.NATTPort
	r := &engineRun{e: ikev1.NewEngine(d.opts.Engine, env, p1), e2: ikev2.NewEngine(cfg2, env, p2), tr: tr, cancel: cancel, done: make(chan struct{})}
	ticks := d.opts.Ticks
	var ticker *time.Ticker
	if ticks == nil {
		ticker = time.NewTicker(d.opts.Tick)
		ticks = ticker.C
	}
	natt := d.opts.Engine.NATTPort
	if natt == 0 {
		natt = 4500
	}
	// Each tick goes to both engines.
	t1, t2 := make(chan time.Time), make(chan time.Time)
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); mux.Run(ectx, natt) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ectx.Done():
				return
			case now := <-ticks:
				for _, t := range []chan time.Time{t1, t2} {
					select {
					case t <- now:
					case <-ectx.Done():
						return
					}
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		if err := r.e.Run(ectx, t1); err != nil {
			d.log.Error("IKEv1 engine stopped", "local", a.String(), "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := r.e2.Run(ectx, t2); err != nil {
			d.log.Error("IKEv2 engine stopped", "local", a.String(), "err", err)
		}
	}()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(r.done)
		wg.Wait()
		tr.Close()
		if ticker != nil {
			ticker.Stop()
		}
	}()
	return r, nil
}

func (d *Daemon) acquire(a xfrm.Acquire) {
	d.mu.Lock()
	var name string
	for n, p := range d.policies {
		if p.Selector == a.Selector {
			name = n
		}
	}
	runs := d.runsLocked()
	ctx := d.runCtx
	d.mu.Unlock()
	if name == "" {
		return
	}
	for _, r := range runs {
		for _, e := range r.engines() {
			e.Call(ctx, func(e seam.Engine) { e.Acquire(name) })
		}
	}
}

// Acquire negotiates an on-traffic tunnel now, as if the kernel had asked.
func (d *Daemon) Acquire(ctx context.Context, policy string) error {
	return d.each(ctx, func(e seam.Engine) { e.Acquire(policy) })
}

// runner is an engine of either version as the daemon drives it.
type runner interface {
	Call(ctx context.Context, f func(seam.Engine)) error
}

// engines are the run's engines, both versions.
func (r *engineRun) engines() []runner { return []runner{r.e, r.e2} }

// each runs f on every engine of every local address, each on its own
// goroutine, and joins the errors.
func (d *Daemon) each(ctx context.Context, f func(seam.Engine)) error {
	d.mu.Lock()
	runs := d.runsLocked()
	d.mu.Unlock()
	var errs []error
	for _, r := range runs {
		for _, e := range r.engines() {
			errs = append(errs, e.Call(ctx, f))
		}
	}
	return errors.Join(errs...)
}

// runsLocked returns the engine runs; d.mu must be held.
func (d *Daemon) runsLocked() []*engineRun {
	var runs []*engineRun
	for _, r := range d.engines {
		runs = append(runs, r)
	}
	return runs
}

// IKESecurityAssociations lists the IKE SAs of both versions, for `show
// security ike security-associations`.
func (d *Daemon) IKESecurityAssociations(ctx context.Context) ([]seam.IKESAStatus, error) {
	var out []seam.IKESAStatus
	var mu sync.Mutex
	err := d.each(ctx, func(e seam.Engine) {
		ikes, _ := e.Status()
		mu.Lock()
		out = append(out, ikes...)
		mu.Unlock()
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Version != out[j].Version {
			return out[i].Version < out[j].Version
		}
		return out[i].Remote.Addr().Less(out[j].Remote.Addr())
	})
	return out, err
}

// IPsecSA is one tunnel's SA pair, for `show security ipsec security-associations`.
type IPsecSA struct {
	ID int // the tunnel's index (its reqid), shared by both directions
	seam.ChildStatus
	In, Out xfrm.Counters // kernel counters since the last clear (zero without XFRM)
}

// IPsecSecurityAssociations lists the installed SA pairs with their counters.
func (d *Daemon) IPsecSecurityAssociations(ctx context.Context) ([]IPsecSA, error) {
	var kids []seam.ChildStatus
	var mu sync.Mutex
	err := d.each(ctx, func(e seam.Engine) {
		_, k := e.Status()
		mu.Lock()
		kids = append(kids, k...)
		mu.Unlock()
	})
	out := make([]IPsecSA, 0, len(kids))
	for _, k := range kids {
		s := IPsecSA{ID: int(k.SA.Tunnel.Reqid), ChildStatus: k}
		if d.xm != nil {
			s.In = d.counters(xfrm.StateID{Dst: k.SA.Local, SPI: k.SA.SPIIn})
			s.Out = d.counters(xfrm.StateID{Dst: k.SA.Remote, SPI: k.SA.SPIOut})
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

func (d *Daemon) counters(id xfrm.StateID) xfrm.Counters {
	c, err := d.xm.Counters(id)
	if err != nil {
		return xfrm.Counters{}
	}
	d.mu.Lock()
	base := d.statsBase[id.SPI]
	d.mu.Unlock()
	c.Bytes -= min(base.Bytes, c.Bytes)
	c.Packets -= min(base.Packets, c.Packets)
	c.ReplayErrors -= min(base.ReplayErrors, c.ReplayErrors)
	c.IntegrityFailed -= min(base.IntegrityFailed, c.IntegrityFailed)
	return c
}

// Statistics are the `show security ipsec statistics` numbers.
type Statistics struct {
	EncryptedBytes, DecryptedBytes     uint64
	EncryptedPackets, DecryptedPackets uint64
	ReplayErrors, AuthFailures         uint64
}

// Statistics sums the ESP counters of all tunnels, or of one (id > 0).
func (d *Daemon) Statistics(ctx context.Context, id int) (Statistics, error) {
	sas, err := d.IPsecSecurityAssociations(ctx)
	var s Statistics
	for _, sa := range sas {
		if id > 0 && sa.ID != id {
			continue
		}
		s.EncryptedBytes += sa.Out.Bytes
		s.EncryptedPackets += sa.Out.Packets
		s.DecryptedBytes += sa.In.Bytes
		s.DecryptedPackets += sa.In.Packets
		s.ReplayErrors += uint64(sa.In.ReplayErrors)
		s.AuthFailures += uint64(sa.In.IntegrityFailed)
	}
	return s, err
}

// ClearStatistics zeroes the counters shown; the kernel's keep running.
func (d *Daemon) ClearStatistics(ctx context.Context) error {
	if d.xm == nil {
		return nil
	}
	sas, err := d.IPsecSecurityAssociations(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, sa := range sas {
		for _, id := range []xfrm.StateID{{Dst: sa.SA.Local, SPI: sa.SA.SPIIn}, {Dst: sa.SA.Remote, SPI: sa.SA.SPIOut}} {
			if c, cerr := d.xm.Counters(id); cerr == nil {
				d.statsBase[id.SPI] = c
			}
		}
	}
	return err
}

// ClearIKE is `clear security ike security-associations`.
func (d *Daemon) ClearIKE(ctx context.Context) error {
	return d.each(ctx, func(e seam.Engine) { e.ClearIKE() })
}

// ClearIPsec is `clear security ipsec security-associations`.
func (d *Daemon) ClearIPsec(ctx context.Context) error {
	return d.each(ctx, func(e seam.Engine) { e.ClearIPsec() })
}

// lockedReader serializes reads of an io.Reader.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
