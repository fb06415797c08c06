package policy

import (
	"fmt"
	"testing"
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
		tcpListen(t, h, 8080)
		tcpListen(t, h, 23)
	}
	check := func(what string, got, want outcome) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %s, want %s", what, got, want)
		}
	}
	t.Run("host-inbound", func(t *testing.T) {
		check("ping6 router from trust (all)", pingProbe(h0, routerAddr6(0)), passed)
		check("ssh router over IPv6 from trust (all)", tcpProbe(h0, routerAddr6(0), 22), refused)
		check("ping6 router from untrust (ping)", pingProbe(h1, routerAddr6(1)), passed)
		check("ssh router over IPv6 from untrust (ping only)", tcpProbe(h1, routerAddr6(1), 22), dropped)
		check("tcp 8080 to the router over IPv6 from untrust (nothing allows it)", tcpProbe(h1, routerAddr6(1), 8080), dropped)
		check("ping6 router from dmz (ssh only)", pingProbe(h2, routerAddr6(2)), dropped)
		check("ssh router over IPv6 from dmz (ssh)", tcpProbe(h2, routerAddr6(2), 22), refused)
	})
	t.Run("forward", func(t *testing.T) {
		check("trust->untrust ping6 (permit-ping6: junos-pingv6)", pingProbe(h0, hostAddr6(1)), passed)
		check("trust->untrust tcp6 23 (reject-telnet: RST)", tcpProbe(h0, hostAddr6(1), 23), refused)
		check("trust->untrust tcp6 22 (deny-ssh)", tcpProbe(h0, hostAddr6(1), 22), dropped)
		// permit-web's web-servers are IPv4 addresses: no IPv6 packet matches it.
		check("trust->untrust tcp6 8080 (permit-web is IPv4 only: default deny)", tcpProbe(h0, hostAddr6(1), 8080), dropped)
		check("untrust->trust tcp6 8080 (no policy)", tcpProbe(h1, hostAddr6(0), 8080), dropped)
		check("untrust->trust ping6 (no policy)", pingProbe(h1, hostAddr6(0)), dropped)
		check("trust->dmz tcp6 8080 (deny-web before allow-web)", tcpProbe(h0, hostAddr6(2), 8080), dropped)
	})
}

func hostAddr6(i int) string   { return fmt.Sprintf("fd00:%d::2", i+1) }
func routerAddr6(i int) string { return fmt.Sprintf("fd00:%d::1", i+1) }
