package vpn

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/palisade/palisade/firmware/config"
)

// FromConfig derives the daemon's gateways and tunnels from a validated
// configuration. The caller passes one Tunnel per tunnel policy with the
// traffic selector filled in (VPNName, PolicyName, Local, Remote, Protocol,
// ports: the proxy-id the policy compiler emits); FromConfig adds what the
// VPN says: the gateway, the phase-2 proposals with defaults resolved, PFS
// and when to establish. Only gateways that some tunnel uses are returned.
func FromConfig(c *config.Config, selectors []Tunnel) ([]Gateway, []Tunnel, error) {
	var gws []Gateway
	seen := map[string]bool{}
	var tuns []Tunnel
	for _, sel := range selectors {
		v := c.IPsecVPN(sel.VPNName)
		if v == nil || v.IKE == nil {
			return nil, nil, fmt.Errorf("security ipsec vpn %s is not defined", sel.VPNName)
		}
		t := sel
		t.Gateway = v.IKE.Gateway
		t.Immediately = v.EstablishTunnels == "immediately"
		props, err := c.IPsecProposals(v.IKE.IPsecPolicy)
		if err != nil {
			return nil, nil, fmt.Errorf("security ipsec vpn %s: %w", v.Name, err)
		}
		for _, p := range props {
			t.Proposals = append(t.Proposals, IPsecProposal{
				Name: p.Name, Encryption: p.Encryption, Authentication: p.Auth,
				Lifetime: time.Duration(p.LifetimeSeconds) * time.Second, LifetimeKB: uint64(p.LifetimeKilobytes),
			})
		}
		if g := props[0].PFSGroup; g > 0 {
			t.PFSGroup = "group" + strconv.Itoa(g)
		}
		tuns = append(tuns, t)
		if seen[t.Gateway] {
			continue
		}
		seen[t.Gateway] = true
		gw, err := gatewayFromConfig(c, t.Gateway)
		if err != nil {
			return nil, nil, err
		}
		gws = append(gws, gw)
	}
	return gws, tuns, nil
}

func gatewayFromConfig(c *config.Config, name string) (Gateway, error) {
	g := c.IKEGateway(name)
	stmt := "security ike gateway " + name
	if g == nil {
		return Gateway{}, fmt.Errorf("%s is not defined", stmt)
	}
	out := Gateway{Name: g.Name, Version: g.Version}
	local := c.UnitAddresses(g.ExternalInterface)
	if len(local) == 0 {
		return Gateway{}, fmt.Errorf("%s external-interface %s: no IPv4 address", stmt, g.ExternalInterface)
	}
	out.LocalAddr = local[0].Addr()
	if len(g.Address) == 0 {
		return Gateway{}, fmt.Errorf("%s: no address", stmt)
	}
	remote, err := netip.ParseAddr(g.Address[0])
	if err != nil {
		return Gateway{}, fmt.Errorf("%s address %s: %w", stmt, g.Address[0], err)
	}
	out.RemoteAddr = remote
	pol := c.IKEPolicy(g.IKEPolicy)
	if pol == nil || pol.PreSharedKey == nil {
		return Gateway{}, fmt.Errorf("%s ike-policy %s: no pre-shared key", stmt, g.IKEPolicy)
	}
	switch {
	case pol.PreSharedKey.ASCIIText != "":
		out.PSK = []byte(pol.PreSharedKey.ASCIIText)
	default:
		if out.PSK, err = hex.DecodeString(pol.PreSharedKey.Hexadecimal); err != nil {
			return Gateway{}, fmt.Errorf("security ike policy %s pre-shared-key hexadecimal: %w", pol.Name, err)
		}
	}
	props, err := c.IKEProposals(g.IKEPolicy)
	if err != nil {
		return Gateway{}, fmt.Errorf("%s: %w", stmt, err)
	}
	for _, p := range props {
		out.Proposals = append(out.Proposals, IKEProposal{
			Name: p.Name, Encryption: p.Encryption, Authentication: p.Hash,
			DHGroup: "group" + strconv.Itoa(p.DHGroup), Lifetime: time.Duration(p.LifetimeSeconds) * time.Second,
		})
	}
	if d := g.DeadPeerDetection; d != nil {
		out.DPDInterval = time.Duration(atoi(d.Interval, config.DefaultDPDInterval)) * time.Second
		out.DPDThreshold = atoi(d.Threshold, config.DefaultDPDThreshold)
	}
	out.LocalIdentity = identityFromConfig(g.LocalIdentity)
	out.RemoteIdentity = identityFromConfig(g.RemoteIdentity)
	return out, nil
}

func identityFromConfig(id *config.Identity) *Identity {
	switch {
	case id == nil:
		return nil
	case id.InetAddress != "":
		return &Identity{Kind: "inet", Value: id.InetAddress}
	case id.Hostname != "":
		return &Identity{Kind: "hostname", Value: id.Hostname}
	case id.UserAtHostname != "":
		return &Identity{Kind: "user-at-hostname", Value: id.UserAtHostname}
	}
	return nil
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}
