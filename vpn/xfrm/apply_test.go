package xfrm

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/vishvananda/netlink"
)

func TestPolicyInstallRemove(t *testing.T) {
	h, _ := newNS(t)
	m := NewManager(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	other := seedPolicy
	other.Selector.Remote = netip.MustParsePrefix("10.100.33.0/24")
	other.Reqid = 8
	for range 2 { // idempotent
		if err := m.InstallPolicy(seedPolicy); err != nil {
			t.Fatal(err)
		}
		if err := m.InstallPolicy(other); err != nil {
			t.Fatal(err)
		}
	}
	list, err := h.XfrmPolicyList(netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 6 {
		t.Fatalf("kernel has %d policies, want 6: %v", len(list), list)
	}
	var reqids = map[int]int{}
	for _, p := range list {
		reqids[p.Tmpls[0].Reqid]++
	}
	if reqids[7] != 3 || reqids[8] != 3 {
		t.Errorf("reqids per policy: %v", reqids)
	}

	// A policy installed by someone else stays.
	foreign := netlink.XfrmPolicy{Src: ipNet(netip.MustParsePrefix("192.0.2.0/24")), Dst: ipNet(netip.MustParsePrefix("198.51.100.0/24")), Dir: netlink.XFRM_DIR_OUT}
	if err := h.XfrmPolicyAdd(&foreign); err != nil {
		t.Fatal(err)
	}
	if err := m.RemovePolicy(seedPolicy); err != nil {
		t.Fatal(err)
	}
	if err := m.RemovePolicy(seedPolicy); err != nil {
		t.Errorf("removing twice: %v", err)
	}
	if list, _ = h.XfrmPolicyList(netlink.FAMILY_ALL); len(list) != 4 {
		t.Errorf("after remove: %d policies, want 4", len(list))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	list, _ = h.XfrmPolicyList(netlink.FAMILY_ALL)
	if len(list) != 1 || list[0].Src.String() != "192.0.2.0/24" {
		t.Errorf("after Close: %v, want only the foreign policy", list)
	}
}

// TestStateInstall adds real ESP states. The host kernel has no ESP, so the
// add fails there and the test skips; it runs for real inside the QEMU guest.
func TestStateInstall(t *testing.T) {
	h, _ := newNS(t)
	m := NewManager(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sa := SA{
		Src: netip.MustParseAddr("172.16.13.1"), Dst: netip.MustParseAddr("172.16.23.1"), SPI: 0x1234, Reqid: 7,
		Suite:  ikecrypto.ESPSuite{Cipher: ikecrypto.ESPAESCBC, KeyBits: 128, Auth: ikecrypto.AuthHMACSHA1},
		EncKey: make([]byte, 16), AuthKey: make([]byte, 20), Encap: &Encap{4500, 4500},
	}
	err := m.InstallSA(sa)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EPROTONOSUPPORT) || errors.Is(err, syscall.ENOSYS) {
		t.Skipf("this kernel has no ESP (%v); states are tested in the QEMU guest", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := m.InstallSA(sa); err != nil {
		t.Fatalf("second install: %v", err)
	}
	c, err := m.Counters(StateID{sa.Dst, sa.SPI})
	if err != nil || c.Packets != 0 {
		t.Errorf("counters %+v, %v", c, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if l, _ := h.XfrmStateList(netlink.FAMILY_ALL); len(l) != 0 {
		t.Errorf("states left after Close: %v", l)
	}
}

func TestAcquireEvent(t *testing.T) {
	h, ns := newNS(t)
	// Loopback traffic bypasses XFRM lookups, so route out of a veth.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "va"}, PeerName: "vb"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"va", "vb"} {
		l, _ := h.LinkByName(n)
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	va, _ := h.LinkByName("va")
	addr, _ := netlink.ParseAddr("10.9.0.1/24")
	if err := h.AddrAdd(va, addr); err != nil {
		t.Fatal(err)
	}
	m := NewManager(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := Policy{
		Selector:     Selector{Local: netip.MustParsePrefix("10.9.0.1/32"), Remote: netip.MustParsePrefix("10.9.0.2/32"), Protocol: 17, RemotePort: 9999},
		LocalGateway: netip.MustParseAddr("10.9.0.1"), RemoteGateway: netip.MustParseAddr("10.9.0.2"), Reqid: 42,
	}
	if err := m.InstallPolicy(p); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch := make(chan Event, 4)
	if err := Subscribe(ctx, ns, ch); err != nil {
		t.Fatal(err)
	}
	// This goroutine is in the namespace, so the socket is too.
	c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 9, 0, 1)}, &net.UDPAddr{IP: net.IPv4(10, 9, 0, 2), Port: 9999})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello")) // fails with EAGAIN: no state yet, which is the point
	select {
	case ev := <-ch:
		a, ok := ev.(Acquire)
		if !ok {
			t.Fatalf("event %#v, want Acquire", ev)
		}
		if a.Selector != p.Selector || a.Dst != p.RemoteGateway {
			t.Errorf("acquire %+v, want selector %v dst %v", a, p.Selector, p.RemoteGateway)
		}
	case <-ctx.Done():
		t.Fatal("no acquire event")
	}
	cancel()
	for range ch { // the subscription ends with ctx and closes ch
	}
}
