package policy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"

	"github.com/palisade/palisade/drivers/netnstest"
)

// lab is a router namespace with one host namespace per port: host i sits
// behind the router's veth "ge-0-0-i", at 10.<i+1>.0.2/24, and the router
// at 10.<i+1>.0.1. Everything is removed in t.Cleanup.
type lab struct {
	t      testing.TB
	router string
	hosts  []string
	fd     netns.NsHandle
}

// requireRoot skips a system test when it cannot create namespaces or has
// no nft binary (needed for the listings the tests compare).
func requireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("system test: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("system test: needs root for network namespaces and nftables")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("system test: needs the nft binary")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("system test: needs iproute2's ip")
	}
}

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newNS is a fresh namespace with lo up.
func newNS(t testing.TB) *netnstest.NS {
	t.Helper()
	ns := netnstest.New(t)
	ns.LinkUp(t, "lo")
	return ns
}

func newLab(t testing.TB, ports int) *lab {
	requireRoot(t)
	r := newNS(t)
	l := &lab{t: t, router: r.Name, fd: r.NsHandle}
	for i := 0; i < ports; i++ {
		h := newNS(t).Name
		ge := fmt.Sprintf("ge-0-0-%d", i)
		run(t, "ip", "-n", l.router, "link", "add", ge, "type", "veth", "peer", "name", "eth0", "netns", h)
		run(t, "ip", "-n", l.router, "addr", "add", fmt.Sprintf("10.%d.0.1/24", i+1), "dev", ge)
		run(t, "ip", "-n", l.router, "link", "set", ge, "up")
		run(t, "ip", "-n", h, "addr", "add", fmt.Sprintf("10.%d.0.2/24", i+1), "dev", "eth0")
		run(t, "ip", "-n", h, "link", "set", "eth0", "up")
		run(t, "ip", "-n", h, "route", "add", "default", "via", fmt.Sprintf("10.%d.0.1", i+1))
		l.hosts = append(l.hosts, h)
	}
	run(t, "ip", "netns", "exec", l.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	// Accounting must be on before sessions start; the sysctl appears once
	// conntrack is in use in the namespace, so load a ruleset first.
	return l
}

func (l *lab) conn() *nftables.Conn {
	c, err := nftables.New(ConnOptions(int(l.fd))...)
	if err != nil {
		l.t.Fatalf("nftables connection: %v", err)
	}
	return c
}

func (l *lab) apply(r *Ruleset) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Apply(ctx, l.conn(), r); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) listRuleset() string {
	return run(l.t, "ip", "netns", "exec", l.router, "nft", "--numeric", "list", "ruleset")
}

// host returns the address of host i.
func hostAddr(i int) string { return fmt.Sprintf("10.%d.0.2", i+1) }

// routerAddr returns the router's address on port i.
func routerAddr(i int) string { return fmt.Sprintf("10.%d.0.1", i+1) }

// inNS runs fn on an OS thread switched into the named namespace. Sockets
// made there stay in that namespace after fn returns.
func inNS(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		h, err := netns.GetFromName(name)
		if err != nil {
			errc <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- err
			return
		}
		errc <- fn()
		// A thread that cannot go back stays locked and dies with the goroutine.
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-errc
}

// outcome classifies a connection attempt.
type outcome string

const (
	passed  outcome = "passed"  // answered by the peer
	refused outcome = "refused" // RST or ICMP error: rejected, or no listener
	dropped outcome = "dropped" // no answer before the deadline
)

const probeTimeout = 700 * time.Millisecond

func classify(err error) outcome {
	var ne net.Error
	switch {
	case err == nil:
		return passed
	case errors.As(err, &ne) && ne.Timeout():
		return dropped
	default:
		return refused
	}
}

// tcpListen serves TCP on host ns at port, over IPv4 and IPv6, accepting
// and closing.
func tcpListen(t testing.TB, ns string, port int) {
	var ln net.Listener
	if err := inNS(ns, func() (err error) {
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// udpEcho echoes UDP datagrams on host ns at port.
func udpEcho(t testing.TB, ns string, port int) {
	var pc net.PacketConn
	if err := inNS(ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, a, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], a)
		}
	}()
}

// probeIn runs probe in namespace ns and classifies its error. A probe
// that cannot enter the namespace proves nothing, and its outcome matches
// none a check wants.
func probeIn(ns string, probe func() error) outcome {
	var err error
	if nsErr := inNS(ns, func() error { err = probe(); return nil }); nsErr != nil {
		return outcome("probe failed: " + nsErr.Error())
	}
	return classify(err)
}

// ipNet returns the network name suffix for addr's family: "4" or "6".
func ipNet(addr string) string {
	if strings.Contains(addr, ":") {
		return "6"
	}
	return "4"
}

func tcpProbe(ns, addr string, port int) outcome {
	return probeIn(ns, func() error {
		c, err := net.DialTimeout("tcp"+ipNet(addr), net.JoinHostPort(addr, fmt.Sprint(port)), probeTimeout)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func udpProbe(ns, addr string, port int) outcome {
	return probeIn(ns, func() error {
		c, err := net.Dial("udp"+ipNet(addr), net.JoinHostPort(addr, fmt.Sprint(port)))
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(probeTimeout))
		if _, err = c.Write([]byte("palisade")); err != nil {
			return err
		}
		_, err = c.Read(make([]byte, 64))
		return err
	})
}

// pingProbe sends one ICMP (or ICMPv6) echo request from a raw socket (the
// host has no ping binary) and waits for the matching reply.
func pingProbe(ns, addr string) outcome {
	// Echo request, echo reply, destination unreachable; the kernel sums
	// ICMPv6 itself (the checksum covers a pseudo-header).
	network, echo, reply, unreach := "ip4:icmp", byte(8), byte(0), byte(3)
	if ipNet(addr) == "6" {
		network, echo, reply, unreach = "ip6:ipv6-icmp", 128, 129, 1
	}
	return probeIn(ns, func() error {
		c, err := net.ListenPacket(network, "")
		if err != nil {
			return err
		}
		defer c.Close()
		id := uint16(os.Getpid())
		msg := []byte{echo, 0, 0, 0, byte(id >> 8), byte(id), 0, 1, 'p', 'a', 'l'}
		if echo == 8 {
			binary.BigEndian.PutUint16(msg[2:], icmpChecksum(msg))
		}
		if _, err = c.WriteTo(msg, &net.IPAddr{IP: net.ParseIP(addr)}); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(probeTimeout))
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return err
			}
			if n >= 8 && buf[0] == reply && binary.BigEndian.Uint16(buf[4:]) == id && from.String() == addr {
				return nil
			}
			if n >= 8 && buf[0] == unreach {
				return syscall.EHOSTUNREACH
			}
		}
	})
}

func icmpChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
