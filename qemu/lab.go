package qemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout is how long a guest may run when Box.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// Lab is a started topology.
type Lab struct {
	guests   []*Guest
	netns    map[string]string // logical -> real name
	taps     []string          // TAPs still in the host namespace
	dir      string
	ownDir   bool
	sockDir  string
	runCtx   context.Context // guests' QEMUs run under it; Close cancels it
	cancel   context.CancelFunc
	attached []attachedNet // host nets whose TAP is in its namespace, for Restart
	closeMu  sync.Mutex
	closed   bool
	closeErr error
}

// Guest is a running box.
type Guest struct {
	Box     Box
	cmd     *exec.Cmd
	con     *console
	log     string
	args    []string
	started time.Time
	exited  chan struct{} // closed when QEMU has exited; waitErr is set then
	waitErr error
	index   int      // position in the topology: the MACs and the console socket follow it
	ports   []netdev // as planned, for Restart
	sock    string   // the console's unix socket
	mon     string   // the QMP unix socket, when the box has unplugged ports
}

// Plug hot-plugs the NIC of one of a box's Unplugged ports, through QEMU's machine protocol (QMP).
func (l *Lab) Plug(ctx context.Context, box string, port int) error {
	g := l.Guest(box)
	if g == nil || g.mon == "" || !slices.Contains(g.Box.Unplugged, port) {
		return fmt.Errorf("box %s has no unplugged port %d", box, port)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", g.mon)
	if err != nil {
		return fmt.Errorf("box %s: QMP: %w", box, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	dec, enc := json.NewDecoder(conn), json.NewEncoder(conn)
	// reply reads past the greeting and asynchronous events to the answer of the last command.
	reply := func() error {
		for {
			var m struct {
				Return json.RawMessage `json:"return"`
				Error  *struct {
					Class, Desc string
				} `json:"error"`
			}
			if err := dec.Decode(&m); err != nil {
				return err
			}
			if m.Error != nil {
				return fmt.Errorf("%s: %s", m.Error.Class, m.Error.Desc)
			}
			if m.Return != nil {
				return nil
			}
		}
	}
	for _, c := range []map[string]any{
		{"execute": "qmp_capabilities"},
		{"execute": "device_add", "arguments": plugArguments(g.Box, g.index, port)},
	} {
		if err := enc.Encode(c); err != nil {
			return fmt.Errorf("box %s: QMP %v: %w", box, c["execute"], err)
		}
		if err := reply(); err != nil {
			return fmt.Errorf("box %s: QMP %v: %w", box, c["execute"], err)
		}
	}
	return nil
}

// StartT starts topo for a test: it fails the test if that does not work, closes the lab in t.Cleanup, and
// logs each guest's console tail there if the test failed.
func StartT(t testing.TB, topo Topology) *Lab {
	t.Helper()
	if topo.Dir == "" {
		topo.Dir = t.TempDir()
	}
	lab, err := Start(context.Background(), topo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, g := range lab.guests {
				t.Logf("console of %s (%s), full log %s:\n%s", g.Box.Name, ShellQuote(g.args), g.log, tail([]byte(g.Output()), 4000))
			}
		}
		if err := lab.Close(); err != nil {
			t.Errorf("closing the lab: %v", err)
		}
	})
	return lab
}

// Boot starts a single box. Close the returned lab when done.
func Boot(ctx context.Context, box Box) (*Lab, *Guest, error) {
	lab, err := Start(ctx, Topology{Boxes: []Box{box}})
	if err != nil {
		return nil, nil, err
	}
	return lab, lab.guests[0], nil
}

// Start boots every box of topo and wires them. ctx bounds the start only: guests run until Close, until
// they power off, or until their Box.Timeout. On error everything made so far is removed again.
//
// QEMU is started with PR_SET_PDEATHSIG, so it dies with the thread that started it: do not call Start
// from a goroutine that has locked its OS thread and will exit before the lab is closed.
func Start(ctx context.Context, topo Topology) (_ *Lab, err error) {
	plan, err := planTopology(topo)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l := &Lab{netns: map[string]string{}, dir: topo.Dir, runCtx: runCtx, cancel: cancel}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if l.dir == "" {
		if l.dir, err = os.MkdirTemp("", "palisade-qemu-"); err != nil {
			return nil, fmt.Errorf("making lab dir: %w", err)
		}
		l.ownDir = true
	}
	// Unix socket paths are limited to 108 bytes: keep them short, apart from the logs.
	if l.sockDir, err = os.MkdirTemp("", "palq"); err != nil {
		return nil, fmt.Errorf("making socket dir: %w", err)
	}

	if len(topo.HostNets) > 0 {
		if err := l.makeHostNets(ctx, topo.HostNets, plan); err != nil {
			return nil, err
		}
	}
	for i, box := range topo.Boxes {
		g, err := l.startGuest(ctx, runCtx, box, i, plan.ports[box.Name])
		if err != nil {
			return nil, err
		}
		l.guests = append(l.guests, g)
	}
	for _, hn := range plan.hostNets {
		if err := l.attachHostNet(ctx, hn); err != nil {
			return nil, err
		}
	}
	for _, hn := range plan.hostNets {
		for _, r := range hn.Routes {
			if _, err := ip(ctx, append([]string{"-n", l.netns[hn.Netns], "route", "add"}, strings.Fields(r)...)...); err != nil {
				return nil, fmt.Errorf("host net %s: route %q: %w", hn.Netns, r, err)
			}
		}
	}
	for _, r := range topo.Routers {
		ns, ok := l.netns[r]
		if !ok {
			return nil, fmt.Errorf("router %q is not a host net namespace", r)
		}
		if _, err := l.Exec(ctx, r, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"); err != nil {
			return nil, fmt.Errorf("router %s (%s): enabling forwarding: %w", r, ns, err)
		}
	}
	return l, nil
}

// Command returns a command that runs name with args in the host net namespace called netns (its logical
// name), through `ip netns exec`. Start it in the background (tcpdump, iperf3 -s) or Run it.
func (l *Lab) Command(ctx context.Context, netns, name string, args ...string) *exec.Cmd {
	ns := l.netns[netns]
	if ns == "" {
		ns = "unknown-netns-" + netns // ip netns exec fails, naming it
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Exec runs name with args in the host net namespace called netns and returns its combined output; the
// error carries the output too.
func (l *Lab) Exec(ctx context.Context, netns, name string, args ...string) (string, error) {
	out, err := l.Command(ctx, netns, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in %s: %s %s: %w: %s", netns, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

type plannedHostNet struct {
	HostNet
	tap string
}

type plan struct {
	ports    map[string][]netdev
	hostNets []plannedHostNet
}

// planTopology checks topo and decides every box's ports.
func planTopology(topo Topology) (plan, error) {
	p := plan{ports: map[string][]netdev{}}
	if len(topo.Boxes) == 0 {
		return p, errors.New("topology has no boxes")
	}
	for _, b := range topo.Boxes {
		if b.Name == "" {
			return p, errors.New("topology: a box has no name")
		}
		if _, dup := p.ports[b.Name]; dup {
			return p, fmt.Errorf("topology: box name %q used twice", b.Name)
		}
		if b.Board.QEMU == nil {
			return p, fmt.Errorf("box %s: board %q is not a QEMU board", b.Name, b.Board.Name)
		}
		if b.EFI == nil && (b.Kernel == "" || b.Initramfs == "") {
			return p, fmt.Errorf("box %s: Kernel and Initramfs must be set (see ImagePaths)", b.Name)
		}
		files := []string{b.Kernel, b.Initramfs, b.ConfigDisk}
		if b.EFI != nil {
			files = []string{b.EFI.Disk, b.EFI.Code, b.EFI.Vars, b.ConfigDisk}
		}
		for _, f := range files {
			if f == "" {
				continue
			}
			if _, err := os.Stat(f); err != nil {
				return p, fmt.Errorf("box %s: %w (for the image: make image BOARD=%s)", b.Name, err, b.Board.Name)
			}
		}
		p.ports[b.Name] = make([]netdev, b.NICs)
	}
	used := map[Endpoint]bool{}
	plug := func(e Endpoint, d netdev) error {
		ports, ok := p.ports[e.Box]
		if !ok {
			return fmt.Errorf("topology: %v: no box %q", e, e.Box)
		}
		if e.Port < 0 || e.Port >= maxPorts {
			return fmt.Errorf("topology: %v: port out of range 0..%d", e, maxPorts-1)
		}
		if used[e] {
			return fmt.Errorf("topology: %v is connected twice", e)
		}
		used[e] = true
		for len(ports) <= e.Port {
			ports = append(ports, netdev{})
		}
		ports[e.Port] = d
		p.ports[e.Box] = ports
		return nil
	}
	for _, w := range topo.Wires {
		a, b, err := freeUDPPorts()
		if err != nil {
			return p, err
		}
		if err := plug(w.A, netdev{kind: "udp", local: a, remote: b}); err != nil {
			return p, err
		}
		if err := plug(w.B, netdev{kind: "udp", local: b, remote: a}); err != nil {
			return p, err
		}
	}
	tapBase := randHex(3)
	for i, hn := range topo.HostNets {
		if hn.Netns == "" {
			return p, fmt.Errorf("topology: host net %d to %v has no namespace name", i, hn.To)
		}
		tap := fmt.Sprintf("pqt%s%d", tapBase, i) // at most 15 bytes (IFNAMSIZ)
		if err := plug(hn.To, netdev{kind: "tap", tap: tap}); err != nil {
			return p, err
		}
		p.hostNets = append(p.hostNets, plannedHostNet{hn, tap})
	}
	return p, nil
}

// freeUDPPorts returns two UDP ports on 127.0.0.1 that were free a moment ago.
func freeUDPPorts() (int, int, error) {
	var ports [2]int
	var conns []net.PacketConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range ports {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("finding a free UDP port for a wire: %w", err)
		}
		conns = append(conns, c)
		ports[i] = c.LocalAddr().(*net.UDPAddr).Port
	}
	return ports[0], ports[1], nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (l *Lab) startGuest(ctx, runCtx context.Context, box Box, index int, ports []netdev) (*Guest, error) {
	sock := filepath.Join(l.sockDir, fmt.Sprintf("%d.sock", index))
	log := filepath.Join(l.dir, box.Name+".console.log")
	args := qemuArgs(box, index, ports, socketConsole(sock, log))
	mon := ""
	if len(box.Unplugged) > 0 {
		// QEMU's machine protocol on a socket, for Lab.Plug.
		mon = filepath.Join(l.sockDir, fmt.Sprintf("%d.qmp", index))
		args = append(args, "-qmp", fmt.Sprintf("unix:%s,server=on,wait=off", mon))
	}
	timeout := box.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	boxCtx, cancel := context.WithTimeout(runCtx, timeout)
	cmd := exec.CommandContext(boxCtx, box.Board.QEMU.Binary, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no QEMU outlives a crashed harness
	cmd.ExtraFiles = extraFiles(ports)
	g := &Guest{Box: box, cmd: cmd, log: log, args: append([]string{box.Board.QEMU.Binary}, args...), exited: make(chan struct{}),
		index: index, ports: ports, sock: sock, mon: mon}
	g.started = time.Now()
	// Pdeathsig is sent when the thread that started QEMU ends, not the
	// process: a test goroutine that locks a thread to enter a network
	// namespace and ends without unlocking it ends the thread, and any
	// QEMU that thread had started was killed with it ("signal: killed"
	// in the middle of a test). So QEMU is started from a thread locked to
	// this goroutine, which lives until QEMU has exited.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := cmd.Wait()
		cancel()
		if err != nil && stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		g.waitErr = err
		close(g.exited)
	}()
	if err := <-started; err != nil {
		cancel()
		return nil, fmt.Errorf("box %s: starting %s: %w", box.Name, box.Board.QEMU.Binary, err)
	}
	// QEMU waits (wait=on) until the console is connected, so no output is lost.
	conn, err := dialConsole(ctx, sock, g.exited)
	if err != nil {
		g.kill()
		<-g.exited
		return nil, fmt.Errorf("box %s: connecting to the console: %w (qemu: %v)", box.Name, err, g.waitErr)
	}
	g.con = newConsole(conn)
	return g, nil
}

func dialConsole(ctx context.Context, sock string, exited <-chan struct{}) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := net.Dial("unix", sock)
		if err == nil {
			return conn, nil
		}
		select {
		case <-exited:
			return nil, errors.New("QEMU exited")
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w", sock, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Guest returns the running box called name, or nil.
func (l *Lab) Guest(name string) *Guest {
	for _, g := range l.guests {
		if g.Box.Name == name {
			return g
		}
	}
	return nil
}

// Guests returns the running boxes in topology order.
func (l *Lab) Guests() []*Guest { return append([]*Guest(nil), l.guests...) }

// Netns returns the real name of the namespace a HostNet called logical, for `ip netns exec NAME` or
// netns.GetFromName. It is "" for an unknown name.
func (l *Lab) Netns(logical string) string { return l.netns[logical] }

// Dir is where the console logs are.
func (l *Lab) Dir() string { return l.dir }

// Close kills every guest, then removes the TAPs, namespaces and temporary files the lab made. It may be
// called more than once.
func (l *Lab) Close() error {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	if l.closed {
		return l.closeErr
	}
	l.closed = true
	var errs []error
	for _, g := range l.guests {
		g.kill()
	}
	l.cancel()
	for _, g := range l.guests {
		<-g.exited
		g.con.conn.Close()
	}
	for _, tap := range l.taps {
		if linkExists(tap) {
			if _, err := ip(context.Background(), "link", "del", tap); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, ns := range l.netns {
		if _, err := ip(context.Background(), "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if l.sockDir != "" {
		errs = append(errs, os.RemoveAll(l.sockDir))
	}
	if l.ownDir {
		errs = append(errs, os.RemoveAll(l.dir))
	}
	l.closeErr = errors.Join(errs...)
	return l.closeErr
}

// Expect waits until the guest's console shows a match for re after the previous match, and returns the
// output from there up to the end of the match. It fails when ctx ends or QEMU exits first; the error
// carries the unmatched console output.
//
// Output arrives in pieces and re is tried on every piece: a pattern that ends in a variable part must say
// where it ends (`on (\S+)\r?\n`, not `on (\S+)`), or it may match half a word.
func (g *Guest) Expect(ctx context.Context, re *regexp.Regexp) (string, error) {
	out, err := g.con.expect(ctx, re)
	if err != nil {
		return "", fmt.Errorf("box %s: %w", g.Box.Name, err)
	}
	return out, nil
}

// Send types line and Enter (a carriage return, as a terminal sends) on the guest's console.
func (g *Guest) Send(line string) error {
	return g.Write([]byte(line + "\r"))
}

// Write types p on the guest's console as it is.
func (g *Guest) Write(p []byte) error {
	if err := g.con.write(p); err != nil {
		return fmt.Errorf("box %s: %w", g.Box.Name, err)
	}
	return nil
}

// Follow copies everything the guest prints, from the start, to w until ctx ends or QEMU exits.
func (g *Guest) Follow(ctx context.Context, w io.Writer) error { return g.con.follow(ctx, w) }

// Output returns everything the guest has printed so far.
func (g *Guest) Output() string { return g.con.output() }

// LogFile is the console log QEMU writes.
func (g *Guest) LogFile() string { return g.log }

// Started is when QEMU was started.
func (g *Guest) Started() time.Time { return g.started }

// CommandLine is QEMU's command line, quoted for a shell.
func (g *Guest) CommandLine() string { return ShellQuote(g.args) }

// Wait waits until QEMU exits (the guest powered off, rebooted, panicked, or was killed) and returns its
// exit error, or ctx's error.
func (g *Guest) Wait(ctx context.Context) error {
	select {
	case <-g.exited:
		return g.waitErr
	case <-ctx.Done():
		return fmt.Errorf("box %s: waiting for QEMU to exit: %w", g.Box.Name, ctx.Err())
	}
}

// Exited is closed when QEMU has exited.
func (g *Guest) Exited() <-chan struct{} { return g.exited }

func (g *Guest) kill() {
	if g.cmd.Process != nil {
		g.cmd.Process.Kill()
	}
}

// makeHostNets creates the namespaces (unique names per run) and the TAPs in the host namespace, where
// QEMU opens them; attachHostNet moves them once QEMU holds them.
func (l *Lab) makeHostNets(ctx context.Context, hostNets []HostNet, p plan) error {
	if os.Geteuid() != 0 {
		return errors.New("host nets need root (network namespaces and TAP devices)")
	}
	sweepStaleNetns(ctx)
	run := fmt.Sprintf("palq-%d-%s", os.Getpid(), randHex(2))
	for _, hn := range p.hostNets {
		if _, ok := l.netns[hn.Netns]; ok {
			continue
		}
		name := run + "-" + hn.Netns
		if _, err := ip(ctx, "netns", "add", name); err != nil {
			return fmt.Errorf("host net %s: %w", hn.Netns, err)
		}
		l.netns[hn.Netns] = name
		if _, err := ip(ctx, "-n", name, "link", "set", "lo", "up"); err != nil {
			return fmt.Errorf("host net %s: %w", hn.Netns, err)
		}
	}
	for _, hn := range p.hostNets {
		if _, err := ip(ctx, "tuntap", "add", "dev", hn.tap, "mode", "tap"); err != nil {
			return fmt.Errorf("host net %s to %v: %w", hn.Netns, hn.To, err)
		}
		l.taps = append(l.taps, hn.tap)
		if _, err := ip(ctx, "link", "set", hn.tap, "up"); err != nil {
			return fmt.Errorf("host net %s to %v: %w", hn.Netns, hn.To, err)
		}
	}
	return nil
}

func (l *Lab) attachHostNet(ctx context.Context, hn plannedHostNet) error {
	fail := func(err error) error { return fmt.Errorf("host net %s to %v: %w", hn.Netns, hn.To, err) }
	// The TAP gets carrier when QEMU attaches to it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, _ := os.ReadFile(filepath.Join("/sys/class/net", hn.tap, "carrier"))
		if strings.TrimSpace(string(c)) == "1" {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("QEMU did not attach to %s within 30s", hn.tap))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	ns := l.netns[hn.Netns]
	ifname := hn.IfName
	if ifname == "" {
		ifname = nextEthName(ctx, ns)
	}
	steps := [][]string{
		{"link", "set", hn.tap, "netns", ns},
		{"-n", ns, "link", "set", hn.tap, "down"},
		{"-n", ns, "link", "set", hn.tap, "name", ifname},
	}
	for _, a := range hn.Addrs {
		steps = append(steps, []string{"-n", ns, "addr", "add", a, "dev", ifname})
	}
	steps = append(steps, []string{"-n", ns, "link", "set", ifname, "up"})
	if hn.Gateway != "" {
		steps = append(steps, []string{"-n", ns, "route", "add", "default", "via", hn.Gateway})
	}
	for i, s := range steps {
		if _, err := ip(ctx, s...); err != nil {
			return fail(err)
		}
		if i == 0 {
			l.taps = removeString(l.taps, hn.tap) // it goes away with the namespace now
		}
	}
	l.attached = append(l.attached, attachedNet{tap: hn.tap, netns: ns, ifname: ifname})
	return nil
}

func nextEthName(ctx context.Context, ns string) string {
	for i := 0; ; i++ {
		name := fmt.Sprintf("eth%d", i)
		if _, err := ip(ctx, "-n", ns, "link", "show", name); err != nil {
			return name
		}
	}
}

func removeString(list []string, s string) []string {
	var out []string
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

func linkExists(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

func ip(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// sweepStaleNetns deletes namespaces left by harness processes that died without Close (palq-PID-...).
func sweepStaleNetns(ctx context.Context) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "palq-")
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			ip(ctx, "netns", "del", e.Name())
		}
	}
}
