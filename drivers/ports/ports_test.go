package ports

import (
	"slices"
	"testing"

	"github.com/palisade/palisade/board"
)

func TestNames(t *testing.T) {
	for _, c := range []struct{ junos, kernel string }{
		{"ge-0/0/0", "ge-0-0-0"},
		{"ge-0/0/15", "ge-0-0-15"},
		{"xe-1/2/3", "xe-1-2-3"},
	} {
		if got := KernelName(c.junos); got != c.kernel {
			t.Errorf("KernelName(%q) = %q, want %q", c.junos, got, c.kernel)
		}
		if got, ok := JunosName(c.kernel); !ok || got != c.junos {
			t.Errorf("JunosName(%q) = %q, %v, want %q, true", c.kernel, got, ok, c.junos)
		}
	}
	for _, k := range []string{"lo", "eth0", "ge-0-0", "ge-0-0-x", "st0", "ge-0/0/0"} {
		if got, ok := JunosName(k); ok || got != k {
			t.Errorf("JunosName(%q) = %q, %v, want unchanged, false", k, got, ok)
		}
	}
	if got := KernelName("ge-0/0/10"); len(got) >= 16 {
		t.Errorf("KernelName(ge-0/0/10) = %q: longer than IFNAMSIZ-1", got)
	}
}

func TestDiscover(t *testing.T) {
	nics, err := Discover("testdata/q35")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range nics {
		got = append(got, n.Name+" "+n.Driver+" "+n.DevicePath+" "+n.MAC)
	}
	want := []string{
		"eth0 virtio_net devices/pci0000:00/0000:00:11.0/virtio1 52:54:00:00:00:11",
		"eth1 virtio_net devices/pci0000:00/0000:00:10.0/virtio0 52:54:00:00:00:10",
		"eth2 e1000 devices/pci0000:00/0000:00:02.0 52:54:00:00:00:02",
		"eth3 virtio_net devices/pci0000:00/0000:00:0a.0/virtio10 52:54:00:00:00:0a",
		"eth4 virtio_net devices/pci0000:00/0000:00:1c.0/0000:01:00.0/virtio2 52:54:00:00:01:00",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Discover:\n%q\nwant\n%q", got, want)
	}
}

func TestAssignQEMU(t *testing.T) {
	nics, err := Discover("testdata/q35")
	if err != nil {
		t.Fatal(err)
	}
	b, err := board.Lookup("qemu-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range Assign(nics, b.Ports) {
		got = append(got, p.Junos+"="+p.NIC.Name+"->"+p.Kernel)
	}
	// virtio-net NICs in PCI slot order (0a, 10, 11, then 1c's bridge), then e1000.
	want := []string{"ge-0/0/0=eth3->ge-0-0-0", "ge-0/0/1=eth1->ge-0-0-1", "ge-0/0/2=eth0->ge-0-0-2",
		"ge-0/0/3=eth4->ge-0-0-3", "ge-0/0/4=eth2->ge-0-0-4"}
	if !slices.Equal(got, want) {
		t.Errorf("Assign:\n%q\nwant\n%q", got, want)
	}
}

func TestAssignDevicePathRule(t *testing.T) {
	nics := []NIC{
		{Name: "eth0", Driver: "r8169", DevicePath: "devices/platform/f8000000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0"},
		{Name: "eth1", Driver: "rk_gmac-dwmac", DevicePath: "devices/platform/fe300000.ethernet"},
		{Name: "eth2", Driver: "rk_gmac-dwmac", DevicePath: "devices/platform/fe400000.ethernet"},
	}
	rules := []board.PortRule{{Driver: "rk_gmac-dwmac", DevicePath: "fe300000.ethernet"}, {Driver: "r8169"}}
	var got []string
	for _, p := range Assign(nics, rules) {
		got = append(got, p.Junos+"="+p.NIC.Name)
	}
	if want := []string{"ge-0/0/0=eth1", "ge-0/0/1=eth0"}; !slices.Equal(got, want) {
		t.Errorf("Assign = %q, want %q", got, want)
	}
}

func TestLessDevicePath(t *testing.T) {
	sorted := []string{
		"devices/pci0000:00/0000:00:02.0/virtio2",
		"devices/pci0000:00/0000:00:02.0/virtio10",
		"devices/pci0000:00/0000:00:03.0",
		"devices/pci0000:00/0000:00:1c.0/0000:01:00.0",
		"devices/pci0000:01/0000:01:00.0",
	}
	for i := range sorted {
		for j := range sorted {
			if got, want := lessDevicePath(sorted[i], sorted[j]), i < j; got != want {
				t.Errorf("less(%q, %q) = %v, want %v", sorted[i], sorted[j], got, want)
			}
		}
	}
}

func TestUnitNames(t *testing.T) {
	for unit, want := range map[string]string{"ge-0/0/1.0": "ge-0-0-1", "ge-0/0/12": "ge-0-0-12"} {
		if got, err := UnitKernelName(unit); err != nil || got != want {
			t.Errorf("UnitKernelName(%s) = %s, %v; want %s", unit, got, err, want)
		}
	}
	if _, err := UnitKernelName("ge-0/0/1.5"); err == nil {
		t.Error("unit 5 must be refused")
	}
	if got := UnitName("ge-0-0-3"); got != "ge-0/0/3.0" {
		t.Errorf("UnitName: got %s", got)
	}
	if got := UnitName("lo"); got != "lo" {
		t.Errorf("UnitName(lo): got %s", got)
	}
}
