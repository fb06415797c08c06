package vpn

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/drivers/netnstest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

var (
	srx1 = netip.MustParseAddr("172.16.13.1")
	srx2 = netip.MustParseAddr("172.16.23.1")
	net1 = netip.MustParsePrefix("10.100.11.0/24")
	net2 = netip.MustParsePrefix("10.100.22.0/24")
)

// seedConfig is the seed's VPN as the firmware's adapter would pass it.
func seedConfig(local, remote netip.Addr, lnet, rnet netip.Prefix, immediately bool) ([]Gateway, []Tunnel) {
	gw := Gateway{
		Name: "IKE-GW", LocalAddr: local, RemoteAddr: remote, PSK: []byte("$ABC123"),
		Proposals:   []IKEProposal{{Name: "standard", Encryption: "aes-128-cbc", Authentication: "sha-256", DHGroup: "group14", Lifetime: 8 * time.Hour}},
		DPDInterval: 10 * time.Second, DPDThreshold: 5,
	}
	props := []IPsecProposal{{Name: "standard", Encryption: "aes-128-cbc", Authentication: "hmac-sha1-96", Lifetime: time.Hour}}
	tuns := []Tunnel{
		{VPNName: "VPN-to-Host2", PolicyName: "VPN-OUT", Gateway: "IKE-GW", Local: lnet, Remote: rnet, Proposals: props, Immediately: immediately},
	}
	return []Gateway{gw}, tuns
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

type testDaemon struct {
	d     *Daemon
	inst  *seam.RecordingInstaller
	ticks chan time.Time
	done  chan error
}

func startDaemon(t *testing.T, ctx context.Context, net *seam.PipeNetwork, c *clock, seed byte, h *netlink.Handle) *testDaemon {
	var s [32]byte
	s[0] = seed
	td := &testDaemon{inst: seam.NewRecordingInstaller(), ticks: make(chan time.Time), done: make(chan error, 1)}
	td.d = New(Options{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now, Rand: rand.NewChaCha8(s),
		Handle: h, Installer: td.inst, Ticks: td.ticks,
		Listen: func(_ context.Context, a netip.Addr) (seam.Transport, error) {
			return net.Attach(netip.AddrPortFrom(a, 500), netip.AddrPortFrom(a, 4500)), nil
		},
	})
	go func() { td.done <- td.d.Run(ctx) }()
	// Run sets its context before Reconcile may be called.
	for {
		td.d.mu.Lock()
		ok := td.d.runCtx != nil
		td.d.mu.Unlock()
		if ok {
			return td
		}
		runtime.Gosched()
	}
}

func (td *testDaemon) tick(ctx context.Context, c *clock) {
	select {
	case td.ticks <- c.Now():
	case <-ctx.Done():
	}
}

// checkGoroutines fails the test if goroutines started during it outlive it.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		for range 100 {
			if runtime.NumGoroutine() <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	})
}

func TestDaemonsNegotiate(t *testing.T) {
	checkGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	net := seam.NewPipeNetwork()
	c := &clock{now: time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)}
	runCtx, stop := context.WithCancel(ctx)
	a := startDaemon(t, runCtx, net, c, 1, nil)
	b := startDaemon(t, runCtx, net, c, 2, nil)
	gwA, tunA := seedConfig(srx1, srx2, net1, net2, true)
	gwB, tunB := seedConfig(srx2, srx1, net2, net1, true)
	if err := a.d.Reconcile(ctx, gwA, tunA); err != nil {
		t.Fatal(err)
	}
	if err := b.d.Reconcile(ctx, gwB, tunB); err != nil {
		t.Fatal(err)
	}
	for len(a.inst.Installed()) == 0 || len(b.inst.Installed()) == 0 {
		a.tick(ctx, c)
		if ctx.Err() != nil {
			t.Fatal("no tunnel")
		}
		time.Sleep(2 * time.Millisecond)
	}
	ikes, err := a.d.IKESecurityAssociations(ctx)
	if err != nil || len(ikes) != 1 || !ikes[0].Up || ikes[0].Gateway != "IKE-GW" {
		t.Errorf("IKE SAs: %+v, %v", ikes, err)
	}
	sas, err := a.d.IPsecSecurityAssociations(ctx)
	if err != nil || len(sas) != 1 {
		t.Fatalf("IPsec SAs: %+v, %v", sas, err)
	}
	if got, want := sas[0].LocalID, "ipv4_subnet(any:0,[0..7]=10.100.11.0/24)"; got != want {
		t.Errorf("local identity %q, want %q", got, want)
	}
	if got, want := sas[0].SA.Suite.String(), "aes-cbc-128/sha1"; got != want {
		t.Errorf("algorithm %q, want %q", got, want)
	}
	if sas[0].ID != 1 || sas[0].Port != 500 {
		t.Errorf("ID %d port %d", sas[0].ID, sas[0].Port)
	}

	// Reconcile with the same config keeps the SAs.
	if err := a.d.Reconcile(ctx, gwA, tunA); err != nil {
		t.Fatal(err)
	}
	if got := a.inst.Installed(); len(got) != 1 || got[0].SPIIn != sas[0].SA.SPIIn {
		t.Errorf("an unchanged reconcile replaced the SA")
	}
	// Removing the VPN tears it down on both sides.
	if err := a.d.Reconcile(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(a.inst.Installed()) != 0 {
		t.Errorf("SA kept after its VPN was removed")
	}
	stop()
	for _, td := range []*testDaemon{a, b} {
		if err := <-td.done; err != nil {
			t.Error(err)
		}
	}
	if len(b.inst.Installed()) != 0 {
		t.Errorf("B kept SAs after stopping")
	}
}

func TestReconcileErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := startDaemon(t, ctx, seam.NewPipeNetwork(), &clock{}, 1, nil)
	gws, tuns := seedConfig(srx1, srx2, net1, net2, true)
	gws[0].Proposals[0].DHGroup = "group31"
	tuns[0].Proposals[0].Encryption = "chacha20-poly1305"
	tuns = append(tuns, Tunnel{VPNName: "V2", PolicyName: "P2", Gateway: "nope", Local: net1, Remote: net2})
	err := d.d.Reconcile(ctx, gws, tuns)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{`ike proposal standard: dh-group "group31" is not supported (group2,`, `ipsec proposal standard: encryption-algorithm "chacha20-poly1305"`, `gateway "nope" is not defined`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestDaemonXFRMPolicies checks that Reconcile installs the tunnel policies
// in the kernel and that stopping removes them, in a fresh namespace.
func TestDaemonXFRMPolicies(t *testing.T) {
	ns := netnstest.New(t)
	ns.Enter(t)
	h := ns.Handle

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	d := startDaemon(t, runCtx, seam.NewPipeNetwork(), &clock{}, 1, h)
	gws, tuns := seedConfig(srx1, srx2, net1, net2, false)
	for range 2 {
		if err := d.d.Reconcile(ctx, gws, tuns); err != nil {
			t.Fatal(err)
		}
	}
	ps, _ := h.XfrmPolicyList(netlink.FAMILY_ALL)
	if len(ps) != 3 {
		t.Fatalf("%d kernel policies after reconcile, want 3 (out, in, fwd)", len(ps))
	}
	// Changing the tunnel's destination replaces its policies.
	tuns[0].Remote = netip.MustParsePrefix("10.100.33.0/24")
	if err := d.d.Reconcile(ctx, gws, tuns); err != nil {
		t.Fatal(err)
	}
	ps, _ = h.XfrmPolicyList(netlink.FAMILY_ALL)
	for _, p := range ps {
		if p.Dir == netlink.XFRM_DIR_OUT && p.Dst.String() != "10.100.33.0/24" {
			t.Errorf("stale policy %v", p)
		}
	}
	if len(ps) != 3 {
		t.Errorf("%d kernel policies after change, want 3", len(ps))
	}
	stop()
	if err := <-d.done; err != nil {
		t.Fatal(err)
	}
	if ps, _ = h.XfrmPolicyList(netlink.FAMILY_ALL); len(ps) != 0 {
		t.Errorf("policies left after the daemon stopped: %v", ps)
	}
}
