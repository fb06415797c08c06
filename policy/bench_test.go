package policy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade/palisade/firmware/config"
)

// bigConfig is nPolicies trust->untrust policies over nAddrs addresses in
// the global book; every tenth policy uses a five-address set, so the
// ruleset has interval sets as well as single prefixes. The last policy
// permits everything, so benchmarks and throughput tests see the walk.
func bigConfig(nPolicies, nAddrs int, flip int) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("set interfaces ge-0/0/0 unit 0 family inet address 10.1.0.1/24")
	w("set interfaces ge-0/0/1 unit 0 family inet address 10.2.0.1/24")
	w("set security zones security-zone trust interfaces ge-0/0/0.0")
	w("set security zones security-zone trust host-inbound-traffic system-services all")
	w("set security zones security-zone untrust interfaces ge-0/0/1.0")
	for i := 0; i < nAddrs; i++ {
		w("set security address-book global address a%d 172.%d.%d.0/24", i, 16+i/256, i%256)
	}
	for i := 0; i < nAddrs/5; i++ {
		for j := 0; j < 5; j++ {
			w("set security address-book global address-set s%d address a%d", i, (i*5+j*3)%nAddrs)
		}
	}
	apps := []string{"junos-http", "junos-https", "junos-ssh", "junos-dns-udp", "junos-ping"}
	for i := 0; i < nPolicies-1; i++ {
		p := fmt.Sprintf("set security policies from-zone trust to-zone untrust policy p%d", i)
		src := fmt.Sprintf("a%d", i%nAddrs)
		if i%10 == 0 {
			src = fmt.Sprintf("s%d", (i/10)%(nAddrs/5))
		}
		w("%s match source-address %s destination-address a%d application %s", p, src, (i*7)%nAddrs, apps[i%len(apps)])
		action := []string{"permit", "deny"}[i%2]
		if i == flip {
			action = "reject"
		}
		w("%s then %s", p, action)
	}
	w("set security policies from-zone trust to-zone untrust policy last match source-address any destination-address any application any")
	w("set security policies from-zone trust to-zone untrust policy last then permit")
	return b.String()
}

func compileBig(tb testing.TB, flip int) *Compiled {
	tb.Helper()
	c, err := Compile(parseConfig(tb, bigConfig(10000, 1000, flip)), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func BenchmarkCompile10k(b *testing.B) {
	cfg := parseConfig(b, bigConfig(10000, 1000, -1))
	for b.Loop() {
		if _, err := Compile(cfg, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply10k loads 10,000 policies over 1,000 addresses with Apply.
func BenchmarkApply10k(b *testing.B) {
	l := newLab(b, 2)
	rs := compileBig(b, -1).Ruleset
	ctx := context.Background()
	for b.Loop() {
		if err := Apply(ctx, l.conn(), rs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNftF10k loads the same ruleset's text with `nft -f` (the time
// includes starting nft through `ip netns exec`, a few milliseconds).
func BenchmarkNftF10k(b *testing.B) {
	l := newLab(b, 2)
	path := filepath.Join(b.TempDir(), "big.nft")
	if err := os.WriteFile(path, []byte(compileBig(b, -1).Ruleset.Text()), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if out, err := exec.Command("ip", "netns", "exec", l.router, "nft", "-f", path).CombinedOutput(); err != nil {
			b.Fatalf("nft -f: %v\n%s", err, out)
		}
	}
}

// BenchmarkApplyOneChange changes one policy's action on top of 10,000
// policies: each iteration compiles and applies the other of two
// configurations that differ in that one policy.
func BenchmarkApplyOneChange(b *testing.B) {
	l := newLab(b, 2)
	cfgs := []*config.Config{parseConfig(b, bigConfig(10000, 1000, -1)), parseConfig(b, bigConfig(10000, 1000, 5000))}
	ctx := context.Background()
	base, err := Compile(cfgs[0], Options{})
	if err != nil {
		b.Fatal(err)
	}
	a := NewApplier(l.conn())
	if err := a.Apply(ctx, base.Ruleset); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		c, err := Compile(cfgs[i%2], Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Apply(ctx, c.Ruleset); err != nil {
			b.Fatal(err)
		}
	}
}
