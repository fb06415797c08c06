package netconf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol marks the routes Palisade installs, so that Apply removes
// its own stale routes and never touches anyone else's.
const RouteProtocol netlink.RouteProtocol = 80

// Report says what Apply could not do without failing the commit: a port
// that is configured but not present on this board, a static route whose
// next hop is not reachable yet. Junos keeps such statements and marks them
// inactive; so does Palisade, and it says so.
type Report struct {
	MissingLinks   []string
	InactiveRoutes []string
}

// Apply makes the kernel match the intent. managed says which kernel links
// belong to Palisade (the ge ports): their addresses not in the intent are
// removed. Applying the same intent twice changes nothing.
func Apply(h *netlink.Handle, in Intent, managed func(kernelName string) bool) (Report, error) {
	var rep Report
	configured := map[string]bool{}
	for _, l := range in.Links {
		configured[l.Kernel] = true
		link, err := h.LinkByName(l.Kernel)
		if err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				rep.MissingLinks = append(rep.MissingLinks, l.Junos)
				continue
			}
			return rep, fmt.Errorf("looking up %s (%s): %w", l.Junos, l.Kernel, err)
		}
		if err := applyLink(h, link, l); err != nil {
			return rep, err
		}
	}
	links, err := h.LinkList()
	if err != nil {
		return rep, fmt.Errorf("listing links: %w", err)
	}
	for _, link := range links {
		name := link.Attrs().Name
		if configured[name] || managed == nil || !managed(name) {
			continue
		}
		if err := syncAddrs(h, link, nil, name); err != nil {
			return rep, err
		}
	}
	inactive, err := applyRoutes(h, in.Routes)
	rep.InactiveRoutes = inactive
	return rep, err
}

func applyLink(h *netlink.Handle, link netlink.Link, l Link) error {
	if l.MTU > 0 && link.Attrs().MTU != l.MTU {
		if err := h.LinkSetMTU(link, l.MTU); err != nil {
			return fmt.Errorf("setting mtu %d on %s: %w", l.MTU, l.Junos, err)
		}
	}
	if err := syncAddrs(h, link, l.Addrs, l.Junos); err != nil {
		return err
	}
	up := link.Attrs().Flags&net.FlagUp != 0
	switch {
	case l.Up && !up:
		if err := h.LinkSetUp(link); err != nil {
			return fmt.Errorf("bringing %s up: %w", l.Junos, err)
		}
	case !l.Up && up:
		if err := h.LinkSetDown(link); err != nil {
			return fmt.Errorf("disabling %s: %w", l.Junos, err)
		}
	}
	return nil
}

func syncAddrs(h *netlink.Handle, link netlink.Link, want []netip.Prefix, name string) error {
	have, err := h.AddrList(link, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("listing addresses of %s: %w", name, err)
	}
	var haveP []netip.Prefix
	for _, a := range have {
		p, ok := toPrefix(a.IPNet)
		if !ok {
			continue
		}
		haveP = append(haveP, p)
		if !slices.Contains(want, p) {
			if err := h.AddrDel(link, &a); err != nil {
				return fmt.Errorf("removing %s from %s: %w", p, name, err)
			}
		}
	}
	for _, p := range want {
		if slices.Contains(haveP, p) {
			continue
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("adding %s to %s: %w", p, name, err)
		}
	}
	return nil
}

func toPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// kernelRoute builds the netlink route for one intended route.
func kernelRoute(r Route) *netlink.Route {
	kr := &netlink.Route{
		Dst:      ipNet(r.Dst),
		Protocol: RouteProtocol,
		Priority: r.Preference,
		Table:    unix.RT_TABLE_MAIN,
		Family:   unix.AF_INET,
	}
	switch {
	case r.Discard:
		kr.Type = unix.RTN_BLACKHOLE
	case len(r.NextHops) == 1:
		kr.Gw = r.NextHops[0].AsSlice()
	default:
		for _, nh := range r.NextHops {
			kr.MultiPath = append(kr.MultiPath, &netlink.NexthopInfo{Gw: nh.AsSlice()})
		}
	}
	return kr
}

func applyRoutes(h *netlink.Handle, routes []Route) ([]string, error) {
	have, err := h.RouteListFiltered(unix.AF_INET, &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	wanted := map[string]bool{}
	for _, r := range routes {
		wanted[routeKey(r.Dst, r.Preference)] = true
	}
	for _, kr := range have {
		p, ok := toPrefix(kr.Dst)
		if kr.Dst == nil {
			p, ok = netip.MustParsePrefix("0.0.0.0/0"), true
		}
		if ok && wanted[routeKey(p, kr.Priority)] {
			continue
		}
		if err := h.RouteDel(&kr); err != nil {
			return nil, fmt.Errorf("removing stale route %v: %w", kr.Dst, err)
		}
	}
	var inactive []string
	for _, r := range routes {
		if err := h.RouteReplace(kernelRoute(r)); err != nil {
			if errors.Is(err, unix.ENETUNREACH) {
				inactive = append(inactive, fmt.Sprintf("%s: next hop %s is not reachable", r.Dst, joinAddrs(r.NextHops)))
				continue
			}
			return inactive, fmt.Errorf("installing route %s: %w", r.Dst, err)
		}
	}
	return inactive, nil
}

func routeKey(p netip.Prefix, pref int) string { return fmt.Sprintf("%s/%d", p, pref) }

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// ApplyRoutes applies only the intent's routes, for a change of carrier:
// it returns the routes that stay inactive.
func ApplyRoutes(h *netlink.Handle, in Intent) ([]string, error) {
	return applyRoutes(h, in.Routes)
}
