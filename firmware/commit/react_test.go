package commit

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/palisade/palisade/drivers/netnstest"
	"github.com/palisade/palisade/firmware/config"
)

// TestCarrierReappliesOnlyRoutes, in a fresh namespace: after a port goes
// down and up (the kernel then drops the static routes over it), the
// carrier change re-applies the running Intent's routes, and nothing else:
// no other stage runs, and the link's own settings are not applied again
// (an MTU changed by hand after the commit stays).
func TestCarrierReappliesOnlyRoutes(t *testing.T) {
	ns := netnstest.New(t)
	ns.IP(t, "link", "add", "ge-0-0-1", "type", "veth", "peer", "name", "peer1")
	ns.IP(t, "link", "set", "peer1", "up")
	c, _, err := config.Parse("t", `set interfaces ge-0/0/1 unit 0 family inet address 10.1.1.1/24
set routing-options static route 10.9.0.0/16 next-hop 10.1.1.2
`)
	if err != nil {
		t.Fatal(err)
	}
	fw := &recorder{name: "security policies"}
	p := &Pipeline{Stages: []Stage{NetStage(ns.Handle, slog.New(slog.DiscardHandler)), fw}}
	ctx := context.Background()
	if _, err := p.Commit(ctx, c, Options{}); err != nil {
		t.Fatal(err)
	}
	route := func() string { return ns.IP(t, "route", "show", "10.9.0.0/16") }
	if !strings.Contains(route(), "via 10.1.1.2") {
		t.Fatalf("after the commit: no static route:\n%s", ns.IP(t, "route"))
	}
	ns.IP(t, "link", "set", "ge-0-0-1", "mtu", "1400")
	ns.IP(t, "link", "set", "ge-0-0-1", "down")
	if err := p.React(ctx, Change{Kind: Carrier, Port: "ge-0/0/1"}); err != nil {
		t.Logf("react while down: %v", err) // the next hop is unreachable: the route waits
	}
	ns.IP(t, "link", "set", "ge-0-0-1", "up")
	if r := route(); strings.Contains(r, "via") {
		t.Fatalf("the kernel kept the route over a port that went down; the test proves nothing:\n%s", r)
	}
	for range 2 { // twice: reacting is idempotent too
		if err := p.React(ctx, Change{Kind: Carrier, Port: "ge-0/0/1"}); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(route(), "via 10.1.1.2") {
		t.Errorf("after the carrier came back: no static route:\n%s", ns.IP(t, "route"))
	}
	if len(fw.applied) != 1 {
		t.Errorf("the firewall stage ran %d times, want once (the commit)", len(fw.applied))
	}
	if link := ns.IP(t, "link", "show", "ge-0-0-1"); !strings.Contains(link, "mtu 1400") {
		t.Errorf("the link was applied again (its MTU is back):\n%s", link)
	}
	// An address change re-applies no route and no other stage either.
	if err := p.React(ctx, Change{Kind: Address, Port: "ge-0/0/1"}); err != nil {
		t.Fatal(err)
	}
	if len(fw.applied) != 1 {
		t.Errorf("an address change ran the firewall stage")
	}
}
