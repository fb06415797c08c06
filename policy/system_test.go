package policy

import (
	"context"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/firmware/config"
	vnetlink "github.com/vishvananda/netlink"
)

// labConfig is three zones on three ports. trustToDMZ holds the two
// trust->dmz policies in the order under test.
func labConfig(trustToDMZ ...string) string {
	base := `
set interfaces ge-0/0/0 unit 0 family inet address 10.1.0.1/24
set interfaces ge-0/0/1 unit 0 family inet address 10.2.0.1/24
set interfaces ge-0/0/2 unit 0 family inet address 10.3.0.1/24
set security zones security-zone trust interfaces ge-0/0/0.0
set security zones security-zone trust host-inbound-traffic system-services all
set security zones security-zone untrust interfaces ge-0/0/1.0
set security zones security-zone untrust host-inbound-traffic system-services ping
set security zones security-zone dmz interfaces ge-0/0/2.0
set security zones security-zone dmz host-inbound-traffic system-services ssh
set applications application tcp-8080 protocol tcp destination-port 8080
set applications application udp-7000 protocol udp destination-port 7000
set applications application udp-9999 protocol udp destination-port 9999
set security address-book global address h1 10.2.0.2/32
set security address-book global address h1b 10.2.0.3/32
set security address-book global address-set web-servers address h1
set security address-book global address-set web-servers address h1b
set security policies from-zone trust to-zone untrust policy deny-ssh match source-address any destination-address any application junos-ssh
set security policies from-zone trust to-zone untrust policy deny-ssh then deny
set security policies from-zone trust to-zone untrust policy reject-telnet match source-address any destination-address any application junos-telnet
set security policies from-zone trust to-zone untrust policy reject-telnet then reject
set security policies from-zone trust to-zone untrust policy reject-udp match source-address any destination-address any application udp-9999
set security policies from-zone trust to-zone untrust policy reject-udp then reject
set security policies from-zone trust to-zone untrust policy permit-web match source-address any destination-address web-servers application tcp-8080
set security policies from-zone trust to-zone untrust policy permit-web then permit
set security policies from-zone trust to-zone untrust policy permit-web then count
set security policies from-zone trust to-zone untrust policy permit-web then log session-init
set security policies from-zone trust to-zone untrust policy permit-web then log session-close
set security policies from-zone trust to-zone untrust policy permit-udp match source-address any destination-address any application udp-7000
set security policies from-zone trust to-zone untrust policy permit-udp then permit
set security policies from-zone trust to-zone untrust policy permit-ping match source-address any destination-address any application junos-ping
set security policies from-zone trust to-zone untrust policy permit-ping then permit
set security flow tcp-mss all-tcp mss 1000
`
	dmz := map[string]string{
		"deny-web": `set security policies from-zone trust to-zone dmz policy deny-web match source-address any destination-address any application tcp-8080
set security policies from-zone trust to-zone dmz policy deny-web then deny
`,
		"allow-web": `set security policies from-zone trust to-zone dmz policy allow-web match source-address any destination-address any application tcp-8080
set security policies from-zone trust to-zone dmz policy allow-web then permit
`,
	}
	for _, p := range trustToDMZ {
		base += dmz[p]
	}
	return base
}

func compileLab(t testing.TB, text string) *Compiled {
	t.Helper()
	cfg := parseConfig(t, text)
	if errs := config.Errors(cfg.Validate()); len(errs) > 0 {
		t.Fatalf("lab config does not validate: %v", errs)
	}
	c, err := Compile(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompileLab(t *testing.T) {
	golden(t, "lab.nft", compileLab(t, labConfig("deny-web", "allow-web")).Ruleset.Text())
}

func TestSystemLab(t *testing.T) {
	l := newLab(t, 3)
	h0, h1, h2 := l.hosts[0], l.hosts[1], l.hosts[2]
	c := compileLab(t, labConfig("deny-web", "allow-web"))

	l.apply(c.Ruleset)
	first := l.listRuleset()
	l.apply(c.Ruleset)
	if second := l.listRuleset(); second != first {
		t.Errorf("second apply changed the ruleset:\nfirst:\n%s\nsecond:\n%s", first, second)
	}
	golden(t, "lab.kernel.nft", first)
	if err := inNS(l.router, func() error { return WriteSysctls("/proc/sys", ConntrackSysctls()) }); err != nil {
		t.Fatal(err)
	}

	tcpListen(t, h1, 8080)
	tcpListen(t, h0, 8080)
	tcpListen(t, h2, 8080)
	udpEcho(t, h1, 7000)
	udpEcho(t, h1, 9999)

	check := func(what string, got, want outcome) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %s, want %s", what, got, want)
		}
	}
	t.Run("verdicts", func(t *testing.T) {
		check("trust->untrust tcp 8080 (permit-web)", tcpProbe(h0, hostAddr(1), 8080), passed)
		check("trust->untrust tcp 22 (deny-ssh)", tcpProbe(h0, hostAddr(1), 22), dropped)
		check("trust->untrust tcp 23 (reject-telnet: RST)", tcpProbe(h0, hostAddr(1), 23), refused)
		check("trust->untrust udp 9999 (reject-udp: ICMP)", udpProbe(h0, hostAddr(1), 9999), refused)
		check("trust->untrust udp 7000 (permit-udp, reply is the session's)", udpProbe(h0, hostAddr(1), 7000), passed)
		check("trust->untrust ping (permit-ping)", pingProbe(h0, hostAddr(1)), passed)
		check("trust->untrust tcp 8081 (default deny)", tcpProbe(h0, hostAddr(1), 8081), dropped)
		check("untrust->trust ping (no policy)", pingProbe(h1, hostAddr(0)), dropped)
		check("untrust->trust tcp 8080 (no policy)", tcpProbe(h1, hostAddr(0), 8080), dropped)
		check("trust->dmz tcp 8080 (deny-web before allow-web)", tcpProbe(h0, hostAddr(2), 8080), dropped)
	})
	t.Run("host-inbound", func(t *testing.T) {
		// A refused TCP connection to the router means the packet passed the
		// input chain and found no listener.
		check("ping router from trust (all)", pingProbe(h0, routerAddr(0)), passed)
		check("ssh router from trust (all)", tcpProbe(h0, routerAddr(0), 22), refused)
		check("ping router from untrust (ping)", pingProbe(h1, routerAddr(1)), passed)
		check("ssh router from untrust (ping only)", tcpProbe(h1, routerAddr(1), 22), dropped)
		check("ping router from dmz (ssh only)", pingProbe(h2, routerAddr(2)), dropped)
		check("ssh router from dmz (ssh)", tcpProbe(h2, routerAddr(2), 22), refused)
	})
	t.Run("sessions-and-hits", func(t *testing.T) {
		ct, err := DialConntrack(int(l.fd))
		if err != nil {
			t.Fatal(err)
		}
		defer ct.Close()
		if err := ClearSessions(ct); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		before, err := HitCounts(ctx, l.conn(), c)
		if err != nil {
			t.Fatal(err)
		}
		web := policyIndex(t, c, "permit-web")
		events, err := DialConntrack(int(l.fd))
		if err != nil {
			t.Fatal(err)
		}
		defer events.Close()
		closed := make(chan string, 16)
		watchCtx, stopWatch := context.WithCancel(ctx)
		watchDone := make(chan error, 1)
		go func() {
			watchDone <- WatchClosedSessions(watchCtx, events, func(s Session) {
				if line, ok := SessionCloseLog(s, c); ok {
					closed <- line
				}
			}, func(err error) { t.Errorf("session watch skipped an event: %v", err) })
		}()
		defer func() {
			stopWatch()
			if err := <-watchDone; err != nil {
				t.Errorf("watching sessions: %v", err)
			}
		}()
		time.Sleep(50 * time.Millisecond) // let the watcher join the group
		check("trust->untrust tcp 8080", tcpProbe(h0, hostAddr(1), 8080), passed)
		check("trust->untrust tcp 8080 again", tcpProbe(h0, hostAddr(1), 8080), passed)
		check("trust->untrust udp 7000", udpProbe(h0, hostAddr(1), 7000), passed)
		after, err := HitCounts(ctx, l.conn(), c)
		if err != nil {
			t.Fatal(err)
		}
		if got := after[web].Packets - before[web].Packets; got != 2 {
			t.Errorf("permit-web hit count rose by %d, want 2 (one per session)", got)
		}
		sessions, err := Sessions(ct)
		if err != nil {
			t.Fatal(err)
		}
		var found int
		udpSeen := false
		for _, s := range sessions {
			if s.Proto == 17 && s.In.DstPort == 7000 {
				// Junos's 60 s for UDP, not Linux's 30 s (unreplied) or 120 s.
				udpSeen = true
				if s.Timeout <= 30 || s.Timeout > 60 {
					t.Errorf("udp session timeout %d, want in (30, 60]", s.Timeout)
				}
			}
			if s.Mark == c.IDs[web].Mark && s.Proto == 6 && s.In.DstPort == 8080 && s.In.Dst.String() == hostAddr(1) {
				found++
				if s.InPackets == 0 || s.OutPackets == 0 {
					t.Errorf("session %d has no packet counts (accounting on?): %+v", s.ID, s)
				}
			}
		}
		if err := ClearHitCounts(ctx, l.conn(), c.Ruleset.Table); err != nil {
			t.Fatal(err)
		}
		if cleared, err := HitCounts(ctx, l.conn(), c); err != nil || cleared[web].Packets != 0 {
			t.Errorf("after clear: permit-web count %d, %v", cleared[web].Packets, err)
		}
		if !udpSeen {
			t.Error("no udp 7000 session listed")
		}
		if found != 2 {
			t.Errorf("found %d sessions marked with permit-web, want 2; sessions: %+v", found, sessions)
		}
		h, err := vnetlink.NewHandleAt(l.fd)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		// What `show security flow session` shows comes from here: the
		// policy by the session's mark, the interfaces by the routes.
		ifOf := RouteInterfaces(h, nil)
		listed := 0
		for _, s := range sessions {
			p, ok := c.PolicyByMark(s.Mark)
			if !ok || p.Name != "permit-web" {
				continue
			}
			listed++
			if in, out := ifOf(s.In.Src), ifOf(s.In.Dst); in != "ge-0/0/0.0" || out != "ge-0/0/1.0" {
				t.Errorf("session %d: interfaces %q -> %q, want ge-0/0/0.0 -> ge-0/0/1.0", s.ID, in, out)
			}
		}
		if listed != 2 {
			t.Errorf("%d sessions name policy permit-web, want 2", listed)
		}
		if err := ClearSessions(ct); err != nil {
			t.Fatal(err)
		}
		sessions, err = Sessions(ct)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sessions {
			if s.Mark == c.IDs[web].Mark {
				t.Errorf("session %d survived clear", s.ID)
			}
		}
		for i := 0; i < 2; i++ {
			select {
			case line := <-closed:
				if !strings.Contains(line, "policy permit-web/") {
					t.Errorf("session-close log line: %s", line)
				}
				t.Logf("session-close: %s", line)
			case <-time.After(5 * time.Second):
				t.Fatalf("got %d session-close lines for permit-web, want 2", i)
			}
		}
	})
	t.Run("mss", func(t *testing.T) {
		if _, err := exec.LookPath("tcpdump"); err != nil {
			t.Skip("needs tcpdump")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", h1, "tcpdump", "-l", "-nn", "-v", "-c", "1", "-i", "eth0",
			"tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0 and dst port 8080")
		stderr, _ := cmd.StderrPipe()
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		for !strings.Contains(string(buf), "listening on") { // tcpdump is ready
			if _, err := stderr.Read(buf); err != nil {
				t.Fatalf("tcpdump: %v", err)
			}
		}
		check("trust->untrust tcp 8080", tcpProbe(h0, hostAddr(1), 8080), passed)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("tcpdump: %v; output %s", err, out.String())
		}
		m := regexp.MustCompile(`mss (\d+)`).FindStringSubmatch(out.String())
		if m == nil || m[1] != "1000" {
			t.Errorf("captured SYN does not carry mss 1000:\n%s", out.String())
		}
	})
	t.Run("first-match", func(t *testing.T) {
		check("trust->dmz tcp 8080 (deny-web first)", tcpProbe(h0, hostAddr(2), 8080), dropped)
		l.apply(compileLab(t, labConfig("allow-web", "deny-web")).Ruleset)
		check("trust->dmz tcp 8080 (allow-web first)", tcpProbe(h0, hostAddr(2), 8080), passed)
	})
}

func policyIndex(t testing.TB, c *Compiled, name string) int {
	t.Helper()
	for _, p := range c.Policies {
		if p.Name == name {
			return p.Index
		}
	}
	t.Fatalf("no policy %s", name)
	return 0
}

// TestSystemApplierDiff checks that an incremental apply leaves the same
// kernel ruleset as a full one, and that a repeated apply changes nothing.
func TestSystemApplierDiff(t *testing.T) {
	l := newLab(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Someone else's table must survive every apply.
	run(t, "ip", "netns", "exec", l.router, "nft", "add table inet other; add chain inet other c; add rule inet other c counter")
	a := NewApplier(l.conn())
	before := compileLab(t, labConfig("deny-web", "allow-web")).Ruleset
	after := compileLab(t, labConfig("allow-web", "deny-web")+
		"set security policies from-zone untrust to-zone trust policy back match source-address any destination-address any application junos-ping\n"+
		"set security policies from-zone untrust to-zone trust policy back then permit\n").Ruleset
	for _, r := range []*Ruleset{before, after, after} {
		if err := a.Apply(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	incremental := l.listRuleset()
	if err := Apply(ctx, l.conn(), after); err != nil {
		t.Fatal(err)
	}
	// A chain added later is listed later; compare the blocks as a set.
	if full := l.listRuleset(); sortedBlocks(full) != sortedBlocks(incremental) {
		t.Errorf("incremental apply differs from a full one:\nincremental:\n%s\nfull:\n%s", incremental, full)
	}
	if err := Delete(ctx, l.conn(), after.Table); err != nil {
		t.Fatal(err)
	}
	if got := l.listRuleset(); strings.Contains(got, "palisade") || !strings.Contains(got, "table inet other") {
		t.Errorf("after Delete, want table other and no table palisade:\n%s", got)
	}
}

// sortedBlocks sorts the blank-line separated blocks of an nft listing.
func sortedBlocks(listing string) string {
	blocks := strings.Split(strings.TrimSuffix(listing, "}\n"), "\n\n")
	for i := range blocks {
		blocks[i] = strings.TrimSpace(blocks[i])
	}
	slices.Sort(blocks)
	return strings.Join(blocks, "\n\n")
}

// TestSystemTextMatchesApply loads each golden ruleset twice, once with
// `nft -f` from Text and once with Apply, and compares the kernel's
// listings: the two renderings of one intent must mean the same.
func TestSystemTextMatchesApply(t *testing.T) {
	requireRoot(t)
	for _, name := range []string{"srx1", "srx2", "lab", "misc"} {
		t.Run(name, func(t *testing.T) {
			var text string
			switch name {
			case "lab":
				text = labConfig("deny-web", "allow-web")
			case "misc":
				text = miscConfig
			default:
				text = readSeed(t, name+".set")
			}
			rs := compileText(t, text).Ruleset
			viaText := newNS(t).Name
			cmd := exec.Command("ip", "netns", "exec", viaText, "nft", "-f", "-")
			cmd.Stdin = strings.NewReader(rs.Text())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nft -f: %v\n%s", err, out)
			}
			r := newNS(t)
			l := &lab{t: t, router: r.Name, fd: r.NsHandle}
			l.apply(rs)
			got, want := l.listRuleset(), run(t, "ip", "netns", "exec", viaText, "nft", "--numeric", "list", "ruleset")
			if sortedBlocks(got) != sortedBlocks(want) {
				t.Errorf("Apply and nft -f differ:\nApply:\n%s\nnft -f:\n%s", got, want)
			}
		})
	}
}

// TestSystemGlobalAndZoneless: with default-policy permit-all, a global
// policy still denies what it matches, and an interface in no zone passes
// nothing, as on an SRX.
func TestSystemGlobalAndZoneless(t *testing.T) {
	l := newLab(t, 3)
	text := `
set interfaces ge-0/0/0 unit 0 family inet address 10.1.0.1/24
set interfaces ge-0/0/1 unit 0 family inet address 10.2.0.1/24
set interfaces ge-0/0/2 unit 0 family inet address 10.3.0.1/24
set security zones security-zone trust interfaces ge-0/0/0.0
set security zones security-zone untrust interfaces ge-0/0/1.0
set applications application tcp-8081 protocol tcp destination-port 8081
set security policies global policy no-8081 match source-address any destination-address any application tcp-8081
set security policies global policy no-8081 match from-zone trust
set security policies global policy no-8081 then reject
set security policies default-policy permit-all
`
	l.apply(compileLab(t, text).Ruleset)
	tcpListen(t, l.hosts[1], 8080)
	tcpListen(t, l.hosts[1], 8081)
	tcpListen(t, l.hosts[2], 8080)
	for _, tc := range []struct {
		what      string
		got, want outcome
	}{
		{"trust->untrust tcp 8080 (permit-all)", tcpProbe(l.hosts[0], hostAddr(1), 8080), passed},
		{"trust->untrust tcp 8081 (global reject)", tcpProbe(l.hosts[0], hostAddr(1), 8081), refused},
		{"trust->zoneless tcp 8080", tcpProbe(l.hosts[0], hostAddr(2), 8080), dropped},
		{"zoneless->trust ping", pingProbe(l.hosts[2], hostAddr(0)), dropped},
		{"zoneless->router ping", pingProbe(l.hosts[2], routerAddr(2)), dropped},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.what, tc.got, tc.want)
		}
	}
}
