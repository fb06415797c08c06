package seedlab

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Result is the verdict of one check, with what it is based on.
type Result struct {
	ID, Name string
	Pass     bool
	// Summary says in one line why the check passed or failed.
	Summary string
	// Evidence is the console transcripts, command and capture output the verdict is based on, as a
	// person would have seen them.
	Evidence string
	Took     time.Duration
}

func (r Result) String() string {
	v := "FAIL"
	if r.Pass {
		v = "PASS"
	}
	return fmt.Sprintf("%s check %s (%s): %s", v, r.ID, r.Name, r.Summary)
}

// Check is one of the Verification steps of the example (LAB.md numbers them 1 to 7; the ping and the
// look at the wire of step 3 are separate checks here).
type Check struct {
	ID, Name string
	Run      func(ctx context.Context, l *Lab) Result
}

// Checks returns the lab's checks in the order of the example's Verification section. Each leaves the
// lab as it found it (the reordering of check 7 is never committed).
func Checks() []Check {
	return []Check{
		{"1", "IKE SA UP in its mode (Main for the seed), remote = the other router, on both", checkIKE},
		{"2", "IPsec SA pair with the policy's proxy-id, on both", checkIPsec},
		{"3a", "ping host1 -> host2", checkPing},
		{"3b", "host1 <-> host2 seen on inet only as ESP", checkESPOnly},
		{"4", "ipsec statistics go up with the ping; clear resets them", checkStatistics},
		{"5", "host1 -> 172.16.13.2 matches default-permit and leaves in clear", checkDefaultPermit},
		{"6", "a SYN from host1 arrives at host2 with MSS 1350", checkMSS},
		{"7", "default-permit above VPN-OUT: commit check warns", checkShadowWarning},
	}
}

// RunChecks runs every check in turn.
func (l *Lab) RunChecks(ctx context.Context) []Result {
	var rs []Result
	for _, c := range Checks() {
		start := time.Now()
		r := c.Run(ctx, l)
		r.ID, r.Name, r.Took = c.ID, c.Name, time.Since(start)
		rs = append(rs, r)
	}
	return rs
}

// evidence collects what a check saw.
type evidence struct{ strings.Builder }

func (e *evidence) add(format string, a ...any) {
	fmt.Fprintf(e, format, a...)
	if s := e.String(); s != "" && !strings.HasSuffix(s, "\n") {
		e.WriteByte('\n')
	}
}

func (e *evidence) transcript(ctx context.Context, r *Router, cmds ...string) (string, error) {
	out, err := r.Transcript(ctx, cmds...)
	e.add("%s", out)
	if err != nil {
		e.add("(%s console: %v)", r.Host, err)
	}
	return out, err
}

func pass(e *evidence, format string, a ...any) Result {
	return Result{Pass: true, Summary: fmt.Sprintf(format, a...), Evidence: e.String()}
}

func fail(e *evidence, format string, a ...any) Result {
	return Result{Summary: fmt.Sprintf(format, a...), Evidence: e.String()}
}

// upIKESA returns the UP SAs with the other router, after waiting up to wait for one.
func upIKESAs(ctx context.Context, r *Router, wait time.Duration) (up []IKESA, all []IKESA, out string, err error) {
	deadline := time.Now().Add(wait)
	for {
		out, err = r.Run(ctx, "show security ike security-associations")
		if err != nil {
			return nil, nil, out, err
		}
		all = ParseIKESAs(out)
		up = up[:0]
		for _, sa := range all {
			if sa.State == "UP" && sa.Remote == r.Peer.String() {
				up = append(up, sa)
			}
		}
		// Both routers initiate at boot (establish-tunnels immediately),
		// and both IKE SAs authenticate: neither may be dropped before it
		// has (an unauthenticated MM1 must not end an exchange), so both
		// are listed until the collision settles on one a few seconds
		// later (ikev1 collisionGrace). Wait for that.
		if (len(up) > 0 && len(all) == 1) || time.Now().After(deadline) {
			return up, all, out, nil
		}
		select {
		case <-ctx.Done():
			return up, all, out, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// WaitTunnel waits until both routers show an UP IKE SA with each other, and returns how long it took.
func (l *Lab) WaitTunnel(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	for _, r := range l.Routers() {
		up, _, out, err := upIKESAs(ctx, r, time.Until(deadline))
		if err != nil {
			return time.Since(start), err
		}
		if len(up) == 0 {
			return time.Since(start), fmt.Errorf("%s: no IKE SA UP with %s after %v:\n%s", r.Host, r.Peer, timeout, out)
		}
	}
	return time.Since(start), nil
}

// checkIKE: step 1. Each router lists exactly one SA with the other router, UP, in Main mode, and its
// detail names the gateway.
func checkIKE(ctx context.Context, l *Lab) Result {
	var e evidence
	var problems []string
	for _, r := range l.Routers() {
		up, all, out, err := upIKESAs(ctx, r, time.Minute)
		e.add("%sshow security ike security-associations\n%s", r.OpPrompt(), out)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", r.Host, err))
			continue
		}
		switch {
		case len(up) == 0:
			problems = append(problems, fmt.Sprintf("%s: no SA UP with %s (%d listed)", r.Host, r.Peer, len(all)))
			continue
		case len(all) != 1:
			problems = append(problems, fmt.Sprintf("%s: %d SAs listed, want one", r.Host, len(all)))
		}
		sa := up[0]
		if sa.Mode != l.IKEMode {
			problems = append(problems, fmt.Sprintf("%s: mode %s, want %s", r.Host, sa.Mode, l.IKEMode))
		}
		detail, err := e.transcript(ctx, r, "show security ike security-associations index "+sa.Index+" detail")
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if want := "IKE peer " + r.Peer.String() + ", Index " + sa.Index; !strings.Contains(detail, want) {
			problems = append(problems, fmt.Sprintf("%s: detail lacks %q", r.Host, want))
		}
		if !regexp.MustCompile(`State: UP`).MatchString(detail) {
			problems = append(problems, fmt.Sprintf("%s: detail lacks \"State: UP\"", r.Host))
		}
	}
	if len(problems) > 0 {
		return fail(&e, "%s", strings.Join(problems, "; "))
	}
	return pass(&e, "one IKE SA UP in %s mode on each router, remote = the other router", l.IKEMode)
}

// checkIPsec: step 2. Each router lists one inbound and one outbound SA with the same ID to the other
// router, and the detail shows the proxy-id of the tunnel policy.
func checkIPsec(ctx context.Context, l *Lab) Result {
	var e evidence
	var problems []string
	for _, r := range l.Routers() {
		out, err := e.transcript(ctx, r, "show security ipsec security-associations")
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		in, outb := map[string]IPsecSA{}, map[string]IPsecSA{}
		for _, sa := range ParseIPsecSAs(out) {
			if sa.Gateway != r.Peer.String() {
				continue
			}
			if sa.Inbound {
				in[sa.ID] = sa
			} else {
				outb[sa.ID] = sa
			}
		}
		id := ""
		for k := range in {
			if _, ok := outb[k]; ok {
				id = k
			}
		}
		if id == "" {
			problems = append(problems, fmt.Sprintf("%s: no <N and >N pair with gateway %s", r.Host, r.Peer))
			continue
		}
		if len(in) != 1 || len(outb) != 1 {
			problems = append(problems, fmt.Sprintf("%s: %d inbound and %d outbound SAs, want one pair", r.Host, len(in), len(outb)))
		}
		detail, err := e.transcript(ctx, r, "show security ipsec security-associations index "+id+" detail")
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		d := ParseIPsecDetail(detail)
		if want := SubnetIdentity(r.LocalNet.String()); d.LocalIdentity != want {
			problems = append(problems, fmt.Sprintf("%s: Local Identity %q, want %q", r.Host, d.LocalIdentity, want))
		}
		if want := SubnetIdentity(r.PeerNet.String()); d.RemoteIdentity != want {
			problems = append(problems, fmt.Sprintf("%s: Remote Identity %q, want %q", r.Host, d.RemoteIdentity, want))
		}
		if strings.Join(d.Directions, ",") != "inbound,outbound" {
			problems = append(problems, fmt.Sprintf("%s: directions %v in the detail, want inbound and outbound", r.Host, d.Directions))
		}
		for _, ev := range []string{"IPSec SA negotiation successfully completed", "IKE SA negotiation successfully completed"} {
			if !strings.Contains(detail, ev) {
				problems = append(problems, fmt.Sprintf("%s: the detail's tunnel events lack %q", r.Host, ev))
			}
		}
	}
	if len(problems) > 0 {
		return fail(&e, "%s", strings.Join(problems, "; "))
	}
	return pass(&e, "one SA pair on each router, identities %s / %s (SRX1) and the mirror on SRX2",
		l.SRX1.LocalNet, l.SRX1.PeerNet)
}

// ping runs ping in host1 and returns its output and summary.
func (l *Lab) ping(ctx context.Context, e *evidence, dst string, count int) (PingResult, bool) {
	args := []string{"-c", fmt.Sprint(count), "-i", "0.2", "-W", "2", dst}
	out, _ := l.QEMU.Exec(ctx, "host1", "ping", args...)
	e.add("host1$ ping %s\n%s", strings.Join(args, " "), out)
	return ParsePing(out)
}

// checkPing: step 3, the ping.
func checkPing(ctx context.Context, l *Lab) Result {
	var e evidence
	p, ok := l.ping(ctx, &e, host2Addr, 5)
	switch {
	case !ok:
		return fail(&e, "ping printed no summary")
	case p.Received != p.Transmitted:
		return fail(&e, "%d of %d echo replies", p.Received, p.Transmitted)
	}
	return pass(&e, "%d of %d echo replies from host2", p.Received, p.Transmitted)
}

var (
	// clearHostTraffic matches any packet between the two host networks, in tcpdump -nn form.
	clearHostTraffic = regexp.MustCompile(`IP 10\.100\.(11|22)\.\d+(\.\d+)? > 10\.100\.(11|22)\.\d+(\.\d+)?: `)
	espPacket        = regexp.MustCompile(`IP (172\.16\.\d+\.1)(\.4500)? > (172\.16\.\d+\.1)(\.4500)?: (ESP|UDP-encap)`)
)

// checkESPOnly: step 3, the wire. While host1 pings host2, inet sees ESP between the routers in both
// directions and nothing of the host networks.
func checkESPOnly(ctx context.Context, l *Lab) Result {
	var e evidence
	capt, err := l.StartCapture(ctx, "inet", "-i", "any", "not", "arp")
	if err != nil {
		return fail(&e, "%v", err)
	}
	const count = 5
	p, ok := l.ping(ctx, &e, host2Addr, count)
	lines := capt.Stop()
	e.add("inet$ tcpdump -l -nn -i any not arp   (%d lines)\n%s", len(lines), strings.Join(lines, "\n"))
	var leaks []string
	toSRX2, toSRX1 := 0, 0
	for _, ln := range lines {
		if clearHostTraffic.MatchString(ln) {
			leaks = append(leaks, ln)
		}
		if m := espPacket.FindStringSubmatch(ln); m != nil {
			switch {
			case m[1] == l.SRX1.Local.String() && m[3] == l.SRX2.Local.String():
				toSRX2++
			case m[1] == l.SRX2.Local.String() && m[3] == l.SRX1.Local.String():
				toSRX1++
			}
		}
	}
	switch {
	case len(leaks) > 0:
		return fail(&e, "%d host-to-host packets in clear on inet, first: %s", len(leaks), leaks[0])
	case !ok || p.Received == 0:
		return fail(&e, "the ping got no replies, so there was nothing to look at")
	case toSRX2 < count || toSRX1 < p.Received:
		return fail(&e, "too few ESP packets on inet: %d SRX1->SRX2, %d SRX2->SRX1 for %d pings", toSRX2, toSRX1, count)
	}
	return pass(&e, "no clear host traffic on inet; ESP %d SRX1->SRX2 and %d SRX2->SRX1 (each seen on both inet links) for %d pings",
		toSRX2, toSRX1, count)
}

// checkStatistics: step 4. The ESP counters of both routers go up by at least the pings, and clear
// sets them to zero.
func checkStatistics(ctx context.Context, l *Lab) Result {
	var e evidence
	const cmd = "show security ipsec statistics"
	before := map[*Router]ESPStats{}
	for _, r := range l.Routers() {
		out, err := e.transcript(ctx, r, cmd)
		if err != nil {
			return fail(&e, "%v", err)
		}
		s, err := ParseESPStats(out)
		if err != nil {
			return fail(&e, "%s: %s: %v", r.Host, cmd, err)
		}
		before[r] = s
	}
	const count = 5
	p, _ := l.ping(ctx, &e, host2Addr, count)
	var problems []string
	if p.Received != count {
		problems = append(problems, fmt.Sprintf("ping: %d of %d replies", p.Received, count))
	}
	var summary []string
	for _, r := range l.Routers() {
		out, err := e.transcript(ctx, r, cmd)
		if err != nil {
			return fail(&e, "%v", err)
		}
		after, err := ParseESPStats(out)
		if err != nil {
			return fail(&e, "%s: %s: %v", r.Host, cmd, err)
		}
		b := before[r]
		dEnc, dDec := after.EncryptedPackets-b.EncryptedPackets, after.DecryptedPackets-b.DecryptedPackets
		if after.EncryptedPackets < b.EncryptedPackets+count || after.DecryptedPackets < b.DecryptedPackets+count ||
			after.EncryptedBytes <= b.EncryptedBytes || after.DecryptedBytes <= b.DecryptedBytes {
			problems = append(problems, fmt.Sprintf("%s: counters went from %v to %v for %d pings", r.Host, b, after, count))
		}
		summary = append(summary, fmt.Sprintf("%s +%d/+%d packets", r.Host, dEnc, dDec))
	}
	for _, r := range l.Routers() {
		out, err := e.transcript(ctx, r, "clear security ipsec statistics", cmd)
		if err != nil {
			return fail(&e, "%v", err)
		}
		s, err := ParseESPStats(out)
		if err != nil {
			return fail(&e, "%s: after clear: %v", r.Host, err)
		}
		if s != (ESPStats{}) {
			problems = append(problems, fmt.Sprintf("%s: after clear: %v, want all zero", r.Host, s))
		}
	}
	if len(problems) > 0 {
		return fail(&e, "%s", strings.Join(problems, "; "))
	}
	return pass(&e, "encrypted/decrypted went up (%s) and clear set them to 0", strings.Join(summary, ", "))
}

// checkDefaultPermit: step 5. A ping from host1 to inet is counted by default-permit on SRX1 and is
// seen on inet with host1's address in clear.
func checkDefaultPermit(ctx context.Context, l *Lab) Result {
	var e evidence
	hits := func() (uint64, bool, error) {
		out, err := e.transcript(ctx, l.SRX1, "show security policies hit-count")
		if err != nil {
			return 0, false, err
		}
		for _, h := range ParseHitCounts(out) {
			if h.Name == "default-permit" && h.From == "trust" && h.To == "untrust" {
				return h.Count, true, nil
			}
		}
		return 0, false, nil
	}
	h0, found, err := hits()
	if err != nil || !found {
		return fail(&e, "no hit count of default-permit on SRX1 (%v)", err)
	}
	capt, err := l.StartCapture(ctx, "inet", "-i", "to-srx1", "icmp")
	if err != nil {
		return fail(&e, "%v", err)
	}
	const count = 3
	p, _ := l.ping(ctx, &e, inetSRX1, count)
	lines := capt.Stop()
	e.add("inet$ tcpdump -l -nn -i to-srx1 icmp\n%s", strings.Join(lines, "\n"))
	h1, _, err := hits()
	if err != nil {
		return fail(&e, "%v", err)
	}
	clear := regexp.MustCompile(`IP ` + regexp.QuoteMeta(host1Addr) + ` > ` + regexp.QuoteMeta(inetSRX1) + `: ICMP echo request`)
	seen := 0
	for _, ln := range lines {
		if clear.MatchString(ln) {
			seen++
		}
	}
	var problems []string
	if p.Received != count {
		problems = append(problems, fmt.Sprintf("ping: %d of %d replies", p.Received, count))
	}
	if seen < count {
		problems = append(problems, fmt.Sprintf("%d of %d echo requests %s > %s seen in clear on inet", seen, count, host1Addr, inetSRX1))
	}
	if h1 <= h0 {
		problems = append(problems, fmt.Sprintf("default-permit hit count stayed at %d", h1))
	}
	if len(problems) > 0 {
		return fail(&e, "%s", strings.Join(problems, "; "))
	}
	return pass(&e, "%d echo requests in clear on inet; default-permit hit count %d -> %d", seen, h0, h1)
}

// checkMSS: step 6. A SYN from host1 to host2 leaves host1 with the MSS of its link and arrives at
// host2 with 1350.
func checkMSS(ctx context.Context, l *Lab) Result {
	var e evidence
	const port = "5001"
	filter := []string{"-v", "-i", "eth0", "tcp[tcpflags] & tcp-syn != 0 and dst port " + port}
	c1, err := l.StartCapture(ctx, "host1", filter...)
	if err != nil {
		return fail(&e, "%v", err)
	}
	c2, err := l.StartCapture(ctx, "host2", filter...)
	if err != nil {
		c1.Stop()
		return fail(&e, "%v", err)
	}
	// Nothing listens on host2: the SYN is answered with a reset, which is all this needs.
	script := "exec 3<>/dev/tcp/" + host2Addr + "/" + port
	out, _ := l.QEMU.Exec(ctx, "host1", "timeout", "5", "bash", "-c", script)
	e.add("host1$ bash -c '%s'\n%s", script, out)
	sent, got := c1.Stop(), c2.Stop()
	e.add("host1$ tcpdump -l -nn %s\n%s", strings.Join(filter, " "), strings.Join(sent, "\n"))
	e.add("host2$ tcpdump -l -nn %s\n%s", strings.Join(filter, " "), strings.Join(got, "\n"))
	syn := regexp.MustCompile(regexp.QuoteMeta(host1Addr) + `\.\d+ > ` + regexp.QuoteMeta(host2Addr) + `\.` + port + `: Flags \[S\].*options \[mss (\d+)`)
	mss := func(lines []string) string {
		for _, ln := range lines {
			if m := syn.FindStringSubmatch(ln); m != nil {
				return m[1]
			}
		}
		return ""
	}
	sentMSS, gotMSS := mss(sent), mss(got)
	switch {
	case gotMSS == "":
		return fail(&e, "no SYN from host1 seen at host2 (host1 sent MSS %q)", sentMSS)
	case gotMSS != "1350":
		return fail(&e, "the SYN arrived at host2 with MSS %s, want 1350 (host1 sent %s)", gotMSS, sentMSS)
	}
	return pass(&e, "SYN left host1 with MSS %s and arrived at host2 with MSS 1350", sentMSS)
}

// checkShadowWarning: step 7. With default-permit inserted above VPN-OUT, commit check warns that
// VPN-OUT can never match, naming both; the change is then thrown away.
func checkShadowWarning(ctx context.Context, l *Lab) Result {
	var e evidence
	r := l.SRX1
	out, err := e.transcript(ctx, r, "configure",
		"insert security policies from-zone trust to-zone untrust policy default-permit before policy VPN-OUT",
		"commit check", "rollback 0", "exit")
	if err != nil {
		return fail(&e, "%v", err)
	}
	check := out
	if i := strings.Index(check, "# commit check"); i >= 0 {
		check = check[i:]
	}
	if i := strings.Index(check, "# rollback 0"); i >= 0 {
		check = check[:i]
	}
	var warning string
	for _, ln := range strings.Split(check, "\n") {
		if strings.Contains(ln, "VPN-OUT") && strings.Contains(ln, "default-permit") {
			warning = strings.TrimSpace(ln)
		}
	}
	switch {
	case warning == "":
		return fail(&e, "commit check printed no warning naming VPN-OUT and default-permit")
	case !strings.Contains(check, "configuration check succeeds"):
		return fail(&e, "commit check did not succeed (a shadowed policy is a warning, not an error)")
	case !strings.Contains(out, "Exiting configuration mode"):
		return fail(&e, "did not leave configuration mode cleanly after rollback 0")
	}
	return pass(&e, "commit check warns: %s", warning)
}
