// Package netconf turns the interfaces and static routes of a configuration
// into link, address and route intent (Compile, pure), and makes the kernel
// match that intent through netlink (Apply, idempotent).
package netconf

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/palisade/palisade/firmware/config"
)

// Link is the intended state of one port.
type Link struct {
	Junos  string // ge-0/0/1
	Kernel string // the kernel's name for it
	Up     bool
	MTU    int // 0: leave as is
	Addrs  []netip.Prefix
}

// Route is one intended static route.
type Route struct {
	Dst        netip.Prefix
	NextHops   []netip.Addr
	Discard    bool
	Preference int
}

// Intent is everything netconf owns in the kernel.
type Intent struct {
	Links  []Link
	Routes []Route
}

// Compile derives the intent. kernelName maps ge-0/0/N to the kernel's
// interface name (drivers/ports.KernelName on the box; tests pass their own).
func Compile(c *config.Config, kernelName func(string) string) (Intent, error) {
	var in Intent
	for _, ifc := range c.InterfaceList() {
		l := Link{Junos: ifc.Name, Kernel: kernelName(ifc.Name), Up: !ifc.Disable}
		if ifc.MTU != "" {
			mtu, err := strconv.Atoi(ifc.MTU)
			if err != nil {
				return Intent{}, fmt.Errorf("interfaces %s mtu: %w", ifc.Name, err)
			}
			l.MTU = mtu
		}
		for _, u := range ifc.Units {
			if u.Number != "0" {
				return Intent{}, fmt.Errorf("interfaces %s unit %s: only unit 0 is implemented (VLAN units need 802.1Q)", ifc.Name, u.Number)
			}
			l.Addrs = append(l.Addrs, c.UnitAddresses(ifc.Name+"."+u.Number)...)
		}
		in.Links = append(in.Links, l)
	}
	for _, r := range c.StaticRoutes() {
		dst, err := netip.ParsePrefix(r.Prefix)
		if err != nil {
			return Intent{}, fmt.Errorf("routing-options static route %s: %w", r.Prefix, err)
		}
		rt := Route{Dst: dst, Discard: r.Discard, Preference: config.DefaultRoutePreference}
		if r.Preference != "" {
			if rt.Preference, err = strconv.Atoi(r.Preference); err != nil {
				return Intent{}, fmt.Errorf("routing-options static route %s preference: %w", r.Prefix, err)
			}
		}
		for _, nh := range r.NextHop {
			a, err := netip.ParseAddr(nh)
			if err != nil {
				return Intent{}, fmt.Errorf("routing-options static route %s next-hop %s: %w", r.Prefix, nh, err)
			}
			rt.NextHops = append(rt.NextHops, a)
		}
		in.Routes = append(in.Routes, rt)
	}
	return in, nil
}
