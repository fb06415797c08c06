package policy

import (
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/drivers/ports"
)

// JunosName inverts KernelName: "ge-0-0-1" is "ge-0/0/1.0". Other names
// are returned unchanged.
func JunosName(kernel string) string { return ports.UnitName(kernel) }

// RouteInterfaces returns an AnnotateInterfaces resolver that asks the
// routing table of h's namespace which interface leads to an address, and
// names it with junos (nil: JunosName). Lookups that fail give "".
func RouteInterfaces(h *netlink.Handle, junos func(kernel string) string) func(netip.Addr) string {
	if junos == nil {
		junos = JunosName
	}
	return func(a netip.Addr) string {
		routes, err := h.RouteGet(a.AsSlice())
		if err != nil || len(routes) == 0 {
			return ""
		}
		l, err := h.LinkByIndex(routes[0].LinkIndex)
		if err != nil {
			return ""
		}
		return junos(l.Attrs().Name)
	}
}
