package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ResolvedPolicy is a security policy with its names expanded. Policy
// compilers (nftables, XFRM) work from these values.
type ResolvedPolicy struct {
	From, To   string // zone pair; empty for global policies
	Global     bool
	FromZones  []string // global policies: match from-zone (empty: any)
	ToZones    []string // global policies: match to-zone (empty: any)
	Name       string
	Index      int // 1-based, in configuration order over all contexts (Junos "Index")
	Sequence   int // 1-based position within its context
	SrcNames   []string
	DstNames   []string
	AppNames   []string
	Src, Dst   []netip.Prefix
	Apps       []AppTerm
	Action     string // permit, deny, reject
	VPN        string // permit tunnel ipsec-vpn
	Count      bool
	LogInit    bool
	LogClose   bool
	Statement  string // "security policies from-zone A to-zone B policy P"
	Unresolved bool   // some name did not resolve; Validate reports which
}

// Policies resolves every policy, zone pairs first then global, in order.
// Names that do not resolve are returned as problems.
func (x *Index) Policies() ([]ResolvedPolicy, []*Problem) {
	var out []ResolvedPolicy
	var probs []*Problem
	idx := 0
	add := func(ctx string, from, to string, global bool, ps []Policy) {
		for i, p := range ps {
			idx++
			rp := ResolvedPolicy{From: from, To: to, Global: global, Name: p.Name, Index: idx, Sequence: i + 1,
				Statement: ctx + " policy " + p.Name}
			errf := func(stmt, format string, a ...any) {
				probs = append(probs, &Problem{Statement: "set " + stmt, Message: fmt.Sprintf(format, a...)})
				rp.Unresolved = true
			}
			m := p.Match
			if m == nil {
				m = &PolicyMatch{}
			}
			for _, need := range []struct {
				kw   string
				vals []string
			}{{"source-address", m.SourceAddress}, {"destination-address", m.DestinationAddress}, {"application", m.Application}} {
				if len(need.vals) == 0 {
					errf(rp.Statement, "policy %s needs match %s", p.Name, need.kw)
				}
			}
			if global {
				rp.FromZones, rp.ToZones = m.FromZone, m.ToZone
			} else if len(m.FromZone)+len(m.ToZone) > 0 {
				errf(rp.Statement+" match from-zone", "match from-zone and to-zone are for global policies only")
			}
			rp.SrcNames, rp.DstNames, rp.AppNames = m.SourceAddress, m.DestinationAddress, m.Application
			for _, n := range m.SourceAddress {
				ps, err := x.Addresses(from, n)
				if err != nil {
					errf(rp.Statement+" match source-address "+n, "%v", err)
				}
				rp.Src = append(rp.Src, ps...)
			}
			for _, n := range m.DestinationAddress {
				ps, err := x.Addresses(to, n)
				if err != nil {
					errf(rp.Statement+" match destination-address "+n, "%v", err)
				}
				rp.Dst = append(rp.Dst, ps...)
			}
			for _, n := range m.Application {
				ts, err := x.Application(n)
				if err != nil {
					errf(rp.Statement+" match application "+n, "%v", err)
				}
				rp.Apps = append(rp.Apps, ts...)
			}
			t := p.Then
			switch {
			case t == nil || (t.Permit == nil && !t.Deny && !t.Reject):
				errf(rp.Statement, "policy %s needs an action: then permit, deny or reject", p.Name)
			case t.Permit != nil:
				rp.Action = "permit"
				if t.Permit.Tunnel != nil {
					rp.VPN = t.Permit.Tunnel.IPsecVPN
					switch {
					case rp.VPN == "":
						errf(rp.Statement+" then permit tunnel", "tunnel needs ipsec-vpn NAME")
					case global:
						errf(rp.Statement+" then permit tunnel ipsec-vpn "+rp.VPN, "global policies cannot use a tunnel")
					case x.cfg.IPsecVPN(rp.VPN) == nil:
						errf(rp.Statement+" then permit tunnel ipsec-vpn "+rp.VPN, "ipsec vpn %s is not defined", rp.VPN)
					}
				}
			case t.Deny:
				rp.Action = "deny"
			case t.Reject:
				rp.Action = "reject"
			}
			if t != nil {
				rp.Count = t.Count
				if t.Log != nil {
					rp.LogInit, rp.LogClose = t.Log.SessionInit, t.Log.SessionClose
				}
			}
			out = append(out, rp)
		}
	}
	for _, zp := range x.cfg.ZonePairs() {
		add(fmt.Sprintf("security policies from-zone %s to-zone %s", zp.From, zp.To), zp.From, zp.To, false, zp.Policies)
	}
	add("security policies global", "", "", true, x.cfg.GlobalPolicies())
	return out, probs
}

func (v *validator) policies() {
	pols, probs := v.x.Policies()
	v.out = append(v.out, probs...)
	names := map[string]string{}
	for _, zp := range v.c.ZonePairs() {
		ctx := fmt.Sprintf("security policies from-zone %s to-zone %s", zp.From, zp.To)
		for _, z := range []string{zp.From, zp.To} {
			if !v.zoneExists(z) {
				v.errf(ctx, "zone %s is not defined", z)
			}
		}
	}
	for _, p := range pols {
		if other, dup := names[p.Name]; dup {
			v.errf(p.Statement, "policy name %s is already used in %s", p.Name, other)
		}
		names[p.Name] = strings.TrimPrefix(p.Statement, "security policies ")
		for _, z := range append(append([]string{}, p.FromZones...), p.ToZones...) {
			if !v.zoneExists(z) && z != anyZone {
				v.errf(p.Statement, "zone %s is not defined", z)
			}
		}
	}
	v.shadows(pols)
	v.tunnelPairs(pols)
}

// shadows warns about policies that can never match because an earlier
// policy of the same context matches all their traffic.
func (v *validator) shadows(pols []ResolvedPolicy) {
	type ctx struct{ from, to string }
	byCtx := map[ctx][]*ResolvedPolicy{}
	for i := range pols {
		p := &pols[i]
		if p.Unresolved {
			continue
		}
		k := ctx{p.From, p.To}
		if p.Global {
			k = ctx{"global", ""}
		}
		byCtx[k] = append(byCtx[k], p)
	}
	for i := range pols {
		p := &pols[i]
		if p.Unresolved || p.Global {
			continue
		}
		for _, q := range byCtx[ctx{p.From, p.To}] {
			if q.Index >= p.Index {
				break
			}
			if covers(q, p) {
				v.warnf(p.Statement, "policy %s can never match: policy %s above it in from-zone %s to-zone %s matches all its traffic",
					p.Name, q.Name, p.From, p.To)
				break
			}
		}
	}
}

func covers(q, p *ResolvedPolicy) bool {
	return appsCover(q.Apps, p.Apps) && prefixesCover(q.Src, p.Src) && prefixesCover(q.Dst, p.Dst)
}

func prefixesCover(outer, inner []netip.Prefix) bool {
	for _, in := range inner {
		covered := false
		for _, out := range outer {
			if out.Bits() <= in.Bits() && out.Addr().BitLen() == in.Addr().BitLen() && out.Contains(in.Addr()) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return true
}

func appsCover(outer, inner []AppTerm) bool {
	for _, in := range inner {
		covered := false
		for _, out := range outer {
			if out.Covers(in) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return true
}

// tunnelPairs warns about a tunnel policy with no tunnel policy back through
// the same VPN: the peer's traffic would then be dropped.
func (v *validator) tunnelPairs(pols []ResolvedPolicy) {
	for _, p := range pols {
		if p.VPN == "" {
			continue
		}
		found := false
		for _, q := range pols {
			if q.VPN == p.VPN && q.From == p.To && q.To == p.From {
				found = true
				break
			}
		}
		if !found {
			v.warnf(p.Statement, "tunnel policy %s has no reverse: no policy from-zone %s to-zone %s permits tunnel ipsec-vpn %s",
				p.Name, p.To, p.From, p.VPN)
		}
	}
}
