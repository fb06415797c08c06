package ports

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/drivers/netnstest"
)

// fakeNIC makes /sys/class/net/NAME in root point at a PCI device with the
// given driver, as the kernel lays it out.
func fakeNIC(t *testing.T, root, name, pci, driver string) {
	t.Helper()
	dev := filepath.Join(root, "devices", "pci0000:00", pci)
	drv := filepath.Join(root, "bus", "pci", "drivers", driver)
	for _, d := range []string{dev, drv, filepath.Join(root, "class", "net", name)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(drv, filepath.Join(dev, "driver")); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	if err := os.Symlink(dev, filepath.Join(root, "class", "net", name, "device")); err != nil {
		t.Fatal(err)
	}
}

// TestAdoptHotpluggedNIC: a NIC that appears after boot is reported by
// WatchNewLinks and named by Adopt as the next port, up, in a fresh
// namespace; the ports boot named are left alone, and a second Adopt finds
// nothing new.
func TestAdoptHotpluggedNIC(t *testing.T) {
	if testing.Short() {
		t.Skip("system test (network namespace): skipped with -short")
	}
	ns := netnstest.New(t)
	h := ns.Handle
	sys := t.TempDir()
	rules := []board.PortRule{{Driver: "virtio_net"}}
	// Boot: one NIC, already named ge-0-0-0.
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ge-0-0-0"}, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	fakeNIC(t, sys, "ge-0-0-0", "0000:00:10.0", "virtio_net")
	have := []Port{{Junos: "ge-0/0/0", Kernel: "ge-0-0-0", NIC: NIC{Name: "ge-0-0-0", Driver: "virtio_net", DevicePath: "devices/pci0000:00/0000:00:10.0"}}}

	ctx, cancel := context.WithCancel(context.Background())
	appeared := make(chan string, 8)
	done := make(chan error, 1)
	go func() {
		done <- WatchNewLinks(ctx, WatchOptions{Namespace: &ns.NsHandle}, func(name string) { appeared <- name })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchNewLinks: %v", err)
		}
	})
	time.Sleep(100 * time.Millisecond) // the subscription is in place

	// Hot-plug: a NIC named eth3 by the kernel, behind a root port.
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth3"}, PeerName: "peer3"}); err != nil {
		t.Fatal(err)
	}
	fakeNIC(t, sys, "eth3", "0000:00:12.0/0000:01:00.0", "virtio_net")
	select {
	case name := <-appeared:
		if name != "eth3" && name != "peer3" {
			t.Fatalf("reported %q, want eth3 (or its peer, also new)", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WatchNewLinks did not report the new link")
	}
	got, err := Adopt(h, sys, rules, have)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Junos != "ge-0/0/1" || got[0].NIC.Name != "eth3" {
		t.Fatalf("adopted %+v, want eth3 as ge-0/0/1", got)
	}
	l, err := h.LinkByName("ge-0-0-1")
	if err != nil {
		t.Fatalf("the new port is not renamed: %v", err)
	}
	if l.Attrs().Flags&1 == 0 {
		t.Errorf("ge-0-0-1 is not up")
	}
	if _, err := h.LinkByName("ge-0-0-0"); err != nil {
		t.Errorf("the boot port lost its name: %v", err)
	}
	// The kernel's sysfs follows the rename; so does the fake one.
	if err := os.Rename(filepath.Join(sys, "class", "net", "eth3"), filepath.Join(sys, "class", "net", "ge-0-0-1")); err != nil {
		t.Fatal(err)
	}
	again, err := Adopt(h, sys, rules, append(have, got...))
	if err != nil || len(again) != 0 {
		t.Errorf("a second Adopt: %+v, %v; want nothing new", again, err)
	}
}

// TestWatchAddresses: an address added to a port is reported with the
// port's Junos name; one on another link is not.
func TestWatchAddresses(t *testing.T) {
	if testing.Short() {
		t.Skip("system test (network namespace): skipped with -short")
	}
	ns := netnstest.New(t)
	ns.IP(t, "link", "add", "ge-0-0-1", "type", "veth", "peer", "name", "other0")
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan AddressEvent, 8)
	done := make(chan error, 1)
	go func() {
		done <- WatchAddresses(ctx, WatchOptions{Namespace: &ns.NsHandle}, func(e AddressEvent) { events <- e })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchAddresses: %v", err)
		}
	})
	time.Sleep(100 * time.Millisecond) // the subscription is in place
	ns.IP(t, "addr", "add", "192.0.2.9/24", "dev", "other0")
	ns.IP(t, "addr", "add", "172.16.13.1/24", "dev", "ge-0-0-1")
	select {
	case e := <-events:
		if e.Junos != "ge-0/0/1" || e.Addr.String() != "172.16.13.1/24" || !e.Added {
			t.Errorf("got %+v, want 172.16.13.1/24 added on ge-0/0/1", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no address event")
	}
}
