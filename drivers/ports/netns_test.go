package ports

import (
	"context"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/drivers/netnstest"
)

func TestSetupAndCarrier(t *testing.T) {
	if testing.Short() {
		t.Skip("system test (network namespace): skipped with -short")
	}
	ns := netnstest.New(t)
	h := ns.Handle
	// A veth pair stands in for two NICs wired together: carrier follows both ends being up.
	// "ge-0-0-0" starts on the wrong NIC, so the renames must swap through temporary names.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ge-0-0-0"}, PeerName: "eth9"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	ports := []Port{
		{Junos: "ge-0/0/0", Kernel: "ge-0-0-0", NIC: NIC{Name: "eth9"}},
		{Junos: "ge-0/0/1", Kernel: "ge-0-0-1", NIC: NIC{Name: "ge-0-0-0"}},
	}

	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan CarrierEvent, 16)
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- WatchCarrier(ctx, WatchOptions{Namespace: &ns.NsHandle}, func(e CarrierEvent) { events <- e })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-watchDone; err != nil {
			t.Errorf("WatchCarrier: %v", err)
		}
	})

	if err := Setup(h, ports); err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		l, err := h.LinkByName(p.Kernel)
		if err != nil {
			t.Fatalf("after Setup: %v", err)
		}
		if l.Attrs().Flags&1 == 0 { // net.FlagUp
			t.Errorf("%s is not up", p.Kernel)
		}
	}
	// Second run with the new names: nothing to rename, still no error.
	again := []Port{
		{Junos: "ge-0/0/0", Kernel: "ge-0-0-0", NIC: NIC{Name: "ge-0-0-0"}},
		{Junos: "ge-0/0/1", Kernel: "ge-0-0-1", NIC: NIC{Name: "ge-0-0-1"}},
	}
	if err := Setup(h, again); err != nil {
		t.Fatalf("second Setup: %v", err)
	}

	waitCarrier(t, events, "ge-0/0/0", true)
	l, err := h.LinkByName("ge-0-0-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetDown(l); err != nil {
		t.Fatal(err)
	}
	waitCarrier(t, events, "ge-0/0/0", false)
}

func waitCarrier(t *testing.T, events <-chan CarrierEvent, port string, up bool) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-events:
			t.Logf("event %v", e)
			if e.Junos == port && e.Up == up {
				return
			}
		case <-timeout:
			t.Fatalf("no carrier event %s up=%v within 5s", port, up)
		}
	}
}
