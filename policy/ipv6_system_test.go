package policy

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestSystemIPv6 runs the lab's zones and policies with IPv6 packets: the
// tables are of the inet family, so host-inbound-traffic and the
// first-match policies must hold for IPv6 exactly as for IPv4. A port that
// no zone allows stays closed over IPv6 too.
func TestSystemIPv6(t *testing.T) {
	l := newLab(t, 3)
	h0, h1, h2 := l.hosts[0], l.hosts[1], l.hosts[2]
	for i, h := range l.hosts {
		// nodad: the addresses are usable at once, not tentative for a second.
		run(t, "ip", "-n", l.router, "-6", "addr", "add", routerAddr6(i)+"/64", "dev", fmt.Sprintf("ge-0-0-%d", i), "nodad")
		run(t, "ip", "-n", h, "-6", "addr", "add", hostAddr6(i)+"/64", "dev", "eth0", "nodad")
		run(t, "ip", "-n", h, "-6", "route", "add", "default", "via", routerAddr6(i))
	}
	run(t, "ip", "netns", "exec", l.router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	// junos-ping is ICMP (IPv4) echo, as on an SRX; IPv6 echo is junos-pingv6.
	c := compileLab(t, labConfig("deny-web", "allow-web")+`
set security policies from-zone trust to-zone untrust policy permit-ping6 match source-address any destination-address any application junos-pingv6
set security policies from-zone trust to-zone untrust policy permit-ping6 then permit
`)
	l.apply(c.Ruleset)

	for _, h := range l.hosts {
		tcpListen6(t, h, 8080)
		tcpListen6(t, h, 23)
	}
	check := func(what string, got, want outcome) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %s, want %s", what, got, want)
		}
	}
	t.Run("host-inbound", func(t *testing.T) {
		check("ping6 router from trust (all)", ping6Probe(h0, routerAddr6(0)), passed)
		check("ssh router over IPv6 from trust (all)", tcpProbe6(h0, routerAddr6(0), 22), refused)
		check("ping6 router from untrust (ping)", ping6Probe(h1, routerAddr6(1)), passed)
		check("ssh router over IPv6 from untrust (ping only)", tcpProbe6(h1, routerAddr6(1), 22), dropped)
		check("tcp 8080 to the router over IPv6 from untrust (nothing allows it)", tcpProbe6(h1, routerAddr6(1), 8080), dropped)
		check("ping6 router from dmz (ssh only)", ping6Probe(h2, routerAddr6(2)), dropped)
		check("ssh router over IPv6 from dmz (ssh)", tcpProbe6(h2, routerAddr6(2), 22), refused)
	})
	t.Run("forward", func(t *testing.T) {
		check("trust->untrust ping6 (permit-ping6: junos-pingv6)", ping6Probe(h0, hostAddr6(1)), passed)
		check("trust->untrust tcp6 23 (reject-telnet: RST)", tcpProbe6(h0, hostAddr6(1), 23), refused)
		check("trust->untrust tcp6 22 (deny-ssh)", tcpProbe6(h0, hostAddr6(1), 22), dropped)
		// permit-web's web-servers are IPv4 addresses: no IPv6 packet matches it.
		check("trust->untrust tcp6 8080 (permit-web is IPv4 only: default deny)", tcpProbe6(h0, hostAddr6(1), 8080), dropped)
		check("untrust->trust tcp6 8080 (no policy)", tcpProbe6(h1, hostAddr6(0), 8080), dropped)
		check("untrust->trust ping6 (no policy)", ping6Probe(h1, hostAddr6(0)), dropped)
		check("trust->dmz tcp6 8080 (deny-web before allow-web)", tcpProbe6(h0, hostAddr6(2), 8080), dropped)
	})
}

func hostAddr6(i int) string   { return fmt.Sprintf("fd00:%d::2", i+1) }
func routerAddr6(i int) string { return fmt.Sprintf("fd00:%d::1", i+1) }

// tcpListen6 serves TCP over IPv6 on host ns at port, accepting and closing.
func tcpListen6(t testing.TB, ns string, port int) {
	var ln net.Listener
	if err := inNS(ns, func() (err error) {
		ln, err = net.Listen("tcp6", fmt.Sprintf("[::]:%d", port))
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

func tcpProbe6(ns, addr string, port int) outcome {
	var err error
	nsErr := inNS(ns, func() error {
		var c net.Conn
		c, err = net.DialTimeout("tcp6", net.JoinHostPort(addr, fmt.Sprint(port)), probeTimeout)
		if err == nil {
			c.Close()
		}
		return nil
	})
	if nsErr != nil {
		// Not in the namespace: the probe proves nothing, and matches no
		// outcome a check wants.
		return outcome("probe failed: " + nsErr.Error())
	}
	return classify(err)
}

// ping6Probe sends one ICMPv6 echo request (the kernel fills in the
// checksum of raw ICMPv6 sockets) and waits for the matching reply.
func ping6Probe(ns, addr string) outcome {
	var err error
	nsErr := inNS(ns, func() error {
		var c net.PacketConn
		c, err = net.ListenPacket("ip6:ipv6-icmp", "::")
		if err != nil {
			return nil
		}
		defer c.Close()
		id := uint16(os.Getpid())
		msg := []byte{128, 0, 0, 0, byte(id >> 8), byte(id), 0, 1, 'p', 'a', 'l'}
		if _, err = c.WriteTo(msg, &net.IPAddr{IP: net.ParseIP(addr)}); err != nil {
			return nil
		}
		c.SetReadDeadline(time.Now().Add(probeTimeout))
		buf := make([]byte, 1500)
		for {
			var n int
			n, _, err = c.ReadFrom(buf)
			if err != nil {
				return nil
			}
			if n >= 8 && buf[0] == 129 && binary.BigEndian.Uint16(buf[4:]) == id {
				return nil
			}
			if n >= 8 && buf[0] == 1 { // destination unreachable
				err = syscall.EHOSTUNREACH
				return nil
			}
		}
	})
	if nsErr != nil {
		// Not in the namespace: the probe proves nothing, and matches no
		// outcome a check wants.
		return outcome("probe failed: " + nsErr.Error())
	}
	return classify(err)
}
