package netconf

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/qemu/netnstest"
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
