// Package policy turns zones, address books, applications, security policies
// and flow options into one nftables table (compile, pure), loads it into the
// kernel in one batch (apply), and reads sessions and hit counts back for the
// `show security ...` commands.
//
// The table's shape, for a packet being forwarded:
//
//	chain forward (hook forward, policy drop)
//	  ct state established,related accept      returning packets of sessions
//	  iifname . oifname vmap @zone_pairs       one jump to the pair's chain
//	  jump global                              global policies, if any
//	chain pair_N: the pair's policies in order; the first matching rule ends
//	  the walk with accept/drop/reject, so first-match holds; an address
//	  list is one interval-set lookup. Large pairs jump through blocks.
//
// The vmap means a packet never walks the policies of other zone pairs.
// Permitted new sessions get a ct mark naming the policy, which is how
// sessions are listed with their policy. README.md has the whole picture.
package policy

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/palisade/palisade/drivers/ports"
	"github.com/palisade/palisade/firmware/config"
)

// DefaultTable is the name of Palisade's table in family inet.
const DefaultTable = "palisade"

// Options are the inputs of Compile beside the configuration. The zero
// value is the firmware's default.
type Options struct {
	// Table names the inet table; empty means DefaultTable.
	Table string
	// KernelName maps a Junos logical interface ("ge-0/0/1.0") to the Linux
	// interface that carries it. Nil means KernelName (unit 0 only).
	KernelName func(unit string) (string, error)
}

// KernelName is the firmware's naming of logical interfaces
// (drivers/ports): ge-0/0/1.0 is the link "ge-0-0-1".
func KernelName(unit string) (string, error) { return ports.UnitKernelName(unit) }

// MapKernelNames returns a KernelName function backed by a map, for tests
// and boards whose links are named otherwise.
func MapKernelNames(m map[string]string) func(string) (string, error) {
	return func(unit string) (string, error) {
		if k, ok := m[unit]; ok {
			return k, nil
		}
		return "", fmt.Errorf("interface %s has no kernel interface", unit)
	}
}

// Compiled is everything Compile derives from one configuration.
type Compiled struct {
	Ruleset  *Ruleset
	Tunnels  []TunnelSelector
	Policies []config.ResolvedPolicy
	IDs      map[int]PolicyID // by policy Index
}

// TunnelSelector is the proxy-id of one `permit tunnel ipsec-vpn` policy
// term, for the VPN code to install as an XFRM policy pair and negotiate a
// Child SA for. Local and Remote are as seen from this box: for the
// outbound policy (traffic entering the tunnel) Local is its source, for the
// inbound one its destination. Mirrored outbound and inbound policies give
// the same selector, listed once, with both policy names.
type TunnelSelector struct {
	VPN           string
	Policies      []string // the tunnel policies this proxy-id serves
	Local, Remote netip.Prefix
	Proto         uint8     // 0: any protocol
	LocalPorts    [2]uint16 // inclusive range; {0, 65535}: any
	RemotePorts   [2]uint16
}

// Compile builds the nftables intent and the tunnel selectors. It fails on
// any policy whose names do not resolve (config.Validate says which).
func Compile(cfg *config.Config, opt Options) (*Compiled, error) {
	if opt.Table == "" {
		opt.Table = DefaultTable
	}
	if opt.KernelName == nil {
		opt.KernelName = KernelName
	}
	idx := config.NewIndex(cfg)
	pols, probs := idx.Policies()
	if errs := config.Errors(probs); len(errs) > 0 {
		var all []error
		for _, p := range errs {
			all = append(all, p)
		}
		return nil, fmt.Errorf("compiling security policies: %w", errors.Join(all...))
	}
	for _, p := range pols {
		if err := checkTimeouts(idx, p); err != nil {
			return nil, err
		}
	}
	c := &compiler{cfg: cfg, opt: opt, idx: idx, rs: &Ruleset{Table: opt.Table}, ids: assignIDs(pols),
		zoneIfs: map[string][]string{}, setByKey: map[string]string{}, setNames: map[string]bool{}}
	if err := c.zones(); err != nil {
		return nil, err
	}
	if err := c.forward(pols); err != nil {
		return nil, err
	}
	if err := c.input(); err != nil {
		return nil, err
	}
	c.rs.Chains = append(c.rs.Chains, &Chain{Name: "output", Hook: HookOutput, Policy: "accept"})
	if err := c.mss(); err != nil {
		return nil, err
	}
	tun, err := c.tunnels(pols)
	if err != nil {
		return nil, err
	}
	return &Compiled{Ruleset: c.rs, Tunnels: tun, Policies: pols, IDs: c.ids}, nil
}

type compiler struct {
	cfg      *config.Config
	opt      Options
	idx      *config.Index
	rs       *Ruleset
	zoneIfs  map[string][]string // zone -> kernel interface names
	setByKey map[string]string   // set contents -> set name, to share sets
	setNames map[string]bool
	ids      map[int]PolicyID
}

func (c *compiler) zones() error {
	for _, z := range c.cfg.ZoneList() {
		for _, i := range z.Interfaces {
			k, err := c.opt.KernelName(i.Name)
			if err != nil {
				return fmt.Errorf("security zones security-zone %s interfaces %s: %w", z.Name, i.Name, err)
			}
			c.zoneIfs[z.Name] = append(c.zoneIfs[z.Name], k)
		}
	}
	return nil
}

// PolicyID is how the kernel knows a policy: the named counter that holds
// its hit count (every policy has one, as `show security policies
// hit-count` lists every policy) and the conntrack mark of the sessions it
// permitted. Both derive from the policy's name, which is unique, not from
// its index: when a policy is inserted above, the others keep their
// counts, their sessions and their rules, so an incremental apply rewrites
// little.
type PolicyID struct {
	Counter string
	Mark    uint32 // never 0, which is "no policy"
}

// assignIDs gives every policy its PolicyID, probing past hash collisions
// in configuration order.
func assignIDs(pols []config.ResolvedPolicy) map[int]PolicyID {
	ids := map[int]PolicyID{}
	used := map[uint32]bool{0: true}
	for _, p := range pols {
		h := fnv.New32a()
		h.Write([]byte(p.Name))
		m := h.Sum32()
		for used[m] {
			m++
		}
		used[m] = true
		ids[p.Index] = PolicyID{Counter: fmt.Sprintf("p_%08x", m), Mark: m}
	}
	return ids
}

// PolicyByMark returns the policy whose sessions carry mark.
func (c *Compiled) PolicyByMark(mark uint32) (config.ResolvedPolicy, bool) {
	for _, p := range c.Policies {
		if mark != 0 && c.IDs[p.Index].Mark == mark {
			return p, true
		}
	}
	return config.ResolvedPolicy{}, false
}

func (c *compiler) forward(pols []config.ResolvedPolicy) error {
	pairs := &Set{Name: "zone_pairs", Kind: VmapIfPair}
	type pair struct {
		name     string
		policies []pairPolicy
	}
	var pairList []*pair
	global := &Chain{Name: "global"}
	pairOf := map[[2]string]*pair{}
	for _, p := range pols {
		c.rs.Counters = append(c.rs.Counters, c.ids[p.Index].Counter)
		var pre []Stmt
		if p.Global {
			var err error
			if pre, err = c.globalZones(p); err != nil {
				return err
			}
		}
		rules, err := c.policyRules(p, pre)
		if err != nil {
			return err
		}
		if p.Global {
			global.Rules = append(global.Rules, rules...)
			continue
		}
		k := [2]string{p.From, p.To}
		pr := pairOf[k]
		if pr == nil {
			pr = &pair{name: fmt.Sprintf("pair_%d", len(pairList)+1)}
			pairOf[k] = pr
			pairList = append(pairList, pr)
			for _, in := range c.zoneIfs[p.From] {
				for _, out := range c.zoneIfs[p.To] {
					pairs.Elems = append(pairs.Elems, MapElem{Keys: []string{in, out}, Chain: pr.name})
				}
			}
		}
		pr.policies = append(pr.policies, pairPolicy{p.Name, rules})
	}
	var pairChains []*Chain
	for _, pr := range pairList {
		pairChains = append(pairChains, blocks(pr.name, pr.policies)...)
	}
	c.rs.Chains = append(c.rs.Chains, pairChains...)
	// Traffic in or out of an interface that is in no zone is dropped, as
	// on an SRX, before global policies or permit-all could pass it.
	zoned := &Set{Name: "zone_interfaces", Kind: SetIfName}
	for _, z := range c.cfg.ZoneList() {
		zoned.Names = append(zoned.Names, c.zoneIfs[z.Name]...)
	}
	fwd := &Chain{Name: "forward", Hook: HookForward, Policy: "drop", Rules: []Rule{
		{Stmts: []Stmt{CtState{[]string{"established", "related"}}, Verdict{Kind: "accept"}}},
		{Stmts: []Stmt{CtState{[]string{"invalid"}}, Verdict{Kind: "drop"}}},
		{Stmts: []Stmt{IfNameSet{Dir: Src, Set: zoned.Name, Not: true}, Verdict{Kind: "drop"}}, Comment: "interface in no zone"},
		{Stmts: []Stmt{IfNameSet{Dir: Dst, Set: zoned.Name, Not: true}, Verdict{Kind: "drop"}}, Comment: "interface in no zone"},
		{Stmts: []Stmt{IfPairVmap{Map: pairs.Name}}},
	}}
	c.rs.Sets = append(c.rs.Sets, zoned, pairs)
	if len(global.Rules) > 0 {
		c.rs.Chains = append(c.rs.Chains, global)
		fwd.Rules = append(fwd.Rules, Rule{Stmts: []Stmt{Verdict{Kind: "jump", Chain: global.Name}}})
	}
	if dp := c.cfg.Security; dp != nil && dp.Policies != nil && dp.Policies.DefaultPolicy != nil && dp.Policies.DefaultPolicy.PermitAll {
		fwd.Rules = append(fwd.Rules, Rule{Stmts: []Stmt{Verdict{Kind: "accept"}}, Comment: "default-policy permit-all"})
	}
	c.rs.Chains = append(c.rs.Chains, fwd)
	return nil
}

// A zone pair with more than blockPolicies policies is split into block
// chains that the pair's chain jumps to in order; accept, drop and reject
// end the walk inside a block, and a block without a match returns, so
// first-match holds. Block boundaries fall after policies whose name hashes
// to 0 mod blockPolicies (and at the latest after maxBlockPolicies), and a
// block is named after its first policy, so inserting, removing or changing
// one policy rewrites one block and the pair's list of jumps, not the pair
// (see Applier).
const (
	blockPolicies    = 128
	maxBlockPolicies = 512
)

// pairPolicy is one policy's rules within its pair.
type pairPolicy struct {
	name  string
	rules []Rule
}

func nameHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// blocks returns a pair's chain, preceded by its block chains if it has
// more than blockPolicies policies.
func blocks(name string, policies []pairPolicy) []*Chain {
	if len(policies) <= blockPolicies {
		ch := &Chain{Name: name}
		for _, p := range policies {
			ch.Rules = append(ch.Rules, p.rules...)
		}
		return []*Chain{ch}
	}
	var out []*Chain
	top := &Chain{Name: name}
	var cur *Chain
	n := 0
	used := map[string]bool{}
	for _, p := range policies {
		if cur == nil {
			bn := fmt.Sprintf("%s_%08x", name, nameHash(p.name))
			for i := 2; used[bn]; i++ {
				bn = fmt.Sprintf("%s_%08x_%d", name, nameHash(p.name), i)
			}
			used[bn] = true
			cur = &Chain{Name: bn}
			out = append(out, cur)
			top.Rules = append(top.Rules, Rule{Stmts: []Stmt{Verdict{Kind: "jump", Chain: bn}}})
		}
		cur.Rules = append(cur.Rules, p.rules...)
		n++
		if nameHash(p.name)%blockPolicies == 0 || n == maxBlockPolicies {
			cur, n = nil, 0
		}
	}
	return append(out, top)
}

// globalZones matches a global policy's from-zone and to-zone lists.
func (c *compiler) globalZones(p config.ResolvedPolicy) ([]Stmt, error) {
	var out []Stmt
	for _, side := range []struct {
		dir   Dir
		zones []string
	}{{Src, p.FromZones}, {Dst, p.ToZones}} {
		if len(side.zones) == 0 || slices.Contains(side.zones, "any") {
			continue
		}
		var names []string
		for _, z := range side.zones {
			names = append(names, c.zoneIfs[z]...)
		}
		key := "if:" + strings.Join(names, ",")
		name, ok := c.setByKey[key]
		if !ok {
			name = c.uniqueSetName("if_", key)
			c.setByKey[key] = name
			c.rs.Sets = append(c.rs.Sets, &Set{Name: name, Kind: SetIfName, Names: names})
		}
		out = append(out, IfNameSet{Dir: side.dir, Set: name})
	}
	return out, nil
}

// addrAlt is one way an address list can match: the statements, and the
// family they pin (0: both).
type addrAlt struct {
	stmts []Stmt
	fam   int
}

// addrAlts turns a policy's prefixes into at most one alternative per
// family; a list that covers a whole family matches without a statement.
func (c *compiler) addrAlts(dir Dir, ps []netip.Prefix) []addrAlt {
	var v4, v6 []netip.Prefix
	for _, p := range ps {
		if p.Addr().Is4() || p.Addr().Is4In6() {
			v4 = append(v4, netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), 32)).Masked())
		} else {
			v6 = append(v6, p.Masked())
		}
	}
	v4, v6 = mergePrefixes(v4), mergePrefixes(v6)
	all4 := len(v4) == 1 && v4[0].Bits() == 0
	all6 := len(v6) == 1 && v6[0].Bits() == 0
	if all4 && all6 {
		return []addrAlt{{}}
	}
	var out []addrAlt
	for _, f := range []struct {
		list []netip.Prefix
		all  bool
		v6   bool
		fam  int
		kind SetKind
	}{{v4, all4, false, 4, SetIPv4}, {v6, all6, true, 6, SetIPv6}} {
		switch {
		case len(f.list) == 0:
		case f.all:
			out = append(out, addrAlt{[]Stmt{Family{V6: f.v6}}, f.fam})
		case len(f.list) == 1:
			out = append(out, addrAlt{[]Stmt{Addr{Dir: dir, Prefix: f.list[0]}}, f.fam})
		default:
			out = append(out, addrAlt{[]Stmt{AddrSet{Dir: dir, V6: f.v6, Set: c.addrSet(f.kind, f.list)}}, f.fam})
		}
	}
	return out
}

// addrSet returns the name of an interval set holding exactly these
// prefixes, sharing one set between policies that use the same list.
func (c *compiler) addrSet(kind SetKind, ps []netip.Prefix) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d:", kind)
	for _, p := range ps {
		b.WriteString(p.String())
		b.WriteByte(',')
	}
	if name, ok := c.setByKey[b.String()]; ok {
		return name
	}
	name := c.uniqueSetName(fmt.Sprintf("a%d_", map[SetKind]int{SetIPv4: 4, SetIPv6: 6}[kind]), b.String())
	c.setByKey[b.String()] = name
	c.rs.Sets = append(c.rs.Sets, &Set{Name: name, Kind: kind, Prefixes: ps})
	return name
}

// uniqueSetName names a set after a hash of its contents, so that a set
// keeps its name when other sets come and go, and an incremental apply
// leaves it alone.
func (c *compiler) uniqueSetName(prefix, contents string) string {
	h := fnv.New32a()
	h.Write([]byte(contents))
	base := fmt.Sprintf("%s%08x", prefix, h.Sum32())
	name := base
	for i := 2; c.setNames[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	c.setNames[name] = true
	return name
}

// mergePrefixes sorts prefixes and drops those inside another, since the
// kernel refuses overlapping intervals.
func mergePrefixes(ps []netip.Prefix) []netip.Prefix {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Bits(), b.Bits())
	})
	var out []netip.Prefix
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Bits() <= p.Bits() && out[n-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// appAlt is one application term as statements, and the protocol it pins
// (-1: any).
type appAlt struct {
	stmts []Stmt
	proto int
}

// appAlts turns application terms into match alternatives. Terms become
// separate adjacent rules with the same verdict, which keeps first-match:
// a packet matching any term gets the policy's verdict either way.
func appAlts(terms []config.AppTerm) []appAlt {
	var out []appAlt
	seen := map[string]bool{}
	for _, t := range terms {
		if t.Any {
			return []appAlt{{proto: -1}}
		}
		a := appAlt{stmts: []Stmt{L4Proto{t.Proto}}, proto: int(t.Proto)}
		if t.SrcLo != 0 || t.SrcHi != 65535 {
			a.stmts = append(a.stmts, Port{Dir: Src, Lo: t.SrcLo, Hi: t.SrcHi})
		}
		if t.DstLo != 0 || t.DstHi != 65535 {
			a.stmts = append(a.stmts, Port{Dir: Dst, Lo: t.DstLo, Hi: t.DstHi})
		}
		if t.ICMPType >= 0 {
			a.stmts = append(a.stmts, ICMPType{V6: t.Proto == 58, Lo: uint8(t.ICMPType), Hi: uint8(t.ICMPType)})
		}
		k := Rule{Stmts: a.stmts}.Text()
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

// logPrefix names the policy (not its index: see policyRules) and zones;
// the kernel appends addresses,
// ports and protocol. Netfilter keeps at most 127 bytes.
func logPrefix(p config.ResolvedPolicy) string {
	from, to := p.From, p.To
	if p.Global {
		from, to = "global", "global"
	}
	s := fmt.Sprintf("palisade session-init policy=%s from=%s to=%s action=%s ", p.Name, from, to, p.Action)
	if len(s) > 127 {
		s = s[:127]
	}
	return s
}

// tunnelDirection tells whether a tunnel policy's traffic enters the
// tunnel (its to-zone holds the VPN's external interface), leaves it (its
// from-zone does), or cannot be told (both, or neither).
func (c *compiler) tunnelDirection(p config.ResolvedPolicy) (out, in bool) {
	vpn := c.cfg.IPsecVPN(p.VPN)
	if vpn == nil || vpn.IKE == nil {
		return true, true
	}
	gw := c.cfg.IKEGateway(vpn.IKE.Gateway)
	if gw == nil || gw.ExternalInterface == "" {
		return true, true
	}
	ext := gw.ExternalInterface
	if !strings.Contains(ext, ".") {
		ext += ".0"
	}
	z, ok := c.idx.ZoneOf(ext)
	if !ok {
		return true, true
	}
	out, in = p.To == z, p.From == z
	if out == in {
		return true, true
	}
	return out, in
}

// policyRules compiles one policy into adjacent rules of its chain.
func (c *compiler) policyRules(p config.ResolvedPolicy, pre []Stmt) ([]Rule, error) {
	// Rules carry no policy index, so that inserting a policy leaves the
	// rules of the others unchanged.
	comment := fmt.Sprintf("policy %s %s->%s", p.Name, p.From, p.To)
	if p.Global {
		comment = fmt.Sprintf("policy %s global", p.Name)
	}
	actions := []Stmt{CounterRef{c.ids[p.Index].Counter}}
	if p.LogInit {
		actions = append(actions, Log{logPrefix(p)})
	}
	var rules []Rule
	add := func(match []Stmt, tail ...Stmt) {
		st := slices.Concat(pre, match, actions, tail)
		rules = append(rules, Rule{Stmts: st, Comment: comment})
	}
	apps := appAlts(p.Apps)
	for _, s := range c.addrAlts(Src, p.Src) {
		for _, d := range c.addrAlts(Dst, p.Dst) {
			if s.fam != 0 && d.fam != 0 && s.fam != d.fam {
				continue
			}
			for _, a := range apps {
				match := slices.Concat(s.stmts, d.stmts, a.stmts)
				switch p.Action {
				case "permit":
					mark := SetCtMark{c.ids[p.Index].Mark}
					if p.VPN == "" {
						add(match, mark, Verdict{Kind: "accept"})
						continue
					}
					out, in := c.tunnelDirection(p)
					if out {
						add(append(slices.Clone(match), IPsecOut{}), mark, Verdict{Kind: "accept"})
					}
					if in {
						add(append(slices.Clone(match), IPsecIn{}), mark, Verdict{Kind: "accept"})
					}
					// The policy matched, so its traffic must not fall through to
					// a later policy in the clear when no SA covers it.
					rules = append(rules, Rule{Stmts: slices.Concat(pre, match, []Stmt{Verdict{Kind: "drop"}}),
						Comment: comment + " not ipsec"})
				case "deny":
					add(match, Verdict{Kind: "drop"})
				case "reject":
					if a.proto == -1 || a.proto == 6 {
						m := match
						if a.proto == -1 {
							m = append(slices.Clone(match), L4Proto{6})
						}
						add(m, RejectTCPReset{})
					}
					if a.proto != 6 {
						add(match, RejectICMP{})
					}
				default:
					return nil, fmt.Errorf("%s: unknown action %q", p.Statement, p.Action)
				}
			}
		}
	}
	return rules, nil
}

// hostService is one host-inbound service as match alternatives.
type hostService struct {
	name string
	alts [][]Stmt
}

func tcp(port uint16) []Stmt   { return []Stmt{L4Proto{6}, Port{Dir: Dst, Lo: port, Hi: port}} }
func udp(lo, hi uint16) []Stmt { return []Stmt{L4Proto{17}, Port{Dir: Dst, Lo: lo, Hi: hi}} }

var echo4 = []Stmt{L4Proto{1}, ICMPType{Lo: 8, Hi: 8}}
var echo6 = []Stmt{L4Proto{58}, ICMPType{V6: true, Lo: 128, Hi: 128}}

// hostServices are the system-services Palisade knows, in the order rules
// are emitted.
func hostServices(sshPort uint16) []hostService {
	return []hostService{
		{"dhcp", [][]Stmt{udp(67, 68)}},
		{"dns", [][]Stmt{udp(53, 53), tcp(53)}},
		{"http", [][]Stmt{tcp(80)}},
		{"https", [][]Stmt{tcp(443)}},
		{"ike", [][]Stmt{udp(500, 500), udp(4500, 4500), {L4Proto{50}}}},
		{"netconf", [][]Stmt{tcp(830)}},
		{"ntp", [][]Stmt{udp(123, 123)}},
		{"ping", [][]Stmt{echo4, echo6}},
		{"snmp", [][]Stmt{udp(161, 161)}},
		{"ssh", [][]Stmt{tcp(sshPort)}},
		{"telnet", [][]Stmt{tcp(23)}},
		{"traceroute", [][]Stmt{udp(33434, 33534), echo4, echo6}},
	}
}

// hostProtocols are the routing protocols of host-inbound-traffic protocols.
var hostProtocols = []hostService{
	{"bfd", [][]Stmt{udp(3784, 3785)}},
	{"bgp", [][]Stmt{tcp(179)}},
	{"ospf", [][]Stmt{{L4Proto{89}}}},
	{"pim", [][]Stmt{{L4Proto{103}}}},
	{"rip", [][]Stmt{udp(520, 520)}},
	{"vrrp", [][]Stmt{{L4Proto{112}}}},
}

// itemAllowed is config.ServiceAllowed's rule for any list of items.
func itemAllowed(items []config.HostInboundItem, name string) bool {
	all := false
	for _, s := range items {
		if s.Name == name {
			return !s.Except
		}
		if (s.Name == "all" || s.Name == "any-service") && !s.Except {
			all = true
		}
	}
	return all
}

// hostRules compiles one host-inbound-traffic block.
func (c *compiler) hostRules(h *config.HostInboundTraffic) []Rule {
	if h == nil {
		return nil
	}
	var rules []Rule
	everything := itemAllowed(h.SystemServices, "all") && !slices.ContainsFunc(h.SystemServices, func(i config.HostInboundItem) bool { return i.Except })
	if everything {
		return []Rule{{Stmts: []Stmt{Verdict{Kind: "accept"}}, Comment: "system-services all"}}
	}
	sshPort := uint16(config.DefaultSSHPort)
	if s := c.cfg.System; s != nil && s.Services != nil && s.Services.SSH != nil && s.Services.SSH.Port != "" {
		if n, err := strconv.ParseUint(s.Services.SSH.Port, 10, 16); err == nil {
			sshPort = uint16(n)
		}
	}
	for _, list := range []struct {
		kind  string
		items []config.HostInboundItem
		svcs  []hostService
	}{{"system-services", h.SystemServices, hostServices(sshPort)}, {"protocols", h.Protocols, hostProtocols}} {
		for _, s := range list.svcs {
			if !itemAllowed(list.items, s.name) {
				continue
			}
			for _, alt := range s.alts {
				rules = append(rules, Rule{Stmts: append(slices.Clone(alt), Verdict{Kind: "accept"}), Comment: list.kind + " " + s.name})
			}
		}
	}
	return rules
}

func (c *compiler) input() error {
	vm := &Set{Name: "host_inbound", Kind: VmapIf}
	byText := map[string]*Chain{}
	var chains []*Chain
	for _, z := range c.cfg.ZoneList() {
		for _, i := range z.Interfaces {
			h := z.HostInboundTraffic
			if i.HostInboundTraffic != nil {
				h = i.HostInboundTraffic
			}
			rules := c.hostRules(h)
			var key strings.Builder
			for _, r := range rules {
				key.WriteString(r.Text() + "\n")
			}
			ch := byText[key.String()]
			if ch == nil {
				ch = &Chain{Name: fmt.Sprintf("host_%d", len(chains)+1), Rules: rules}
				byText[key.String()] = ch
				chains = append(chains, ch)
			}
			k, err := c.opt.KernelName(i.Name)
			if err != nil {
				return fmt.Errorf("security zones security-zone %s interfaces %s: %w", z.Name, i.Name, err)
			}
			vm.Elems = append(vm.Elems, MapElem{Keys: []string{k}, Chain: ch.Name})
		}
	}
	c.rs.Chains = append(c.rs.Chains, chains...)
	c.rs.Sets = append(c.rs.Sets, vm)
	c.rs.Chains = append(c.rs.Chains, &Chain{Name: "input", Hook: HookInput, Policy: "drop", Rules: []Rule{
		{Stmts: []Stmt{CtState{[]string{"established", "related"}}, Verdict{Kind: "accept"}}},
		{Stmts: []Stmt{IIFName{"lo"}, Verdict{Kind: "accept"}}},
		{Stmts: []Stmt{CtState{[]string{"invalid"}}, Verdict{Kind: "drop"}}},
		// Without neighbor discovery no IPv6 packet reaches any zone, so it
		// is not a service a zone could refuse.
		{Stmts: []Stmt{L4Proto{58}, ICMPType{V6: true, Lo: 133, Hi: 137}, Verdict{Kind: "accept"}}, Comment: "ipv6 neighbor discovery"},
		{Stmts: []Stmt{IfVmap{Map: vm.Name}}},
	}})
	return nil
}

// mss clamps the MSS of SYNs in the mangle stage of forward, before the
// filter chain, so that it applies to every forwarded SYN that is let
// through.
func (c *compiler) mss() error {
	if c.cfg.Security == nil || c.cfg.Security.Flow == nil || c.cfg.Security.Flow.TCPMSS == nil {
		return nil
	}
	t := c.cfg.Security.Flow.TCPMSS
	ch := &Chain{Name: "mss", Hook: HookForward, Priority: -150, Policy: "accept"}
	clamp := func(v *config.MSSValue, stmt string, extra Stmt) error {
		if v == nil {
			return nil
		}
		n, err := strconv.ParseUint(v.MSS, 10, 16)
		if err != nil {
			return fmt.Errorf("security flow tcp-mss %s mss %s: %w", stmt, v.MSS, err)
		}
		st := []Stmt{L4Proto{6}, TCPSyn{}}
		if extra != nil {
			st = append(st, extra)
		}
		st = append(st, MSSAbove{uint16(n)}, SetMSS{uint16(n)})
		ch.Rules = append(ch.Rules, Rule{Stmts: st, Comment: "tcp-mss " + stmt})
		return nil
	}
	if err := clamp(t.IPsecVPN, "ipsec-vpn", IPsecOut{}); err != nil {
		return err
	}
	if err := clamp(t.IPsecVPN, "ipsec-vpn", IPsecIn{}); err != nil {
		return err
	}
	if err := clamp(t.AllTCP, "all-tcp", nil); err != nil {
		return err
	}
	c.rs.Chains = append(c.rs.Chains, ch)
	return nil
}

// tunnels lists the proxy-ids of the tunnel policies.
func (c *compiler) tunnels(pols []config.ResolvedPolicy) ([]TunnelSelector, error) {
	var out []TunnelSelector
	at := map[string]int{}
	for _, p := range pols {
		if p.VPN == "" {
			continue
		}
		outbound, _ := c.tunnelDirection(p)
		for _, s := range p.Src {
			for _, d := range p.Dst {
				if s.Addr().Is4() != d.Addr().Is4() {
					continue
				}
				for _, t := range p.Apps {
					sel := TunnelSelector{VPN: p.VPN, Local: s.Masked(), Remote: d.Masked(),
						LocalPorts: [2]uint16{0, 65535}, RemotePorts: [2]uint16{0, 65535}}
					if !t.Any {
						sel.Proto = t.Proto
						sel.LocalPorts = [2]uint16{t.SrcLo, t.SrcHi}
						sel.RemotePorts = [2]uint16{t.DstLo, t.DstHi}
					}
					if !outbound {
						sel.Local, sel.Remote = sel.Remote, sel.Local
						sel.LocalPorts, sel.RemotePorts = sel.RemotePorts, sel.LocalPorts
					}
					k := fmt.Sprintf("%s|%v|%v|%d|%v|%v", sel.VPN, sel.Local, sel.Remote, sel.Proto, sel.LocalPorts, sel.RemotePorts)
					if i, ok := at[k]; ok {
						if !slices.Contains(out[i].Policies, p.Name) {
							out[i].Policies = append(out[i].Policies, p.Name)
						}
						continue
					}
					sel.Policies = []string{p.Name}
					at[k] = len(out)
					out = append(out, sel)
				}
			}
		}
	}
	return out, nil
}
