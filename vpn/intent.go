package vpn

import (
	"sort"

	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/vpn/xfrm"
)

// Intent is what one configuration asks of the VPN: each local address's
// IKE peers (IKEv1 and IKEv2 engines), and the XFRM policy of every tunnel
// with its reqid. Compile makes it without I/O; Daemon.Apply makes the box
// match it.
//
// Reqids have one owner, this compile: a tunnel policy keeps the reqid it
// had in the previous intent (so that its SAs survive a commit that does
// not change it), and a new one gets the next number, never one in use.
type Intent struct {
	compiled
	policies map[string]xfrm.Policy // by tunnel policy
	reqids   map[string]uint32      // by tunnel policy
	next     uint32                 // the next new reqid
}

// Reqid returns the reqid of a tunnel policy (0: none).
func (in *Intent) Reqid(policy string) uint32 {
	if in == nil {
		return 0
	}
	return in.reqids[policy]
}

// Compile derives the VPN intent from a validated configuration and the
// tunnel policies' selectors (see FromConfig). prev is the intent running
// now (nil at boot), from which reqids carry over.
func Compile(c *config.Config, selectors []Tunnel, prev *Intent) (*Intent, error) {
	gws, tuns, err := FromConfig(c, selectors)
	if err != nil {
		return nil, err
	}
	return CompileGateways(gws, tuns, prev)
}

// CompileGateways is Compile from gateways and tunnels as plain values.
func CompileGateways(gws []Gateway, tuns []Tunnel, prev *Intent) (*Intent, error) {
	in := &Intent{reqids: map[string]uint32{}, policies: map[string]xfrm.Policy{}, next: 1}
	if prev != nil {
		in.next = prev.next
	}
	// Reqids of kept tunnels first, then new ones in configuration order,
	// so that the numbers do not depend on map order.
	for _, t := range tuns {
		if r := prev.Reqid(t.PolicyName); r != 0 {
			in.reqids[t.PolicyName] = r
		}
	}
	for _, t := range tuns {
		if _, ok := in.reqids[t.PolicyName]; !ok {
			in.reqids[t.PolicyName] = in.next
			in.next++
		}
	}
	var err error
	in.compiled, err = compile(gws, tuns, func(p string) uint32 { return in.reqids[p] })
	if err != nil {
		return nil, err
	}
	for _, t := range in.tunnels() {
		c := t.cfg
		in.policies[c.Policy] = xfrm.Policy{
			Selector:     xfrm.Selector{Local: c.Local, Remote: c.Remote, Protocol: c.Protocol, LocalPort: c.LocalPort, RemotePort: c.RemotePort},
			LocalGateway: t.local, RemoteGateway: t.remote, Reqid: c.Reqid,
		}
	}
	return in, nil
}

// gatewayNames lists the gateways on one local address, for messages.
func (in *Intent) gatewayNames(addr string) []string {
	var names []string
	for _, p := range in.v1[addr] {
		names = append(names, p.Name)
	}
	for _, p := range in.v2[addr] {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}
