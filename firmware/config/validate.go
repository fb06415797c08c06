package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Validate checks references, uniqueness and the combinations the schema
// alone cannot express. It returns errors and warnings (Problem.Warning);
// only errors block a commit. Each problem names its statement in set form.
func (c *Config) Validate() []*Problem {
	v := &validator{c: c, x: NewIndex(c)}
	v.interfaces()
	v.routes()
	v.zones()
	v.books()
	v.applications()
	v.ike()
	v.ipsec()
	v.policies()
	return v.out
}

// Errors returns only the blocking problems.
func Errors(ps []*Problem) []*Problem {
	return slices.DeleteFunc(slices.Clone(ps), func(p *Problem) bool { return p.Warning })
}

type validator struct {
	c   *Config
	x   *Index
	out []*Problem
}

func (v *validator) errf(stmt, format string, a ...any) {
	v.out = append(v.out, &Problem{Statement: "set " + stmt, Message: fmt.Sprintf(format, a...)})
}

func (v *validator) warnf(stmt, format string, a ...any) {
	v.out = append(v.out, &Problem{Statement: "set " + stmt, Message: fmt.Sprintf(format, a...), Warning: true})
}

// unitExists reports whether "ge-0/0/1.0" (or "ge-0/0/1", unit 0) is configured.
func (v *validator) unitExists(ifunit string) bool {
	name, unit, ok := strings.Cut(ifunit, ".")
	if !ok {
		unit = "0"
	}
	for _, i := range v.c.InterfaceList() {
		if i.Name == name {
			return slices.ContainsFunc(i.Units, func(u Unit) bool { return u.Number == unit })
		}
	}
	return false
}

func (v *validator) interfaces() {
	seen := map[netip.Addr]string{}
	for _, i := range v.c.InterfaceList() {
		for _, u := range i.Units {
			if u.Family == nil || u.Family.Inet == nil {
				continue
			}
			for _, a := range u.Family.Inet.Addresses {
				p, err := netip.ParsePrefix(a.Prefix)
				stmt := fmt.Sprintf("interfaces %s unit %s family inet address %s", i.Name, u.Number, a.Prefix)
				if err != nil || !p.Addr().Is4() {
					v.errf(stmt, "family inet needs an IPv4 address")
					continue
				}
				if other, dup := seen[p.Addr()]; dup {
					v.errf(stmt, "address %s is already configured on %s", p.Addr(), other)
				}
				seen[p.Addr()] = fmt.Sprintf("%s.%s", i.Name, u.Number)
			}
		}
	}
}

func (v *validator) routes() {
	for _, r := range v.c.StaticRoutes() {
		stmt := "routing-options static route " + r.Prefix
		if len(r.NextHop) == 0 && !r.Discard {
			v.errf(stmt, "a static route needs next-hop or discard")
		}
		p, _ := netip.ParsePrefix(r.Prefix)
		for _, nh := range r.NextHop {
			a, _ := netip.ParseAddr(nh)
			if a.Is4() != p.Addr().Is4() {
				v.errf(stmt+" next-hop "+nh, "next-hop %s is not of the route's address family", nh)
			}
		}
	}
}

var hostServices = []string{"all", "any-service", "dhcp", "dns", "http", "https", "ike", "netconf", "ntp", "ping", "snmp", "ssh", "telnet", "traceroute"}
var hostProtocols = []string{"all", "bfd", "bgp", "ospf", "pim", "rip", "vrrp"}

func (v *validator) hostInbound(stmt string, h *HostInboundTraffic) {
	if h == nil {
		return
	}
	for _, s := range h.SystemServices {
		if !slices.Contains(hostServices, s.Name) {
			v.errf(stmt+" host-inbound-traffic system-services "+s.Name, "unknown system service %s; valid: %s", s.Name, strings.Join(hostServices, ", "))
		}
	}
	for _, p := range h.Protocols {
		if !slices.Contains(hostProtocols, p.Name) {
			v.errf(stmt+" host-inbound-traffic protocols "+p.Name, "unknown protocol %s; valid: %s", p.Name, strings.Join(hostProtocols, ", "))
		}
	}
}

func (v *validator) zones() {
	owner := map[string]string{}
	for _, z := range v.c.ZoneList() {
		stmt := "security zones security-zone " + z.Name
		v.hostInbound(stmt, z.HostInboundTraffic)
		for _, i := range z.Interfaces {
			istmt := stmt + " interfaces " + i.Name
			if !v.unitExists(i.Name) {
				name, unit, _ := strings.Cut(i.Name, ".")
				v.errf(istmt, "interface %s is not configured (set interfaces %s unit %s ...)", i.Name, name, unit)
			}
			if other, dup := owner[i.Name]; dup {
				v.errf(istmt, "interface %s is already in zone %s", i.Name, other)
			} else {
				owner[i.Name] = z.Name
			}
			v.hostInbound(istmt, i.HostInboundTraffic)
		}
	}
}

func (v *validator) zoneExists(z string) bool {
	return slices.ContainsFunc(v.c.ZoneList(), func(x Zone) bool { return x.Name == z })
}

func (v *validator) books() {
	if v.c.Security == nil {
		return
	}
	attached := map[string]string{}
	globals := 0
	for _, b := range v.c.Security.AddressBooks {
		stmt := "security address-book " + b.Name
		if b.Attach == nil || len(b.Attach.Zones) == 0 {
			globals++
			if globals > 1 || b.Name != "global" {
				v.errf(stmt, "address book %s is not attached to a zone; only the book named global may stand alone (set %s attach zone ZONE)", b.Name, stmt)
			}
		} else {
			for _, z := range b.Attach.Zones {
				if !v.zoneExists(z) {
					v.errf(stmt+" attach zone "+z, "zone %s is not defined", z)
				}
				if other, dup := attached[z]; dup {
					v.errf(stmt+" attach zone "+z, "zone %s already has address book %s", z, other)
				}
				attached[z] = b.Name
			}
		}
		names := map[string]bool{}
		for _, a := range b.Addresses {
			names[a.Name] = true
			if a.Prefix == "" {
				v.errf(stmt+" address "+a.Name, "address %s needs a prefix", a.Name)
			}
			if IsAnyAddress(a.Name) {
				v.errf(stmt+" address "+a.Name, "%s is predefined and cannot be redefined", a.Name)
			}
		}
		for _, s := range b.AddressSets {
			sstmt := stmt + " address-set " + s.Name
			if names[s.Name] {
				v.errf(sstmt, "name %s is already used by an address in book %s", s.Name, b.Name)
			}
			if len(s.Addresses)+len(s.AddressSets) == 0 {
				v.errf(sstmt, "address-set %s is empty", s.Name)
			}
			if _, err := v.x.bookAddresses(b.Name, s.Name, 0); err != nil {
				v.errf(sstmt, "%v", err)
			}
		}
	}
}

func (v *validator) applications() {
	if v.c.Applications == nil {
		return
	}
	for _, a := range v.c.Applications.Applications {
		stmt := "applications application " + a.Name
		if strings.HasPrefix(a.Name, "junos-") || a.Name == anyApplication {
			v.errf(stmt, "%s is a predefined application name", a.Name)
		}
		if a.Protocol == "" {
			v.errf(stmt, "application %s needs a protocol", a.Name)
			continue
		}
		ported := a.Protocol == "tcp" || a.Protocol == "udp" || a.Protocol == "sctp"
		if !ported && (a.SourcePort != "" || a.DestinationPort != "") {
			v.errf(stmt, "ports apply only to tcp, udp and sctp, not %s", a.Protocol)
		}
		if a.ICMPType != "" && a.Protocol != "icmp" {
			v.errf(stmt, "icmp-type applies only to protocol icmp")
		}
	}
	for _, s := range v.c.Applications.ApplicationSets {
		if _, err := v.x.Application(s.Name); err != nil {
			v.errf("applications application-set "+s.Name, "%v", err)
		}
	}
}

func (v *validator) ike() {
	ike := v.c.ike()
	for _, p := range ike.Policies {
		stmt := "security ike policy " + p.Name
		if _, err := v.c.IKEProposals(p.Name); err != nil {
			v.errf(stmt, "%v", err)
		}
		if p.PreSharedKey == nil || (p.PreSharedKey.ASCIIText == "" && p.PreSharedKey.Hexadecimal == "") {
			v.errf(stmt, "ike policy %s needs a pre-shared-key (only pre-shared-keys authentication is implemented)", p.Name)
		}
	}
	for _, g := range ike.Gateways {
		stmt := "security ike gateway " + g.Name
		if g.IKEPolicy == "" {
			v.errf(stmt, "gateway %s needs an ike-policy", g.Name)
		} else if v.c.IKEPolicy(g.IKEPolicy) == nil {
			v.errf(stmt+" ike-policy "+g.IKEPolicy, "ike policy %s is not defined", g.IKEPolicy)
		} else if g.Version == "v2-only" && v.c.IKEPolicy(g.IKEPolicy).Mode == "aggressive" {
			v.errf(stmt+" version v2-only", "IKEv2 has no aggressive mode; remove mode aggressive from ike policy %s", g.IKEPolicy)
		}
		if len(g.Address) == 0 {
			v.errf(stmt, "gateway %s needs an address", g.Name)
		}
		if g.ExternalInterface == "" {
			v.errf(stmt, "gateway %s needs an external-interface", g.Name)
		} else if !v.unitExists(g.ExternalInterface) {
			v.errf(stmt+" external-interface "+g.ExternalInterface, "interface %s is not configured", g.ExternalInterface)
		} else if len(v.c.UnitAddresses(g.ExternalInterface)) == 0 {
			v.errf(stmt+" external-interface "+g.ExternalInterface, "interface %s has no IPv4 address to speak IKE from", g.ExternalInterface)
		} else {
			unit := g.ExternalInterface
			if !strings.Contains(unit, ".") {
				unit += ".0"
			}
			if z, ok := v.x.ZoneOf(unit); ok && !v.zoneAllows(z, unit, "ike") {
				v.warnf(stmt+" external-interface "+g.ExternalInterface, "zone %s of interface %s does not allow host-inbound-traffic system-services ike; IKE from the peer will be dropped", z, unit)
			}
		}
	}
}

// zoneAllows reports whether a zone (or the interface's own settings, which
// override the zone's) admits a host-inbound system service.
func (v *validator) zoneAllows(zone, ifunit, service string) bool {
	for _, z := range v.c.ZoneList() {
		if z.Name != zone {
			continue
		}
		h := z.HostInboundTraffic
		for _, i := range z.Interfaces {
			if i.Name == ifunit && i.HostInboundTraffic != nil {
				h = i.HostInboundTraffic
			}
		}
		return ServiceAllowed(h, service)
	}
	return false
}

// ServiceAllowed applies Junos's rule: a named service is allowed when it is
// listed, or when `all` is listed and the service is not excepted.
func ServiceAllowed(h *HostInboundTraffic, service string) bool {
	if h == nil {
		return false
	}
	all := false
	for _, s := range h.SystemServices {
		if s.Name == service {
			return !s.Except
		}
		if s.Name == "all" && !s.Except {
			all = true
		}
	}
	return all
}

func (v *validator) ipsec() {
	ipsec := v.c.ipsec()
	for _, p := range ipsec.Proposals {
		if IsAEAD(p.EncryptionAlgorithm) && p.AuthenticationAlgorithm != "" {
			v.errf("security ipsec proposal "+p.Name+" authentication-algorithm "+p.AuthenticationAlgorithm,
				"%s provides its own integrity; remove authentication-algorithm", p.EncryptionAlgorithm)
		}
	}
	for _, p := range ipsec.Policies {
		if _, err := v.c.IPsecProposals(p.Name); err != nil {
			v.errf("security ipsec policy "+p.Name, "%v", err)
		}
	}
	for _, vpn := range ipsec.VPNs {
		stmt := "security ipsec vpn " + vpn.Name
		if vpn.IKE == nil || vpn.IKE.Gateway == "" {
			v.errf(stmt, "vpn %s needs ike gateway", vpn.Name)
		} else if v.c.IKEGateway(vpn.IKE.Gateway) == nil {
			v.errf(stmt+" ike gateway "+vpn.IKE.Gateway, "ike gateway %s is not defined", vpn.IKE.Gateway)
		}
		if vpn.IKE == nil || vpn.IKE.IPsecPolicy == "" {
			v.errf(stmt, "vpn %s needs ike ipsec-policy", vpn.Name)
		} else if !slices.ContainsFunc(ipsec.Policies, func(p IPsecPolicy) bool { return p.Name == vpn.IKE.IPsecPolicy }) {
			v.errf(stmt+" ike ipsec-policy "+vpn.IKE.IPsecPolicy, "ipsec policy %s is not defined", vpn.IKE.IPsecPolicy)
		}
	}
}
