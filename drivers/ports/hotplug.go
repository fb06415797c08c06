package ports

import (
	"fmt"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/board"
)

// Adopt names the NICs that appeared after boot (hot-plugged, or whose
// driver came late): it discovers the NICs again, numbers them by the
// board's rules as boot does, and sets up those that are not among have.
// A port boot set up keeps its name even if the new NIC sorts before it;
// the new one then takes the next free name. It returns the new ports.
func Adopt(h *netlink.Handle, sysfsRoot string, rules []board.PortRule, have []Port) ([]Port, error) {
	nics, err := Discover(sysfsRoot)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	taken := map[string]bool{}
	for _, p := range have {
		known[p.NIC.DevicePath] = true
		taken[p.Junos] = true
	}
	var out []Port
	for _, p := range Assign(nics, rules) {
		if known[p.NIC.DevicePath] {
			continue
		}
		name := p.Junos
		for i := 0; taken[name]; i++ {
			name = Name(i)
		}
		taken[name] = true
		out = append(out, Port{Junos: name, Kernel: KernelName(name), NIC: p.NIC})
	}
	if len(out) == 0 {
		return nil, nil
	}
	if err := Setup(h, out); err != nil {
		return out, fmt.Errorf("setting up new ports: %w", err)
	}
	return out, nil
}
