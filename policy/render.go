package policy

import (
	"cmp"
	"fmt"
	"net/netip"
	"strings"

	"github.com/palisade/palisade/firmware/config"
)

// The render functions produce the SRX layouts of ../shared/seed/OUTPUTS.md
// from plain data, so that the CLI only gathers data and prints.

// pad left-aligns s in a column of width w, keeping at least one space
// after a value that fills the column, as Junos does.
func pad(s string, w int) string {
	if len(s) >= w {
		return s + " "
	}
	return s + strings.Repeat(" ", w-len(s))
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func zonesOf(p config.ResolvedPolicy) (from, to string) {
	if p.Global {
		return "any", "any"
	}
	return p.From, p.To
}

// RenderHitCounts renders `show security policies hit-count`: one row per
// policy in configuration order, numbered from 1, with its counter.
func RenderHitCounts(pols []config.ResolvedPolicy, hits map[int]Hits) string {
	var b strings.Builder
	b.WriteString("Logical system: root-logical-system\n")
	b.WriteString("Index   From zone        To zone           Name           Policy count  Action\n")
	for i, p := range pols {
		from, to := zonesOf(p)
		fmt.Fprintf(&b, "%s%s%s%s%s%s\n", pad(fmt.Sprint(i+1), 8), pad(from, 17), pad(to, 18), pad(p.Name, 15),
			pad(fmt.Sprint(hits[p.Index].Packets), 14), title(p.Action))
	}
	return b.String()
}

// RenderPolicies renders `show security policies`. defaultPolicy is
// "deny-all" or "permit-all".
func RenderPolicies(pols []config.ResolvedPolicy, defaultPolicy string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Default policy: %s\n", cmp.Or(defaultPolicy, config.DefaultPolicyAction))
	var ctx string
	for _, p := range pols {
		head := fmt.Sprintf("From zone: %s, To zone: %s\n", p.From, p.To)
		if p.Global {
			head = "Global policies:\n"
		}
		if head != ctx {
			b.WriteString(head)
			ctx = head
		}
		fmt.Fprintf(&b, "  Policy: %s, State: enabled, Index: %d, Scope Policy: 0, Sequence number: %d\n", p.Name, p.Index, p.Sequence)
		if p.Global {
			fmt.Fprintf(&b, "    From zones: %s\n", listOrAny(p.FromZones))
			fmt.Fprintf(&b, "    To zones: %s\n", listOrAny(p.ToZones))
		}
		fmt.Fprintf(&b, "    Source addresses: %s\n", strings.Join(p.SrcNames, ", "))
		fmt.Fprintf(&b, "    Destination addresses: %s\n", strings.Join(p.DstNames, ", "))
		fmt.Fprintf(&b, "    Applications: %s\n", strings.Join(p.AppNames, ", "))
		action := p.Action
		if p.VPN != "" {
			action += ", tunnel"
		}
		if p.Count {
			action += ", count"
		}
		if p.LogInit || p.LogClose {
			action += ", log"
		}
		fmt.Fprintf(&b, "    Action: %s\n", action)
	}
	return b.String()
}

func listOrAny(l []string) string {
	if len(l) == 0 {
		return "any"
	}
	return strings.Join(l, ", ")
}

// DefaultPolicy returns the configured default policy name.
func DefaultPolicy(cfg *config.Config) string {
	if s := cfg.Security; s != nil && s.Policies != nil && s.Policies.DefaultPolicy != nil && s.Policies.DefaultPolicy.PermitAll {
		return "permit-all"
	}
	return "deny-all"
}

// RenderZones renders `show security zones`.
func RenderZones(zones []config.Zone) string {
	var b strings.Builder
	for i, z := range zones {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Security zone: %s\n", z.Name)
		b.WriteString("  Send reset for non-SYN session TCP packets: Off\n")
		b.WriteString("  Policy configurable: Yes\n")
		fmt.Fprintf(&b, "  Interfaces bound: %d\n", len(z.Interfaces))
		b.WriteString("  Interfaces:\n")
		for _, ifc := range z.Interfaces {
			fmt.Fprintf(&b, "    %s\n", ifc.Name)
		}
	}
	return b.String()
}

// ProtocolName is how an SRX names a session's protocol.
func ProtocolName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "icmp6"
	case 50:
		return "esp"
	}
	return fmt.Sprint(p)
}

// RenderFlowSessions renders `show security flow session`. A session whose
// mark names no policy is the router's own (Junos: self-traffic-policy).
func RenderFlowSessions(ss []Session, c *Compiled) string {
	var b strings.Builder
	for _, s := range ss {
		name := "self-traffic-policy/0"
		if p, ok := c.PolicyByMark(s.Mark); ok {
			name = fmt.Sprintf("%s/%d", p.Name, p.Index)
		}
		fmt.Fprintf(&b, "Session ID: %d, Policy name: %s, Timeout: %d, Valid\n", s.ID, name, s.Timeout)
		line := func(dir string, t Tuple, ifc string, pkts, bytes uint64) {
			fmt.Fprintf(&b, "  %s: %s/%d --> %s/%d;%s, Conn Tag: 0x0, If: %s, Pkts: %d, Bytes: %d,\n",
				dir, t.Src, t.SrcPort, t.Dst, t.DstPort, ProtocolName(s.Proto), cmp.Or(ifc, "-"), pkts, bytes)
		}
		line("In", s.In, s.InInterface, s.InPackets, s.InBytes)
		line("Out", s.Out, s.OutInterface, s.OutPackets, s.OutBytes)
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Total sessions: %d\n", len(ss))
	return b.String()
}

// AnnotateInterfaces fills in the sessions' interfaces: In is where the
// initiator lives, Out where its destination does. ifOf maps an address
// to the Junos unit that routes to it (the CLI asks the routing table);
// an empty answer leaves the field empty.
func AnnotateInterfaces(ss []Session, ifOf func(netip.Addr) string) {
	for i := range ss {
		ss[i].InInterface = ifOf(ss[i].In.Src)
		ss[i].OutInterface = ifOf(ss[i].In.Dst)
	}
}
