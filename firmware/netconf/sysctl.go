package netconf

// Sysctls are the kernel settings (paths under /proc/sys) that make static
// routes behave as on an SRX: a route whose interface has lost its carrier
// is not used, so a route of worse preference over another link takes
// over, and the first one comes back with the carrier. Linux keeps using a
// route over a link that is down unless told to ignore it; the "all" entry
// covers the ports that exist, "default" the ones that appear later.
func Sysctls() map[string]string {
	// IPv4 only: Palisade configures no IPv6 routes, and the board
	// kernel (6.1) refuses the IPv6 "all" entry with EINVAL.
	return map[string]string{
		"net/ipv4/conf/all/ignore_routes_with_linkdown":     "1",
		"net/ipv4/conf/default/ignore_routes_with_linkdown": "1",
	}
}
