package netconf

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/drivers/netnstest"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/policy"
)

func kname(j string) string { return strings.ReplaceAll(j, "/", "-") }

func seed(t *testing.T) *config.Config {
	t.Helper()
	b, err := os.ReadFile("../config/testdata/srx1.set")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Parse("srx1.set", string(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompileSeed(t *testing.T) {
	in, err := Compile(seed(t), kname)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Links) != 2 || in.Links[1].Kernel != "ge-0-0-1" || in.Links[1].Addrs[0] != netip.MustParsePrefix("172.16.13.1/24") {
		t.Errorf("links: got %+v", in.Links)
	}
	if len(in.Routes) != 1 || in.Routes[0].NextHops[0] != netip.MustParseAddr("172.16.13.2") || in.Routes[0].Preference != 5 {
		t.Errorf("routes: got %+v", in.Routes)
	}
}

func TestApplyIdempotentInNamespace(t *testing.T) {
	ns := netnstest.New(t)
	h := ns.Handle
	for _, pair := range [][2]string{{"ge-0-0-0", "peer0"}, {"ge-0-0-1", "peer1"}} {
		if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: pair[0]}, PeerName: pair[1]}); err != nil {
			t.Fatal(err)
		}
		p, _ := h.LinkByName(pair[1])
		if err := h.LinkSetUp(p); err != nil {
			t.Fatal(err)
		}
	}
	// A stale address and a stale Palisade route must go; a foreign route stays.
	ns.IP(t, "link", "set", "ge-0-0-0", "up")
	ns.IP(t, "addr", "add", "10.9.9.9/24", "dev", "ge-0-0-0")
	ns.IP(t, "route", "add", "10.8.0.0/16", "via", "10.9.9.1", "proto", "80", "metric", "5")
	ns.IP(t, "route", "add", "10.7.0.0/16", "via", "10.9.9.1", "proto", "static")
	ns.IP(t, "addr", "del", "10.9.9.9/24", "dev", "ge-0-0-0")
	ns.IP(t, "addr", "add", "10.9.9.9/24", "dev", "ge-0-0-0")

	in, err := Compile(seed(t), kname)
	if err != nil {
		t.Fatal(err)
	}
	managed := func(n string) bool { return strings.HasPrefix(n, "ge-") }
	rep, err := Apply(h, in, managed)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.MissingLinks)+len(rep.InactiveRoutes) != 0 {
		t.Errorf("report: %+v", rep)
	}
	addrs := ns.IP(t, "-4", "-br", "addr")
	routes := ns.IP(t, "-4", "route")
	for _, want := range []string{"10.100.11.1/24", "172.16.13.1/24"} {
		if !strings.Contains(addrs, want) {
			t.Errorf("addresses lack %s:\n%s", want, addrs)
		}
	}
	if strings.Contains(addrs, "10.9.9.9") {
		t.Errorf("stale address kept:\n%s", addrs)
	}
	if !strings.Contains(routes, "default via 172.16.13.2 dev ge-0-0-1 proto 80 metric 5") {
		t.Errorf("no default route:\n%s", routes)
	}
	if strings.Contains(routes, "10.8.0.0/16") {
		t.Errorf("stale Palisade route kept:\n%s", routes)
	}
	if _, err := Apply(h, in, managed); err != nil {
		t.Fatal(err)
	}
	if a2, r2 := ns.IP(t, "-4", "-br", "addr"), ns.IP(t, "-4", "route"); a2 != addrs || r2 != routes {
		t.Errorf("second apply changed the kernel:\n%s\n%s\n---\n%s\n%s", addrs, routes, a2, r2)
	}
}

func TestMissingLinkIsReportedNotFatal(t *testing.T) {
	h := netnstest.New(t).Handle
	c, _, err := config.Parse("t", "set interfaces ge-0/0/7 unit 0 family inet address 10.1.1.1/24\nset routing-options static route 0.0.0.0/0 next-hop 10.2.2.2\n")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := Compile(c, kname)
	rep, err := Apply(h, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.MissingLinks) != 1 || rep.MissingLinks[0] != "ge-0/0/7" || len(rep.InactiveRoutes) != 1 {
		t.Errorf("got %+v", rep)
	}
}

// TestRouteFailoverOnCarrierLoss: two static default routes of different
// preference over two ports. With Sysctls in place, the better one carries
// the traffic while its port has carrier; when the cable is pulled (the peer
// end goes down) the other takes over, and the first comes back with the
// carrier, as on an SRX.
func TestRouteFailoverOnCarrierLoss(t *testing.T) {
	ns := netnstest.New(t)
	h := ns.Handle
	for _, pair := range [][2]string{{"ge-0-0-1", "peer1"}, {"ge-0-0-2", "peer2"}} {
		if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: pair[0]}, PeerName: pair[1]}); err != nil {
			t.Fatal(err)
		}
		ns.LinkUp(t, pair[1])
	}
	c, _, err := config.Parse("t", `set interfaces ge-0/0/1 unit 0 family inet address 172.16.13.1/24
set interfaces ge-0/0/2 unit 0 family inet address 10.0.2.1/24
set routing-options static route 0.0.0.0/0 next-hop 172.16.13.2
set routing-options static route 0.0.0.0/0 next-hop 10.0.2.2 preference 10
`)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Compile(c, kname)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(h, in, nil); err != nil {
		t.Fatal(err)
	}
	func() {
		ns.Enter(t) // /proc/sys/net is the calling thread's namespace's
		if err := policy.WriteSysctls("/proc/sys", Sysctls()); err != nil {
			t.Fatal(err)
		}
	}()
	waitFor(t, func() bool { return strings.Contains(ns.IP(t, "-4", "route", "get", "192.0.2.1"), "dev ge-0-0-1") },
		"traffic to take the preferred route on ge-0/0/1 with both ports up:\n"+ns.IP(t, "-4", "route"))
	ns.IP(t, "link", "set", "peer1", "down")
	waitFor(t, func() bool { return strings.Contains(ns.IP(t, "-4", "route", "get", "192.0.2.1"), "dev ge-0-0-2") },
		"traffic to move to the preference-10 route on ge-0/0/2 after ge-0/0/1 lost its carrier:\n"+ns.IP(t, "-4", "route"))
	ns.IP(t, "link", "set", "peer1", "up")
	waitFor(t, func() bool { return strings.Contains(ns.IP(t, "-4", "route", "get", "192.0.2.1"), "dev ge-0-0-1") },
		"traffic to come back to ge-0/0/1 with its carrier:\n"+ns.IP(t, "-4", "route"))
}

// waitFor polls cond for up to 5 s: carrier changes reach routing
// asynchronously.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
