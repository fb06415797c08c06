package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// Ruleset is the compiled intent for Palisade's own nftables table: what
// Apply loads and what Text renders for `nft -f`. It holds no kernel
// handles and is built without I/O.
type Ruleset struct {
	Table    string   // table name in family inet
	Counters []string // named counter objects, one per policy
	Sets     []*Set   // named sets and verdict maps, in dependency order
	Chains   []*Chain // regular chains first, base chains last
}

// SetKind is what a set's elements are.
type SetKind int

const (
	SetIPv4    SetKind = iota // ipv4_addr, interval
	SetIPv6                   // ipv6_addr, interval
	SetIfName                 // ifname
	VmapIfPair                // ifname . ifname : verdict
	VmapIf                    // ifname : verdict
)

// Set is a named set or verdict map.
type Set struct {
	Name     string
	Kind     SetKind
	Prefixes []netip.Prefix // SetIPv4, SetIPv6: merged, non-overlapping
	Names    []string       // SetIfName
	Elems    []MapElem      // vmaps
}

// MapElem is one verdict-map element: a key of one or two interface names
// and the verdict, always a jump.
type MapElem struct {
	Keys  []string
	Chain string
}

// Hook is where a base chain is attached.
type Hook string

const (
	HookNone    Hook = ""
	HookInput   Hook = "input"
	HookForward Hook = "forward"
	HookOutput  Hook = "output"
)

// Chain is one chain; base chains have a hook.
type Chain struct {
	Name     string
	Hook     Hook
	Priority int    // 0: filter, -150: mangle
	Policy   string // accept or drop, base chains only
	Rules    []Rule
}

// Rule is statements that all must match, then the actions, in nft order.
type Rule struct {
	Stmts   []Stmt
	Comment string
}

func (s *Set) typeText() string {
	switch s.Kind {
	case SetIPv4:
		return "type ipv4_addr\n\t\tflags interval"
	case SetIPv6:
		return "type ipv6_addr\n\t\tflags interval"
	case SetIfName:
		return "type ifname"
	case VmapIfPair:
		return "type ifname . ifname : verdict"
	case VmapIf:
		return "type ifname : verdict"
	}
	return "?"
}

func (s *Set) elementsText() []string {
	var out []string
	switch s.Kind {
	case SetIPv4, SetIPv6:
		for _, p := range s.Prefixes {
			if p.IsSingleIP() {
				out = append(out, p.Addr().String())
			} else {
				out = append(out, p.String())
			}
		}
	case SetIfName:
		for _, n := range s.Names {
			out = append(out, quote(n))
		}
	case VmapIfPair, VmapIf:
		for _, e := range s.Elems {
			ks := make([]string, len(e.Keys))
			for i, k := range e.Keys {
				ks[i] = quote(k)
			}
			out = append(out, strings.Join(ks, " . ")+" : jump "+e.Chain)
		}
	}
	return out
}

func priorityText(p int) string {
	switch p {
	case 0:
		return "filter"
	case -150:
		return "mangle"
	}
	return fmt.Sprint(p)
}

// Text renders the ruleset as an `nft -f` file that deletes and recreates
// the table in one transaction, as Apply does.
func (r *Ruleset) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", r.Table, r.Table)
	fmt.Fprintf(&b, "table inet %s {\n", r.Table)
	for _, c := range r.Counters {
		fmt.Fprintf(&b, "\tcounter %s {\n\t}\n", c)
	}
	// Chains are declared before the sets and rules that refer to them, as
	// nft resolves jumps while it reads.
	for _, c := range r.Chains {
		if c.Hook == HookNone {
			fmt.Fprintf(&b, "\tchain %s {\n\t}\n", c.Name)
		}
	}
	for _, s := range r.Sets {
		kw := "set"
		if s.Kind == VmapIfPair || s.Kind == VmapIf {
			kw = "map"
		}
		fmt.Fprintf(&b, "\t%s %s {\n\t\t%s\n", kw, s.Name, s.typeText())
		if els := s.elementsText(); len(els) > 0 {
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(els, ",\n\t\t\t     "))
		}
		b.WriteString("\t}\n")
	}
	for _, c := range r.Chains {
		fmt.Fprintf(&b, "\tchain %s {\n", c.Name)
		if c.Hook != HookNone {
			fmt.Fprintf(&b, "\t\ttype filter hook %s priority %s; policy %s;\n", c.Hook, priorityText(c.Priority), c.Policy)
		}
		for _, rule := range c.Rules {
			b.WriteString("\t\t" + rule.Text() + "\n")
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// Text renders one rule in nft syntax.
func (r Rule) Text() string {
	parts := make([]string, 0, len(r.Stmts)+1)
	for _, s := range r.Stmts {
		parts = append(parts, s.Text())
	}
	if r.Comment != "" {
		parts = append(parts, "comment "+quote(r.Comment))
	}
	return strings.Join(parts, " ")
}
