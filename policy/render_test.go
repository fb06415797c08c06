package policy

import (
	"net/netip"
	"testing"
)

func seedCompiled(t *testing.T) *Compiled {
	t.Helper()
	c, err := Compile(parseConfig(t, readSeed(t, "srx1.set")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The expected texts are OUTPUTS.md's, with Palisade's policy indexes.
func TestRenderHitCounts(t *testing.T) {
	c := seedCompiled(t)
	got := RenderHitCounts(c.Policies, map[int]Hits{1: {Packets: 40}, 2: {Packets: 3}})
	want := `Logical system: root-logical-system
Index   From zone        To zone           Name           Policy count  Action
1       trust            untrust           VPN-OUT        40            Permit
2       trust            untrust           default-permit 3             Permit
3       untrust          trust             VPN-IN         0             Permit
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderPolicies(t *testing.T) {
	c := seedCompiled(t)
	got := RenderPolicies(c.Policies[:1], "deny-all")
	want := `Default policy: deny-all
From zone: trust, To zone: untrust
  Policy: VPN-OUT, State: enabled, Index: 1, Scope Policy: 0, Sequence number: 1
    Source addresses: Host1-Net
    Destination addresses: Host2-Net
    Applications: any
    Action: permit, tunnel
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	golden(t, "srx1.policies.txt", RenderPolicies(c.Policies, "deny-all"))
}

func TestRenderZones(t *testing.T) {
	cfg := parseConfig(t, readSeed(t, "srx1.set"))
	got := RenderZones(cfg.ZoneList())
	want := `Security zone: untrust
  Send reset for non-SYN session TCP packets: Off
  Policy configurable: Yes
  Interfaces bound: 1
  Interfaces:
    ge-0/0/1.0

Security zone: trust
  Send reset for non-SYN session TCP packets: Off
  Policy configurable: Yes
  Interfaces bound: 1
  Interfaces:
    ge-0/0/0.0
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderFlowSessions(t *testing.T) {
	c := seedCompiled(t)
	a := netip.MustParseAddr
	ss := []Session{{ID: 35, Mark: c.IDs[1].Mark, Proto: 1, Timeout: 58,
		In:        Tuple{Src: a("10.100.11.10"), Dst: a("10.100.22.10"), SrcPort: 7, DstPort: 3111},
		Out:       Tuple{Src: a("10.100.22.10"), Dst: a("10.100.11.10"), SrcPort: 3111, DstPort: 7},
		InPackets: 1, InBytes: 84, OutPackets: 1, OutBytes: 84}}
	AnnotateInterfaces(ss, func(x netip.Addr) string {
		if netip.MustParsePrefix("10.100.11.0/24").Contains(x) {
			return "ge-0/0/0.0"
		}
		return "ge-0/0/1.0"
	})
	got := RenderFlowSessions(ss, c)
	want := `Session ID: 35, Policy name: VPN-OUT/1, Timeout: 58, Valid
  In: 10.100.11.10/7 --> 10.100.22.10/3111;icmp, Conn Tag: 0x0, If: ge-0/0/0.0, Pkts: 1, Bytes: 84,
  Out: 10.100.22.10/3111 --> 10.100.11.10/7;icmp, Conn Tag: 0x0, If: ge-0/0/1.0, Pkts: 1, Bytes: 84,

Total sessions: 1
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
