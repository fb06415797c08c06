package vpn

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/drivers/netnstest"
	"github.com/palisade/palisade/vpn/ike/ikev1"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// TestGatewayWaitsForItsAddress: a gateway whose local address is not on
// the box (its port is missing, or has no address yet) used to fail the
// whole commit ("starting IKE on 172.16.13.1: bind: cannot assign requested
// address"). Now Apply succeeds, the gateway is listed as waiting with a
// log line, and once the address is added it starts and its tunnel comes
// up, over real UDP sockets in a fresh namespace.
func TestGatewayWaitsForItsAddress(t *testing.T) {
	checkGoroutines(t)
	ns := netnstest.New(t)
	ns.Enter(t)
	ns.LinkUp(t, "lo")
	ns.IP(t, "link", "add", "wan1", "type", "veth", "peer", "name", "wan2")
	ns.IP(t, "addr", "add", srx2.String()+"/24", "dev", "wan2")
	ns.LinkUp(t, "wan1")
	ns.LinkUp(t, "wan2")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	var logA bytes.Buffer
	start := func(log *slog.Logger, inst seam.Installer) (*Daemon, chan error) {
		d := New(Options{Log: log, Installer: inst, Tick: 20 * time.Millisecond,
			Engine: ikev1.Config{IKEPort: 10500, NATTPort: 14500, RetransmitBase: 200 * time.Millisecond, RetryAfter: 200 * time.Millisecond}})
		done := make(chan error, 1)
		go func() { done <- d.Run(runCtx) }()
		return d, done
	}
	instA, instB := seam.NewRecordingInstaller(), seam.NewRecordingInstaller()
	a, doneA := start(slog.New(slog.NewTextHandler(&logA, nil)), instA)
	b, doneB := start(slog.New(slog.DiscardHandler), instB)
	gwA, tunA := seedConfig(srx1, srx2, net1, net2, true)
	gwB, tunB := seedConfig(srx2, srx1, net2, net1, false)
	if err := b.Reconcile(ctx, gwB, tunB); err != nil {
		t.Fatal(err)
	}
	if err := a.Reconcile(ctx, gwA, tunA); err != nil {
		t.Fatalf("a gateway without its address failed the apply: %v", err)
	}
	if w := a.WaitingGateways(); len(w) != 1 || w[0].Gateway != "IKE-GW" || w[0].Local != srx1 {
		t.Fatalf("waiting gateways %+v, want IKE-GW on %v", w, srx1)
	}
	if !strings.Contains(logA.String(), "IKE gateway waiting for its interface") {
		t.Errorf("no log line for the waiting gateway:\n%s", logA.String())
	}
	// A second apply of the same intent logs no second line.
	before := strings.Count(logA.String(), "waiting for its interface")
	if err := a.Reconcile(ctx, gwA, tunA); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logA.String(), "waiting for its interface"); n != before {
		t.Errorf("%d waiting lines after the same apply again, want %d", n, before)
	}

	ns.IP(t, "addr", "add", srx1.String()+"/24", "dev", "wan1")
	// The address may take a moment to be usable for bind (DAD is IPv6 only).
	for len(a.WaitingGateways()) > 0 {
		a.Rebind(ctx)
		if ctx.Err() != nil {
			t.Fatal("the gateway never started after its address was added")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for len(instA.Installed()) == 0 || len(instB.Installed()) == 0 {
		if ctx.Err() != nil {
			t.Fatalf("no tunnel after the address came up; A's log:\n%s", logA.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logA.String(), "IKE gateway started: its address is up") {
		t.Errorf("no log line for the started gateway:\n%s", logA.String())
	}
	stop()
	for _, done := range []chan error{doneA, doneB} {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestReqidsHaveOneOwner: the compile assigns reqids, a kept tunnel keeps
// its reqid from one intent to the next, a new one gets a number never
// used in the chain, and the XFRM policy carries the same reqid.
func TestReqidsHaveOneOwner(t *testing.T) {
	gws, tuns := seedConfig(srx1, srx2, net1, net2, true)
	second := tuns[0]
	second.PolicyName, second.Remote = "VPN-OUT-2", net1
	second.Local = net2
	first, err := CompileGateways(gws, append(tuns, second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Reqid("VPN-OUT") != 1 || first.Reqid("VPN-OUT-2") != 2 {
		t.Fatalf("reqids %v, want VPN-OUT 1, VPN-OUT-2 2", first.reqids)
	}
	// Drop the first tunnel, add a third: the second keeps 2, the third
	// gets 3 (not 1, which SAs of the removed tunnel may still carry).
	third := second
	third.PolicyName = "VPN-OUT-3"
	third.Remote = netip.MustParsePrefix("10.100.44.0/24")
	next, err := CompileGateways(gws, []Tunnel{second, third}, first)
	if err != nil {
		t.Fatal(err)
	}
	if next.Reqid("VPN-OUT-2") != 2 || next.Reqid("VPN-OUT-3") != 3 || next.Reqid("VPN-OUT") != 0 {
		t.Errorf("reqids %v, want VPN-OUT-2 2, VPN-OUT-3 3", next.reqids)
	}
	for name, p := range next.policies {
		if p.Reqid != next.Reqid(name) {
			t.Errorf("XFRM policy of %s has reqid %d, the intent %d", name, p.Reqid, next.Reqid(name))
		}
	}
	for _, ps := range next.v1 {
		for _, p := range ps {
			for _, c := range p.Children {
				if c.Reqid != next.Reqid(c.Policy) {
					t.Errorf("child %s has reqid %d, the intent %d", c.Policy, c.Reqid, next.Reqid(c.Policy))
				}
			}
		}
	}
}
