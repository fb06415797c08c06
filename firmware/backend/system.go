package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/palisade/palisade/drivers/ports"
	"github.com/palisade/palisade/firmware/boot"
	"github.com/palisade/palisade/firmware/cli"
	"github.com/palisade/palisade/firmware/commit"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/diag"
	"github.com/palisade/palisade/firmware/logbuf"
	"github.com/palisade/palisade/firmware/netconf"
	"github.com/palisade/palisade/firmware/store"
)

// System implements cli.System over the box: the commit pipeline, the
// store and the kernel.
type System struct {
	Box  *boot.Box
	Data *Dataplane
	Log  *logbuf.Log
	// Events logs security events (commits, rollbacks) to the log's
	// protected ring; nil discards them.
	Events *slog.Logger
	// Announce prints a line on every console (the confirmed-commit rollback).
	Announce func(string)
	Now      func() time.Time
	Rand     io.Reader // salts of password hashes; nil: crypto/rand

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced at every commit
	lastCommit time.Time
	lastBy     string
}

var _ cli.System = (*System)(nil)

func (s *System) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Active returns the running configuration.
func (s *System) Active() *config.Config {
	if c := s.Box.Pipeline.Active(); c != nil {
		return c
	}
	return &config.Config{}
}

// Commit runs the pipeline and persists; a confirmed commit's timer is
// the pipeline's.
func (s *System) Commit(ctx context.Context, cand *config.Config, o cli.CommitOptions) ([]*config.Problem, error) {
	meta := store.Meta{Time: s.now(), User: o.User, Comment: o.Comment}
	warnings, err := s.Box.Pipeline.Commit(ctx, cand, commit.Options{Check: o.Check, Persist: true, Meta: meta,
		Confirm: time.Duration(o.ConfirmMinutes) * time.Minute})
	if err != nil || o.Check {
		if err != nil && !o.Check {
			s.event("commit failed", "user", o.User, "err", err)
		}
		return warnings, err
	}
	s.event("commit complete", "user", o.User, "comment", o.Comment, "confirm_minutes", o.ConfirmMinutes)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastCommit, s.lastBy = meta.Time, o.User
	return warnings, nil
}

// Changed returns a channel closed at the next commit, for services that
// follow the configuration (SSH).
func (s *System) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// Committed is called by the pipeline after every commit that took
// effect, the CLI's and the automatic rollback of an unconfirmed one.
func (s *System) Committed() { s.notify() }

func (s *System) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
}

// event logs a security event, which a flood of other lines cannot push
// out of `show log messages`.
func (s *System) event(msg string, args ...any) {
	if s.Events != nil {
		s.Events.Info(msg, append(args, logbuf.Security())...)
	}
}

func (s *System) store() (*store.Store, error) {
	if s.Box.Store == nil {
		return nil, errors.New("no configuration disk (no filesystem labelled PALISADE): nothing is stored")
	}
	return s.Box.Store, nil
}

// Rollback returns stored configuration n.
func (s *System) Rollback(n int) (*config.Config, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	e, err := st.Get(n)
	if err != nil {
		return nil, err
	}
	return e.Config, nil
}

// RescueSave stores the active configuration as the rescue configuration.
func (s *System) RescueSave(context.Context) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	return st.SaveRescue(s.Active(), store.Meta{Time: s.now(), User: "root"})
}

// ReadFile reads a file for load; relative names are under the config disk.
func (s *System) ReadFile(name string) ([]byte, error) {
	if !strings.HasPrefix(name, "/") {
		name = boot.ConfigMount + "/" + name
	}
	return os.ReadFile(name)
}

// Uptime reports the clocks.
func (s *System) Uptime(context.Context) (cli.Uptime, error) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return cli.Uptime{}, fmt.Errorf("sysinfo: %w", err)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := cli.Uptime{Now: now, Booted: now.Add(-time.Duration(si.Uptime) * time.Second), LastConfigured: s.lastCommit, ConfiguredBy: s.lastBy, Users: 1}
	for i := range u.Load {
		u.Load[i] = float64(si.Loads[i]) / 65536
	}
	return u, nil
}

// Version names the board, the firmware and the kernel.
func (s *System) Version(context.Context) (cli.Version, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return cli.Version{}, fmt.Errorf("uname: %w", err)
	}
	v := cli.Version{Board: s.Box.Board.Name, Arch: s.Box.Board.Arch, Firmware: s.Box.Version, Kernel: unix.ByteSliceToString(u.Release[:])}
	if sw := s.Box.Software; sw != nil {
		v.Slot = sw.Running.String()
	}
	return v, nil
}

// Storage lists the mounted filesystems that hold data.
func (s *System) Storage(context.Context) ([]cli.Filesystem, error) {
	var out []cli.Filesystem
	for _, m := range []struct{ name, dir string }{{"rootfs", "/"}, {"tmpfs", "/tmp"}, {store.Label, boot.ConfigMount}} {
		var st unix.Statfs_t
		if err := unix.Statfs(m.dir, &st); err != nil {
			continue
		}
		bs := uint64(st.Bsize)
		out = append(out, cli.Filesystem{Name: m.name, MountedOn: m.dir, Size: st.Blocks * bs, Used: (st.Blocks - st.Bfree) * bs, Avail: st.Bavail * bs})
	}
	return out, nil
}

// LogMessages returns the kept log lines.
func (s *System) LogMessages(context.Context) ([]string, error) { return s.Log.Lines(), nil }

// Reboot syncs, unmounts and reboots.
func (s *System) Reboot(context.Context) error { return boot.Shutdown(false) }

// PowerOff syncs, unmounts and powers off.
func (s *System) PowerOff(context.Context) error { return boot.Shutdown(true) }

// Ping sends ICMP echo requests.
func (s *System) Ping(ctx context.Context, req cli.PingRequest, out io.Writer) error {
	return diag.Ping(ctx, req, out)
}

// MonitorTraffic prints packets of one port.
func (s *System) MonitorTraffic(ctx context.Context, iface string, out io.Writer) error {
	return diag.Monitor(ctx, ports.KernelName(strings.TrimSuffix(iface, ".0")), out)
}

// Traceroute traces the way to a host with the system's clock.
func (s *System) Traceroute(ctx context.Context, req cli.TracerouteRequest, out io.Writer) error {
	return diag.TracerouteAt(ctx, s.now, req, out)
}

// Interfaces lists the ports and their unit 0 addresses.
func (s *System) Interfaces(context.Context) ([]cli.InterfaceRow, error) {
	h := s.Box.Netlink
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	active := s.Active()
	var rows []cli.InterfaceRow
	for _, l := range links {
		junos, ok := ports.JunosName(l.Attrs().Name)
		if !ok {
			continue
		}
		admin := l.Attrs().Flags&net.FlagUp != 0
		up := l.Attrs().OperState == netlink.OperUp || (admin && l.Attrs().OperState == netlink.OperUnknown)
		rows = append(rows, cli.InterfaceRow{Name: junos, Admin: admin, Link: up})
		configured := slices.ContainsFunc(active.InterfaceList(), func(i config.Interface) bool {
			return i.Name == junos && slices.ContainsFunc(i.Units, func(u config.Unit) bool { return u.Number == "0" })
		})
		if !configured {
			continue
		}
		row := cli.InterfaceRow{Name: junos + ".0", Admin: admin, Link: up, Proto: "inet"}
		addrs, _ := h.AddrList(l, unix.AF_INET)
		for _, a := range addrs {
			row.Local = append(row.Local, a.IPNet.String())
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b cli.InterfaceRow) int { return strings.Compare(a.Name, b.Name) })
	return rows, nil
}

// Routes lists static, direct and local IPv4 routes.
func (s *System) Routes(context.Context) ([]cli.Route, error) {
	h := s.Box.Netlink
	s.mu.Lock()
	since := s.lastCommit
	s.mu.Unlock()
	if since.IsZero() {
		since = s.Box.Started
	}
	age := s.now().Sub(since)
	var out []cli.Route
	ifname := func(idx int) string {
		l, err := h.LinkByIndex(idx)
		if err != nil {
			return ""
		}
		if j, ok := ports.JunosName(l.Attrs().Name); ok {
			return j + ".0"
		}
		return l.Attrs().Name
	}
	main, err := h.RouteListFiltered(unix.AF_INET, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	for _, r := range main {
		dst := netip.MustParsePrefix("0.0.0.0/0")
		if r.Dst != nil {
			p, ok := prefixOf(r.Dst)
			if !ok {
				continue
			}
			dst = p
		}
		// A route over a port without carrier is not used (netconf.Sysctls):
		// shown, but never active.
		rt := cli.Route{Destination: dst, Age: age, Active: r.Flags&unix.RTNH_F_LINKDOWN == 0, Interface: ifname(r.LinkIndex)}
		switch r.Protocol {
		case netconf.RouteProtocol:
			rt.Protocol, rt.Preference = "Static", r.Priority
			if gw, ok := netip.AddrFromSlice(r.Gw); ok {
				rt.NextHop = gw.Unmap()
			}
		case unix.RTPROT_KERNEL:
			rt.Protocol = "Direct"
		default:
			continue
		}
		out = append(out, rt)
	}
	local, err := h.RouteListFiltered(unix.AF_INET, &netlink.Route{Table: unix.RT_TABLE_LOCAL}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("listing local routes: %w", err)
	}
	for _, r := range local {
		if r.Type != unix.RTN_LOCAL || r.Dst == nil {
			continue
		}
		p, ok := prefixOf(r.Dst)
		if !ok || p.Addr().IsLoopback() {
			continue
		}
		out = append(out, cli.Route{Destination: p, Protocol: "Local", Age: age, Active: true, Interface: ifname(r.LinkIndex)})
	}
	return activeRoutes(out), nil
}

// activeRoutes orders routes as `show route` lists them (by destination;
// usable routes first, by preference; then those over a port without
// carrier) and leaves one active route per
// destination: the usable one of best preference, which is the one the
// kernel picks (the preference is the route's metric).
func activeRoutes(rs []cli.Route) []cli.Route {
	slices.SortStableFunc(rs, func(a, b cli.Route) int {
		if c := a.Destination.Addr().Compare(b.Destination.Addr()); c != 0 {
			return c
		}
		if c := a.Destination.Bits() - b.Destination.Bits(); c != 0 {
			return c
		}
		if a.Active != b.Active {
			if a.Active {
				return -1
			}
			return 1
		}
		return a.Preference - b.Preference
	})
	for i := range rs {
		if i > 0 && rs[i].Destination == rs[i-1].Destination {
			rs[i].Active = false
		}
	}
	return rs
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// PolicyHits returns the policy counters.
func (s *System) PolicyHits(ctx context.Context) ([]cli.PolicyHit, error) {
	return s.Data.PolicyHits(ctx)
}

// FlowSessions lists sessions.
func (s *System) FlowSessions(ctx context.Context) ([]cli.FlowSession, error) {
	return s.Data.FlowSessions(ctx)
}

// ClearFlowSessions clears sessions.
func (s *System) ClearFlowSessions(ctx context.Context) error { return s.Data.ClearFlowSessions(ctx) }

// IKESAs lists IKE SAs.
func (s *System) IKESAs(ctx context.Context) ([]cli.IKESA, error) { return s.Data.IKESAs(ctx) }

// IKEWaiting lists the gateways waiting for their interface.
func (s *System) IKEWaiting(context.Context) ([]cli.IKEWaiting, error) {
	if s.Data == nil {
		return nil, nil
	}
	c := s.Active()
	var out []cli.IKEWaiting
	for _, w := range s.Data.vpn.WaitingGateways() {
		ifc := ""
		if g := c.IKEGateway(w.Gateway); g != nil {
			ifc = g.ExternalInterface
		}
		out = append(out, cli.IKEWaiting{Gateway: w.Gateway, Interface: ifc, Local: w.Local})
	}
	return out, nil
}

// ClearIKESAs deletes IKE SAs.
func (s *System) ClearIKESAs(ctx context.Context) error { return s.Data.ClearIKE(ctx) }

// IPsecSAs lists IPsec SAs.
func (s *System) IPsecSAs(ctx context.Context) ([]cli.IPsecSA, error) {
	return s.Data.IPsecSAs(ctx, s.Active())
}

// ClearIPsecSAs deletes IPsec SAs.
func (s *System) ClearIPsecSAs(ctx context.Context) error { return s.Data.ClearIPsec(ctx) }

// IPsecStats returns ESP counters.
func (s *System) IPsecStats(ctx context.Context, index int) (cli.IPsecStats, error) {
	return s.Data.IPsecStats(ctx, index)
}

// ClearIPsecStats resets ESP counters.
func (s *System) ClearIPsecStats(ctx context.Context) error { return s.Data.ClearIPsecStats(ctx) }

// CheckLogin accepts root with the configured password. With no root
// authentication configured (the factory default) root logs in with any
// password, and the CLI warns at every login.
func (s *System) CheckLogin(user, pass string) bool {
	if user != "root" {
		return false
	}
	c := s.Active()
	if c.System == nil || c.System.RootAuthentication == nil {
		return true
	}
	ra := c.System.RootAuthentication
	if ra.EncryptedPassword == "" && ra.PlainTextPassword == "" {
		return len(ra.SSHEd25519)+len(ra.SSHRSA) == 0
	}
	return VerifyPassword(ra, pass)
}

// Memory reads the kernel's totals from /proc/meminfo and the firmware's
// resident size, now and at its peak, from /proc/self/status.
func (s *System) Memory(context.Context) (cli.Memory, error) {
	var m cli.Memory
	mem, err := procKB("/proc/meminfo", "MemTotal", "MemAvailable", "MemFree")
	if err != nil {
		return m, err
	}
	self, err := procKB("/proc/self/status", "VmRSS", "VmHWM")
	if err != nil {
		return m, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.TotalKB, m.AvailableKB, m.FreeKB = mem["MemTotal"], mem["MemAvailable"], mem["MemFree"]
	m.RSSKB, m.PeakRSSKB, m.GoHeapKB = self["VmRSS"], self["VmHWM"], int64(ms.HeapSys/1024)
	return m, nil
}

// procKB reads "Key:   N kB" lines of a /proc file.
func procKB(path string, keys ...string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(keys, k) {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, k, err)
		}
		out[k] = n
	}
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("%s has no %s", path, k)
		}
	}
	return out, nil
}
