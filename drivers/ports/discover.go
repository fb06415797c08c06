package ports

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/palisade/palisade/board"
)

// NIC is a network interface backed by a device, as sysfs shows it.
type NIC struct {
	// Name is the current kernel name, e.g. "eth0".
	Name string
	// Driver is the base name of the device's driver, e.g. "virtio_net".
	Driver string
	// DevicePath is the resolved device directory relative to the sysfs root, e.g.
	// "devices/pci0000:00/0000:00:10.0/virtio2".
	DevicePath string
	// MAC is the permanent-or-current address from sysfs, e.g. "52:54:00:12:34:56".
	MAC string
}

// Port is a NIC with the port name it gets.
type Port struct {
	// Junos is the port's name, e.g. "ge-0/0/0"; Kernel is the link name for it, e.g. "ge-0-0-0".
	Junos, Kernel string
	NIC           NIC
}

// Discover lists the NICs under sysfsRoot/class/net that have a device with a bound driver (so not lo,
// bridges, veths or tunnels), sorted by name. sysfsRoot is "/sys" on a box; tests pass a fake tree.
func Discover(sysfsRoot string) ([]NIC, error) {
	absRoot, err := filepath.Abs(sysfsRoot)
	if err != nil {
		return nil, fmt.Errorf("resolving sysfs root: %w", err)
	}
	if r, err := filepath.EvalSymlinks(absRoot); err == nil {
		absRoot = r
	}
	classDir := filepath.Join(absRoot, "class", "net")
	entries, err := os.ReadDir(classDir)
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	var nics []NIC
	for _, e := range entries {
		ifDir := filepath.Join(classDir, e.Name())
		dev, err := filepath.EvalSymlinks(filepath.Join(ifDir, "device"))
		if errors.Is(err, os.ErrNotExist) {
			continue // virtual interface
		}
		if err != nil {
			return nil, fmt.Errorf("resolving device of %s: %w", e.Name(), err)
		}
		drv, err := filepath.EvalSymlinks(filepath.Join(dev, "driver"))
		if errors.Is(err, os.ErrNotExist) {
			continue // no driver bound: not usable as a port
		}
		if err != nil {
			return nil, fmt.Errorf("resolving driver of %s: %w", e.Name(), err)
		}
		rel, err := filepath.Rel(absRoot, dev)
		if err != nil {
			rel = dev
		}
		mac, _ := os.ReadFile(filepath.Join(ifDir, "address"))
		nics = append(nics, NIC{
			Name:       e.Name(),
			Driver:     filepath.Base(drv),
			DevicePath: filepath.ToSlash(rel),
			MAC:        strings.TrimSpace(string(mac)),
		})
	}
	return nics, nil
}

// Assign numbers the NICs per the board's rules (see the package comment). NICs that match no rule get no
// port. A NIC matches the first rule it fits.
func Assign(nics []NIC, rules []board.PortRule) []Port {
	taken := make([]bool, len(nics))
	var ports []Port
	for _, r := range rules {
		var idx []int
		for i, n := range nics {
			if !taken[i] && n.Driver == r.Driver && (r.DevicePath == "" || strings.Contains(n.DevicePath, r.DevicePath)) {
				idx = append(idx, i)
			}
		}
		sort.SliceStable(idx, func(a, b int) bool { return lessDevicePath(nics[idx[a]].DevicePath, nics[idx[b]].DevicePath) })
		for _, i := range idx {
			taken[i] = true
			j := Name(len(ports))
			ports = append(ports, Port{Junos: j, Kernel: KernelName(j), NIC: nics[i]})
		}
	}
	return ports
}

// lessDevicePath orders device paths component by component, so that a device behind a bridge sorts with
// its bridge's slot. PCI addresses are fixed-width hex, so comparing components as strings is slot order;
// components that end in a number (virtio10) compare numerically.
func lessDevicePath(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		ap, an, aok := splitNum(as[i])
		bp, bn, bok := splitNum(bs[i])
		if aok && bok && ap == bp && an != bn {
			return an < bn
		}
		return as[i] < bs[i]
	}
	return len(as) < len(bs)
}

func splitNum(s string) (prefix string, n int, ok bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) || len(s)-i > 9 {
		return s, 0, false
	}
	for _, c := range s[i:] {
		n = n*10 + int(c-'0')
	}
	return s[:i], n, true
}
