package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// BenchmarkApplyOneChange changes one policy on top of 10,000 policies:
// each iteration compiles and applies (through an Applier, so only the
// difference) the other of two configurations. "action" flips one policy's
// action in the middle; "insert" adds a policy at the top, which shifts
// every index below it.
func BenchmarkApplyOneChange(b *testing.B) {
	top := "set security policies from-zone trust to-zone untrust policy inserted match source-address any destination-address any application junos-ftp\n" +
		"set security policies from-zone trust to-zone untrust policy inserted then deny\n"
	base := bigConfig(10000, 1000, -1)
	for _, tc := range []struct{ name, a, b string }{
		{"action", base, bigConfig(10000, 1000, 5000)},
		{"insert", base, strings.Replace(base, "set security policies", top+"set security policies", 1)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l := newLab(b, 2)
			cfgs := []*config.Config{parseConfig(b, tc.a), parseConfig(b, tc.b)}
			ctx := context.Background()
			first, err := Compile(cfgs[0], Options{})
			if err != nil {
				b.Fatal(err)
			}
			a := NewApplier(l.conn())
			if err := a.Apply(ctx, first.Ruleset); err != nil {
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
		})
	}
}

// BenchmarkForwardThroughput measures TCP throughput (iperf3, 2 s runs)
// from trust to untrust through the router namespace with 1 and with
// 10,000 policies, alternating the two rulesets in the same namespaces so
// that load from elsewhere on the machine hits both alike. The flow matches
// only the last policy, so each new session walks all of them; established
// packets are accepted by the first rule.
func BenchmarkForwardThroughput(b *testing.B) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		b.Skip("needs iperf3")
	}
	l := newLab(b, 2)
	var rulesets []*Ruleset
	for _, n := range []int{1, 10000} {
		c, err := Compile(parseConfig(b, bigConfig(n, 1000, -1)), Options{})
		if err != nil {
			b.Fatal(err)
		}
		rulesets = append(rulesets, c.Ruleset)
	}
	srv := exec.Command("ip", "netns", "exec", l.hosts[1], "iperf3", "-s")
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	var sum [2]float64
	n := 0
	for b.Loop() {
		for i, rs := range rulesets {
			l.apply(rs)
			sum[i] += iperf(b, l.hosts[0], hostAddr(1))
		}
		n++
	}
	b.ReportMetric(sum[0]/float64(n)/1e6, "Mbit/s-1policy")
	b.ReportMetric(sum[1]/float64(n)/1e6, "Mbit/s-10000policies")
	b.ReportMetric(100*sum[1]/sum[0], "%-of-1policy")
}

// iperf runs a 2-second iperf3 client and returns the received bit rate.
func iperf(b *testing.B, ns, addr string) float64 {
	var out []byte
	var err error
	for try := 0; try < 20; try++ { // the server may not listen yet
		out, err = exec.Command("ip", "netns", "exec", ns, "iperf3", "-c", addr, "-t", "2", "-J").Output()
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		b.Fatalf("iperf3: %v\n%s", err, out)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatalf("iperf3 output: %v", err)
	}
	return res.End.SumReceived.BitsPerSecond
}
