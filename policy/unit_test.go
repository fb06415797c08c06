package policy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
)

func TestKernelName(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"ge-0/0/1.0", "ge-0-0-1", ""},
		{"ge-0/0/1", "ge-0-0-1", ""},
		{"ge-0/0/1.5", "", "only unit 0"},
		{"ge-100/100/100000.0", "", "longer than 15"},
	} {
		got, err := KernelName(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("KernelName(%q) = %q, %v; want %q, error containing %q", tc.in, got, err, tc.want, tc.err)
		}
	}
	m := MapKernelNames(map[string]string{"ge-0/0/0.0": "veth7"})
	if got, err := m("ge-0/0/0.0"); got != "veth7" || err != nil {
		t.Errorf("MapKernelNames: got %q, %v", got, err)
	}
	if _, err := m("ge-0/0/1.0"); err == nil {
		t.Error("MapKernelNames: unmapped unit gave no error")
	}
}

func TestMergePrefixes(t *testing.T) {
	p := netip.MustParsePrefix
	got := mergePrefixes([]netip.Prefix{p("10.1.2.0/24"), p("10.0.0.0/8"), p("192.168.1.1/32"), p("10.1.0.0/16"), p("192.168.1.0/31")})
	want := []netip.Prefix{p("10.0.0.0/8"), p("192.168.1.0/31")}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestIntervalElems(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"10.1.0.0/16", []string{"10.1.0.0", "10.2.0.0 end"}},
		{"10.1.0.7/32", []string{"10.1.0.7", "10.1.0.8 end"}},
		{"255.255.255.0/24", []string{"255.255.255.0"}},
		{"2001:db8::/32", []string{"2001:db8::", "2001:db9:: end"}},
	} {
		var got []string
		for _, e := range intervalElems(netip.MustParsePrefix(tc.in)) {
			a, _ := netip.AddrFromSlice(e.Key)
			s := a.String()
			if e.IntervalEnd {
				s += " end"
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("intervalElems(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

const twoZones = `
set interfaces ge-0/0/0 unit 0 family inet address 10.1.0.1/24
set interfaces ge-0/0/1 unit 0 family inet address 10.2.0.1/24
set security zones security-zone trust interfaces ge-0/0/0.0
set security zones security-zone untrust interfaces ge-0/0/1.0
`

func policyLines(from, to, name, src, dst, app, action string) string {
	p := fmt.Sprintf("set security policies from-zone %s to-zone %s policy %s ", from, to, name)
	return p + "match source-address " + src + "\n" + p + "match destination-address " + dst + "\n" +
		p + "match application " + app + "\n" + p + "then " + action + "\n"
}

// chainRules returns the rule texts of a chain without comments.
func chainRules(t *testing.T, r *Ruleset, name string) []string {
	t.Helper()
	for _, c := range r.Chains {
		if c.Name == name {
			var out []string
			for _, rule := range c.Rules {
				rule.Comment = ""
				out = append(out, rule.Text())
			}
			return out
		}
	}
	t.Fatalf("no chain %s", name)
	return nil
}

func compileText(t *testing.T, text string) *Compiled {
	t.Helper()
	c, err := Compile(parseConfig(t, text), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFirstMatchOrder(t *testing.T) {
	a := policyLines("trust", "untrust", "A", "any", "any", "junos-http", "deny")
	b := policyLines("trust", "untrust", "B", "any", "any", "junos-http", "permit")
	ab := chainRules(t, compileText(t, twoZones+a+b).Ruleset, "pair_1")
	ba := chainRules(t, compileText(t, twoZones+b+a).Ruleset, "pair_1")
	if !strings.HasSuffix(ab[0], "drop") || !strings.HasSuffix(ab[1], "accept") {
		t.Errorf("A before B: rules %q", ab)
	}
	if !strings.HasSuffix(ba[0], "accept") || !strings.HasSuffix(ba[1], "drop") {
		t.Errorf("B before A: rules %q", ba)
	}
}

func TestReject(t *testing.T) {
	text := twoZones +
		policyLines("trust", "untrust", "r-any", "any", "any", "any", "reject") +
		policyLines("trust", "untrust", "r-tcp", "any", "any", "junos-http", "reject") +
		policyLines("trust", "untrust", "r-udp", "any", "any", "junos-dns-udp", "reject")
	c := compileText(t, text)
	got := chainRules(t, c.Ruleset, "pair_1")
	want := []string{
		`meta l4proto tcp counter name "` + c.IDs[1].Counter + `" reject with tcp reset`,
		`counter name "` + c.IDs[1].Counter + `" reject with icmpx admin-prohibited`,
		`meta l4proto tcp th dport 80 counter name "` + c.IDs[2].Counter + `" reject with tcp reset`,
		`meta l4proto udp th dport 53 counter name "` + c.IDs[3].Counter + `" reject with icmpx admin-prohibited`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSeedTunnelRules(t *testing.T) {
	c := compileText(t, readSeed(t, "srx1.set"))
	out := chainRules(t, c.Ruleset, "pair_1")
	want := []string{
		fmt.Sprintf(`ip saddr 10.100.11.0/24 ip daddr 10.100.22.0/24 rt ipsec exists counter name "%s" ct mark set 0x%08x accept`, c.IDs[1].Counter, c.IDs[1].Mark),
		`ip saddr 10.100.11.0/24 ip daddr 10.100.22.0/24 drop`,
		fmt.Sprintf(`counter name "%s" ct mark set 0x%08x accept`, c.IDs[2].Counter, c.IDs[2].Mark),
	}
	if !slices.Equal(out, want) {
		t.Errorf("trust->untrust:\n%s\nwant:\n%s", strings.Join(out, "\n"), strings.Join(want, "\n"))
	}
	in := chainRules(t, c.Ruleset, "pair_2")
	if len(in) != 2 || !strings.Contains(in[0], "meta ipsec exists") || !strings.HasSuffix(in[1], "drop") {
		t.Errorf("untrust->trust: %q", in)
	}
	mss := chainRules(t, c.Ruleset, "mss")
	wantMSS := []string{
		"meta l4proto tcp tcp flags & (syn | rst) == syn rt ipsec exists tcp option maxseg size > 1350 tcp option maxseg size set 1350",
		"meta l4proto tcp tcp flags & (syn | rst) == syn meta ipsec exists tcp option maxseg size > 1350 tcp option maxseg size set 1350",
	}
	if !slices.Equal(mss, wantMSS) {
		t.Errorf("mss chain:\n%s\nwant:\n%s", strings.Join(mss, "\n"), strings.Join(wantMSS, "\n"))
	}
}

func TestTunnelSelectors(t *testing.T) {
	for _, tc := range []struct{ seed, local, remote string }{
		{"srx1.set", "10.100.11.0/24", "10.100.22.0/24"},
		{"srx2.set", "10.100.22.0/24", "10.100.11.0/24"},
	} {
		c := compileText(t, readSeed(t, tc.seed))
		want := []TunnelSelector{{VPN: c.Tunnels[0].VPN, Policies: []string{"VPN-OUT", "VPN-IN"},
			Local: netip.MustParsePrefix(tc.local), Remote: netip.MustParsePrefix(tc.remote),
			LocalPorts: [2]uint16{0, 65535}, RemotePorts: [2]uint16{0, 65535}}}
		if fmt.Sprint(c.Tunnels) != fmt.Sprint(want) {
			t.Errorf("%s: got %+v, want %+v", tc.seed, c.Tunnels, want)
		}
	}
}

func TestHostInbound(t *testing.T) {
	text := twoZones + `
set security zones security-zone trust host-inbound-traffic system-services all
set security zones security-zone trust host-inbound-traffic system-services ssh except
set security zones security-zone untrust host-inbound-traffic system-services ike
set security zones security-zone untrust host-inbound-traffic protocols ospf
`
	r := compileText(t, text).Ruleset
	trust := chainRules(t, r, "host_1")
	if slices.ContainsFunc(trust, func(s string) bool { return strings.Contains(s, "dport 22 ") }) || len(trust) < 10 {
		t.Errorf("all except ssh: %q", trust)
	}
	untrust := chainRules(t, r, "host_2")
	want := []string{
		"meta l4proto udp th dport 500 accept",
		"meta l4proto udp th dport 4500 accept",
		"meta l4proto esp accept",
		"meta l4proto ospf accept",
	}
	if !slices.Equal(untrust, want) {
		t.Errorf("ike + ospf: %q, want %q", untrust, want)
	}
}

var miscConfig = twoZones + `
set security address-book global address v6net 2001:db8:1::/48
set security address-book global address v4net 10.9.0.0/16
set security address-book global address-set mixed address v6net
set security address-book global address-set mixed address v4net
set applications application-set web application junos-http
set applications application-set web application junos-https
set security policies default-policy permit-all
` + policyLines("trust", "untrust", "mixed-web", "mixed", "any", "web", "permit") +
	"set security policies from-zone trust to-zone untrust policy mixed-web then log session-init\n" +
	`set security policies global policy g1 match source-address any destination-address v4net application junos-ssh
set security policies global policy g1 match from-zone untrust
set security policies global policy g1 then deny
`

// TestMisc covers global policies, default permit-all, IPv6 and address
// sets, multi-term applications and log, in one golden ruleset.
func TestMisc(t *testing.T) {
	golden(t, "misc.nft", compileText(t, miscConfig).Ruleset.Text())
}

func TestBlocks(t *testing.T) {
	text := twoZones
	for i := 0; i < 1000; i++ {
		text += policyLines("trust", "untrust", fmt.Sprintf("p%d", i), "any", "any", "junos-http", "deny")
	}
	r := compileText(t, text).Ruleset
	top := chainRules(t, r, "pair_1")
	total := 0
	for _, j := range top {
		b, ok := strings.CutPrefix(j, "jump ")
		if !ok {
			t.Fatalf("pair chain rule %q is not a jump", j)
		}
		n := len(chainRules(t, r, b))
		if n > maxBlockPolicies {
			t.Errorf("block %s has %d rules", b, n)
		}
		total += n
	}
	if total != 1000 || len(top) < 2 {
		t.Errorf("%d blocks hold %d rules, want 1000", len(top), total)
	}
	// Inserting a policy at the top changes one block and the jump list.
	ins := policyLines("trust", "untrust", "new", "any", "any", "junos-ssh", "deny")
	r2 := compileText(t, twoZones+ins+strings.TrimPrefix(text, twoZones)).Ruleset
	old := map[string]string{}
	for _, c := range r.Chains {
		old[c.Name] = chainKey(c)
	}
	changed := 0
	for _, c := range r2.Chains {
		if old[c.Name] != chainKey(c) {
			changed++
		}
	}
	if changed > 2 {
		t.Errorf("inserting one policy changed %d chains, want at most 2", changed)
	}
}

func TestStmtExprs(t *testing.T) {
	// rt ipsec exists: NFT_RT_XFRM into reg 1, compared with 1.
	ex := IPsecOut{}.exprs(nil)
	if rt, ok := ex[0].(*expr.Rt); !ok || rt.Key != 4 {
		t.Errorf("IPsecOut: %#v", ex[0])
	}
	ex = IPsecIn{}.exprs(nil)
	if m, ok := ex[0].(*expr.Meta); !ok || m.Key != 0x19 {
		t.Errorf("IPsecIn: %#v", ex[0])
	}
	// ip saddr 10.1.0.0/16: nfproto, payload @12 len 4, mask ffff0000, cmp.
	ex = Addr{Dir: Src, Prefix: netip.MustParsePrefix("10.1.0.0/16")}.exprs(nil)
	pl := ex[2].(*expr.Payload)
	bw := ex[3].(*expr.Bitwise)
	cmp := ex[4].(*expr.Cmp)
	if pl.Offset != 12 || pl.Len != 4 || string(bw.Mask) != "\xff\xff\x00\x00" || string(cmp.Data) != "\x0a\x01\x00\x00" {
		t.Errorf("Addr exprs: %#v %#v %#v", pl, bw, cmp)
	}
	// ip6 daddr: offset 24, 16 bytes.
	ex = Addr{Dir: Dst, Prefix: netip.MustParsePrefix("2001:db8::1/128")}.exprs(nil)
	if pl := ex[2].(*expr.Payload); pl.Offset != 24 || pl.Len != 16 || len(ex) != 4 {
		t.Errorf("ip6 daddr exprs: %#v", ex)
	}
}

func TestInactivityTimeoutRefused(t *testing.T) {
	text := twoZones + "set applications application slow protocol tcp destination-port 8000 inactivity-timeout 7200\n" +
		policyLines("trust", "untrust", "p", "any", "any", "slow", "permit")
	_, err := Compile(parseConfig(t, text), Options{})
	if err == nil || !strings.Contains(err.Error(), "match application slow: inactivity-timeout is not implemented") {
		t.Errorf("got %v", err)
	}
}

// TestApplyTimeout: when the kernel never answers (nf_tables not loaded
// but nfnetlink is), Apply returns at the deadline instead of hanging.
func TestApplyTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block) // lets the abandoned Flush finish
	c, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		<-block
		return nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = Apply(ctx, c, compileText(t, readSeed(t, "srx1.set")).Ruleset)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
}

func TestPolicyIDsFollowNames(t *testing.T) {
	a := policyLines("trust", "untrust", "A", "any", "any", "junos-http", "deny")
	b := policyLines("trust", "untrust", "B", "any", "any", "junos-http", "permit")
	ab, ba := compileText(t, twoZones+a+b), compileText(t, twoZones+b+a)
	if ab.IDs[1] != ba.IDs[2] || ab.IDs[2] != ba.IDs[1] || ab.IDs[1].Mark == 0 {
		t.Errorf("IDs do not follow policy names: %v vs %v", ab.IDs, ba.IDs)
	}
	if p, ok := ab.PolicyByMark(ab.IDs[2].Mark); !ok || p.Name != "B" {
		t.Errorf("PolicyByMark: %v %v", p.Name, ok)
	}
	if _, ok := ab.PolicyByMark(0); ok {
		t.Error("mark 0 names a policy")
	}
}

func TestJunosName(t *testing.T) {
	for in, want := range map[string]string{"ge-0-0-1": "ge-0/0/1.0", "lo": "lo", "ge-x": "ge-x"} {
		if got := JunosName(in); got != want {
			t.Errorf("JunosName(%q) = %q, want %q", in, got, want)
		}
		if k, err := KernelName(JunosName("ge-0-0-1")); err != nil || k != "ge-0-0-1" {
			t.Errorf("KernelName(JunosName) = %q, %v", k, err)
		}
	}
}
