package vpn

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/seam"
)

// TestDaemonsV2 runs three daemons: A has a v2-only gateway to B and an
// IKEv1 gateway to C on the same address, so one pair of sockets carries
// both versions to their engines.
func TestDaemonsV2(t *testing.T) {
	checkGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	net := seam.NewPipeNetwork()
	c := &clock{now: time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)}
	runCtx, stop := context.WithCancel(ctx)
	srx3, net3 := netip.MustParseAddr("172.16.33.1"), netip.MustParsePrefix("10.100.33.0/24")
	a := startDaemon(t, runCtx, net, c, 1, nil)
	b := startDaemon(t, runCtx, net, c, 2, nil)
	x := startDaemon(t, runCtx, net, c, 3, nil)
	gwAB, tunAB := seedConfig(srx1, srx2, net1, net2, true)
	gwBA, tunBA := seedConfig(srx2, srx1, net2, net1, false)
	for _, g := range []*Gateway{&gwAB[0], &gwBA[0]} {
		g.Version = "v2-only"
		g.Proposals[0] = IKEProposal{Name: "v2", Encryption: "aes-256-gcm", DHGroup: "group31"}
	}
	tunAB[0].Proposals[0] = IPsecProposal{Name: "cc", Encryption: "chacha20-poly1305", Lifetime: time.Hour}
	tunBA[0].Proposals[0] = tunAB[0].Proposals[0]
	gwAC, tunAC := seedConfig(srx1, srx3, net1, net3, true)
	gwCA, tunCA := seedConfig(srx3, srx1, net3, net1, false)
	gwAC[0].Name, gwCA[0].Name = "IKE-GW-C", "IKE-GW-C"
	tunAC[0].Gateway, tunCA[0].Gateway = "IKE-GW-C", "IKE-GW-C"
	tunAC[0].VPNName, tunAC[0].PolicyName = "VPN-to-C", "VPN-OUT-C"
	for _, step := range []struct {
		d   *testDaemon
		gws []Gateway
		tun []Tunnel
	}{{a, append(gwAB, gwAC...), append(tunAB, tunAC...)}, {b, gwBA, tunBA}, {x, gwCA, tunCA}} {
		if err := step.d.d.Reconcile(ctx, step.gws, step.tun); err != nil {
			t.Fatal(err)
		}
	}
	for len(a.inst.Installed()) < 2 || len(b.inst.Installed()) == 0 || len(x.inst.Installed()) == 0 {
		a.tick(ctx, c)
		if ctx.Err() != nil {
			t.Fatalf("tunnels: A %d, B %d, C %d", len(a.inst.Installed()), len(b.inst.Installed()), len(x.inst.Installed()))
		}
		time.Sleep(2 * time.Millisecond)
	}
	// One listing for both versions, IKEv1 first.
	ikes, err := a.d.IKESecurityAssociations(ctx)
	if err != nil || len(ikes) != 2 || ikes[0].Version != 1 || ikes[0].Gateway != "IKE-GW-C" || ikes[1].Version != 2 || ikes[1].Gateway != "IKE-GW" || !ikes[1].Up {
		t.Fatalf("IKE SAs: %+v (%v)", ikes, err)
	}
	if got := ikes[1].Algorithms; got != (seam.Algorithms{Authentication: "none", Encryption: "aes256-gcm", PRF: "hmac-sha256", DHGroup: "DH-group-31"}) {
		t.Errorf("IKEv2 algorithm names: %+v", got)
	}
	sas, err := a.d.IPsecSecurityAssociations(ctx)
	if err != nil || len(sas) != 2 {
		t.Fatalf("IPsec SAs: %+v, %v", sas, err)
	}
	for _, s := range sas {
		if s.Gateway == "IKE-GW" && ESPAlgorithmNames(s.SA.Suite).List != "ESP:chacha20-poly1305/None" {
			t.Errorf("v2 tunnel suite %v", s.SA.Suite)
		}
	}
	if err := a.d.ClearIKE(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	for _, td := range []*testDaemon{a, b, x} {
		if err := <-td.done; err != nil {
			t.Error(err)
		}
	}
	for _, td := range []*testDaemon{a, b, x} {
		if n := len(td.inst.Installed()); n != 0 {
			t.Errorf("%d SAs left after stopping", n)
		}
	}
}
