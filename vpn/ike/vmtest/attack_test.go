package vmtest

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/ikev1"
	"github.com/palisade/palisade/vpn/ike/ikev2"
	"github.com/palisade/palisade/vpn/ike/internal/swtest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// The attack soak test: a blind attacker on the Internet side (charon's
// namespace, so it can claim charon's address) runs every attack of the
// hardening review at once while SRX1's own tunnel must come up, stay up
// and carry a paced ping:
//   - an IKEv1 MM1 or IKEv2 IKE_SA_INIT spoofed from the peer's address and
//     port every 2 s, with the proposals both gateways share (made by a real
//     engine, so it is well formed), from before the box boots;
//   - 20,000 half-open requests from random sources (198.18.0.0/15);
//   - forged NAT-T floats: datagrams on 4500 with the live SA's cookies or
//     SPIs, from the peer's address and other ports;
//   - SSH password guessing with 8 connections at a time.
//
// It checks that the tunnel we initiate came up under the spoofing, stayed
// UP and that under 1 % of the pings were lost, that the tunnel comes back
// after `clear security ike security-associations` while the attack goes
// on, that the firmware's peak resident memory stays under memoryBound, and
// that the security events logged before the attack (a failed SSH login, a
// commit, the tunnel coming up) are still in `show log messages`.

const (
	attackPassword = "lab-pass-1"
	halfOpens      = 20_000
	// memoryBound is the firmware's peak resident size (VmHWM) allowed
	// during the attack, in KiB. The half-open limits (1,000 IKE SAs per
	// version, each without the received datagram) bound what the flood
	// can hold; the rest is the firmware at rest, about 30 MiB.
	memoryBound = 64 * 1024
	attackNet   = "198.18.0.0/15" // RFC 2544's benchmarking range: the flood's random sources
)

// attackTargets is what the NAT-T forger knows of the live IKE SA.
type attackTargets struct{ icookie, rcookie [8]byte }

type attacker struct {
	t       *testing.T
	ns      string
	version int
	first   []byte // the spoofed first message, its cookie/SPI replaced each time
	// floodRate is the half-opens sent a second.
	floodRate int
	targets   atomic.Pointer[attackTargets]

	spoofed, flooded, floats, floatErrs atomic.Int64
	guesses, sshConns, sshRefused       atomic.Int64
}

func TestVMAttack(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprintf("IKEv%d", version), func(t *testing.T) { attackRun(t, version) })
	}
}

func attackRun(t *testing.T, version int) {
	duration := 150 * time.Second
	if v := os.Getenv("PALISADE_ATTACK_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("PALISADE_ATTACK_SECONDS=%q: %v", v, err)
		}
		duration = time.Duration(n) * time.Second
	}
	vmImage(t) // skips before the engine below is made, when VM tests are off
	a := &attacker{t: t, version: version, first: firstMessage(t, version)}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	l := startLab(t, setup{
		version: version, weInitiate: true, password: attackPassword,
		set: []string{
			"system services ssh",
			"system root-authentication plain-text-password " + attackPassword,
			"security zones security-zone untrust host-inbound-traffic system-services ssh",
		},
		beforeBoot: func(l *lab) {
			a.ns = l.lab.Netns("peer")
			// The flood's sources get no answers back: the Internet
			// drops what the box sends them.
			if out, err := exec.Command("ip", "-n", a.ns, "route", "add", "blackhole", attackNet).CombinedOutput(); err != nil {
				t.Fatalf("blackhole route: %v %s", err, out)
			}
			wg.Add(1)
			go func() { defer wg.Done(); a.spoof(ctx) }()
		},
	})
	t.Logf("the tunnel came up under spoofing (%d spoofed first messages so far)", a.spoofed.Load())
	// The spoofed half-open SAs are listed too, as DOWN (negotiating), as
	// Junos lists an SA in negotiation; exactly one is UP.
	up := upSAs(l.ikeSAs())
	if len(up) != 1 {
		t.Fatalf("want one IKE SA UP, got %v", l.ikeSAs())
	}
	a.setTargets(t, up[0])
	l.pingOK(5)

	// Security events before the attack: a failed SSH login from the
	// Internet and a commit; the tunnel's coming up is logged already.
	if err := a.sshGuess(context.Background(), "not-the-password"); err == nil {
		t.Fatal("ssh with a wrong password logged in")
	}
	l.commit()
	before := securityLines(l.cli("show log messages | no-more"))
	t.Logf("security events before the attack:\n%s", strings.Join(before, "\n"))
	for _, want := range []string{"commit complete", peerAddr} {
		if !containsAny(before, want) {
			t.Fatalf("no security event before the attack mentions %q", want)
		}
	}

	attackStart := time.Now()
	// The half-opens are paced to be all sent within the first 80 % of the
	// attack.
	a.floodRate = max(250, int(float64(halfOpens)/(0.8*duration.Seconds())))
	for _, f := range []func(context.Context){a.flood, a.forgeFloats, a.guessPasswords} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	const interval = 200 * time.Millisecond
	pings := make(chan pingResult, 1)
	go func() { pings <- l.ping(context.Background(), int(duration/interval), interval) }()

	var peak, rss int
	sample := func() {
		m := l.cli("show system memory")
		if v, ok := memoryFigure(m, "Peak resident"); ok {
			peak = max(peak, v)
		} else {
			t.Errorf("show system memory has no peak:\n%s", m)
		}
		if v, ok := memoryFigure(m, "Resident"); ok {
			rss = max(rss, v)
		}
	}
	for deadline := time.Now().Add(duration); time.Now().Before(deadline); {
		time.Sleep(min(15*time.Second, time.Until(deadline)))
		sample()
		if ikes := l.ikeSAs(); len(upSAs(ikes)) != 1 {
			t.Errorf("%.0f s into the attack the IKE SAs are %v, want one UP", time.Since(attackStart).Seconds(), ikes)
		} else {
			a.setTargets(t, upSAs(ikes)[0])
		}
	}
	r := <-pings
	t.Logf("ping through the tunnel during the attack: %v (%.2f%% lost)", r, 100*float64(r.lost())/float64(max(r.sent, 1)))
	if r.sent == 0 || r.lost()*100 >= r.sent {
		t.Errorf("ping during the attack: %v, want under 1%% lost:\n%s", r, r.out)
	}

	// Our own initiation, now under the whole attack.
	l.cli("clear security ike security-associations")
	cleared := time.Now()
	l.waitInstalled(2 * time.Minute)
	t.Logf("after clear security ike security-associations the tunnel was back in %.1f s", time.Since(cleared).Seconds())
	if ikes := l.ikeSAs(); len(upSAs(ikes)) != 1 {
		t.Errorf("after the clear the IKE SAs are %v, want one UP", ikes)
	}
	l.pingOK(5)
	sample()
	stop()
	wg.Wait()
	elapsed := time.Since(attackStart)

	t.Logf("attack for %.0f s: %d spoofed first messages, %d half-opens from random sources, %d forged floats (%d refused by the host), "+
		"%d SSH connections (%d refused), %d password guesses = %.2f guesses/s",
		elapsed.Seconds(), a.spoofed.Load(), a.flooded.Load(), a.floats.Load(), a.floatErrs.Load(),
		a.sshConns.Load(), a.sshRefused.Load(), a.guesses.Load(), float64(a.guesses.Load())/elapsed.Seconds())
	t.Logf("firmware memory during the attack: peak resident %d KiB, largest sampled resident %d KiB (bound %d KiB)", peak, rss, memoryBound)
	if peak == 0 || peak > memoryBound {
		t.Errorf("peak resident memory %d KiB, want at most %d KiB", peak, memoryBound)
	}
	if a.flooded.Load() < halfOpens {
		t.Errorf("the flood sent %d of %d half-opens", a.flooded.Load(), halfOpens)
	}
	msgs := l.cli("show log messages | no-more")
	after := securityLines(msgs)
	for _, line := range before {
		if !containsAny(after, line) {
			t.Errorf("the security event %q from before the attack is gone from show log messages", line)
		}
	}
	n := linesBetween(msgs, attackStart, attackStart.Add(elapsed))
	t.Logf("log lines written during the attack: %d, %.2f a second", n, float64(n)/elapsed.Seconds())
	if rate := float64(n) / elapsed.Seconds(); rate > 10 {
		t.Errorf("%.1f log lines a second during the attack, want at most 10 (one a second per cause):\n%s", rate, lastLines(msgs, 40))
	}
}

// firstMessage has a real engine at the peer's address make the first
// message it would send SRX1 with the lab's proposals: an MM1 or an
// IKE_SA_INIT that SRX1 accepts as a new negotiation.
func firstMessage(t *testing.T, version int) []byte {
	t.Helper()
	local, remote := netip.MustParseAddr(peerAddr), netip.MustParseAddr(srxUntrust)
	network := seam.NewPipeNetwork()
	box := network.Attach(netip.AddrPortFrom(remote, 500), netip.AddrPortFrom(remote, 4500))
	tr := network.Attach(netip.AddrPortFrom(local, 500), netip.AddrPortFrom(local, 4500))
	env := seam.Env{Now: time.Now, Rand: crand.Reader, Log: slog.New(slog.DiscardHandler), Installer: seam.NewRecordingInstaller()}
	child := seam.ChildConfig{Name: "spoof", Policy: "spoof", Reqid: 1,
		Local: netip.MustParsePrefix(host2Net), Remote: netip.MustParsePrefix(host1Net), Immediately: true,
		Proposals: []seam.ChildProposal{{Suite: ikecrypto.ESPSuite{Cipher: ikecrypto.ESPAESCBC, KeyBits: 256, Auth: ikecrypto.AuthHMACSHA256}, Lifetime: time.Hour}}}
	if version == 1 {
		e := ikev1.NewEngine(ikev1.Config{}, env, tr)
		e.SetPeers([]ikev1.PeerConfig{{Name: "spoof", Local: local, Remote: remote, PSK: []byte(swtest.PSK),
			Proposals: []ikev1.Proposal{{Cipher: ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 256}, Hash: ikecrypto.SHA256,
				Group: ikecrypto.MODP2048, Lifetime: 8 * time.Hour}},
			Children: []seam.ChildConfig{child}}})
		e.Tick()
	} else {
		e := ikev2.NewEngine(ikev2.Config{}, env, tr)
		e.SetPeers([]ikev2.PeerConfig{{Name: "spoof", Local: local, Remote: remote, PSK: []byte(swtest.PSK),
			Proposals: []ikev2.Proposal{{Encr: ikev2.EncrAESCBC, KeyBits: 256, Integ: ikev2.IntegHMACSHA256128,
				PRF: ikev2.PRFHMACSHA256, Group: ikecrypto.MODP2048, Lifetime: 8 * time.Hour}},
			Children: []seam.ChildConfig{child}}})
		e.Tick()
	}
	select {
	case d := <-box.Receive():
		return append([]byte(nil), d.Data...)
	case <-time.After(10 * time.Second):
		t.Fatalf("the IKEv%d engine sent no first message", version)
		return nil
	}
}

// spoof sends the first message from the peer's address and port 500
// every 2 s, each with a new initiator cookie (IKEv1) or SPI (IKEv2).
func (a *attacker) spoof(ctx context.Context) {
	raw, err := rawSocketIn(a.ns)
	if err != nil {
		a.t.Errorf("spoofing: %v", err)
		return
	}
	defer unix.Close(raw)
	src, dst := netip.MustParseAddr(peerAddr), netip.MustParseAddr(srxUntrust)
	msg := append([]byte(nil), a.first...)
	for {
		binary.BigEndian.PutUint64(msg[0:8], rand.Uint64()|1)
		if err := sendRawUDP(raw, src, 500, dst, 500, msg); err == nil {
			a.spoofed.Add(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// flood sends halfOpens first messages from random sources and ports in
// attackNet, floodRate a second.
func (a *attacker) flood(ctx context.Context) {
	raw, err := rawSocketIn(a.ns)
	if err != nil {
		a.t.Errorf("flood: %v", err)
		return
	}
	defer unix.Close(raw)
	dst := netip.MustParseAddr(srxUntrust)
	base := netip.MustParsePrefix(attackNet).Addr().As4()
	msg := append([]byte(nil), a.first...)
	start := time.Now()
	rate := a.floodRate
	for i := 0; i < halfOpens && ctx.Err() == nil; i++ {
		if wait := time.Duration(i)*time.Second/time.Duration(rate) - time.Since(start); wait > 0 {
			time.Sleep(wait)
		}
		src := base
		r := rand.Uint32()
		src[1] |= byte(r>>16) & 1
		src[2], src[3] = byte(r>>8), byte(r)|1
		binary.BigEndian.PutUint64(msg[0:8], rand.Uint64()|1)
		if err := sendRawUDP(raw, netip.AddrFrom4(src), uint16(1024+rand.IntN(60000)), dst, 500, msg); err == nil {
			a.flooded.Add(1)
		}
	}
}

// forgeFloats sends, five times a second, a datagram on 4500 with the live
// IKE SA's cookies or SPIs from the peer's address and a new port: an
// engine that moved its peer to the source of whatever carries the right
// cookies would follow it there, and dead peer detection would then end
// the tunnel.
func (a *attacker) forgeFloats(ctx context.Context) {
	for ctx.Err() == nil {
		tg := a.targets.Load()
		conn, err := dialUDPIn(a.ns, netip.AddrPortFrom(netip.MustParseAddr(srxUntrust), 4500))
		if err != nil {
			a.t.Errorf("forging floats: %v", err)
			return
		}
		b := make([]byte, 4+28+64+rand.IntN(64))
		for i := range b[32:] {
			b[32+i] = byte(rand.Uint32())
		}
		h := b[4:]
		copy(h[0:8], tg.icookie[:])
		copy(h[8:16], tg.rcookie[:])
		if a.version == 1 {
			h[16], h[17], h[18], h[19] = 8, 0x10, 5, 1 // HASH first, v1.0, informational, encrypted
		} else {
			h[16], h[17], h[18], h[19] = 46, 0x20, 37, 0 // SK, v2.0, INFORMATIONAL request from the responder
		}
		binary.BigEndian.PutUint32(h[20:24], rand.Uint32())
		binary.BigEndian.PutUint32(h[24:28], uint32(len(h)))
		if _, err := conn.Write(b); err == nil {
			a.floats.Add(1)
		} else {
			a.floatErrs.Add(1)
		}
		conn.Close()
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// guessPasswords runs 8 SSH clients that guess root's password, three
// guesses a connection, until ctx ends.
func (a *attacker) guessPasswords(ctx context.Context) {
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				if err := a.sshGuess(ctx, fmt.Sprintf("guess-%d-%d", w, i)); err == nil {
					a.t.Errorf("password guess %d-%d logged in", w, i)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// sshGuess connects from the attacker's namespace and tries pass three
// times (as often as the server allows) until ctx ends; it returns nil
// only on a login.
func (a *attacker) sshGuess(ctx context.Context, pass string) error {
	conn, err := dialTCPIn(a.ns, srxUntrust+":22")
	if err != nil {
		a.sshRefused.Add(1)
		time.Sleep(200 * time.Millisecond)
		return err
	}
	defer conn.Close()
	// The server delays failures by up to 30 s a guess, queued per
	// source: the attacker hangs up when the attack ends.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	a.sshConns.Add(1)
	conn.SetDeadline(time.Now().Add(90 * time.Second))
	cfg := &ssh.ClientConfig{User: "root", HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Auth: []ssh.AuthMethod{ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
			a.guesses.Add(1)
			return pass, nil
		}), 3)}}
	sc, chans, reqs, err := ssh.NewClientConn(conn, srxUntrust+":22", cfg)
	if err != nil {
		return err
	}
	ssh.NewClient(sc, chans, reqs).Close()
	return nil
}

func (a *attacker) setTargets(t *testing.T, sa ikeSA) {
	t.Helper()
	var tg attackTargets
	ic, err1 := hex.DecodeString(sa.icookie)
	rc, err2 := hex.DecodeString(sa.rcookie)
	if err1 != nil || err2 != nil {
		t.Fatalf("parsing the IKE SA %v: %v %v", sa, err1, err2)
	}
	copy(tg.icookie[:], ic)
	copy(tg.rcookie[:], rc)
	a.targets.Store(&tg)
}

// commit makes a commit on the console (a security event).
func (l *lab) commit() {
	l.t.Helper()
	l.g.Send("configure")
	l.expect(time.Minute, regexp.QuoteMeta("root@"+hostName+"# "))
	l.g.Send("set system host-name " + hostName)
	l.expect(time.Minute, regexp.QuoteMeta("root@"+hostName+"# "))
	l.g.Send("commit and-quit")
	out := l.expect(2*time.Minute, regexp.QuoteMeta("root@"+hostName+"> "))
	if !strings.Contains(out, "commit complete") {
		l.t.Fatalf("commit and-quit:\n%s", out)
	}
}

func upSAs(sas []ikeSA) []ikeSA {
	var up []ikeSA
	for _, sa := range sas {
		if sa.state == "UP" {
			up = append(up, sa)
		}
	}
	return up
}

func securityLines(msgs string) []string {
	var out []string
	for _, line := range strings.Split(msgs, "\n") {
		if line = strings.TrimRight(line, "\r"); strings.Contains(line, "security=true") {
			out = append(out, line)
		}
	}
	return out
}

func containsAny(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

var logTimeRE = regexp.MustCompile(`(?m)^time=(\S+)`)

// linesBetween counts the log lines stamped within [from, to].
func linesBetween(msgs string, from, to time.Time) int {
	n := 0
	for _, m := range logTimeRE.FindAllStringSubmatch(msgs, -1) {
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		if err == nil && !ts.Before(from.Add(-time.Second)) && !ts.After(to.Add(time.Second)) {
			n++
		}
	}
	return n
}

var memoryRE = regexp.MustCompile(`(?m)^\s*([A-Za-z ]+):\s+(\d+) Kbytes`)

func memoryFigure(out, name string) (int, bool) {
	for _, m := range memoryRE.FindAllStringSubmatch(out, -1) {
		if strings.TrimSpace(m[1]) == name {
			v, err := strconv.Atoi(m[2])
			return v, err == nil
		}
	}
	return 0, false
}

// inNetns runs f on a thread in the named namespace; sockets f opens stay
// there after the thread has left. The thread goes back to its own
// namespace and to the pool; only if it cannot is it left locked, to end
// with its goroutine.
func inNetns(ns string, f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- err
			return
		}
		defer orig.Close()
		h, err := netns.GetFromName(ns)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			ch <- err
			return
		}
		err = f()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		ch <- err
	}()
	if err := <-ch; err != nil {
		return fmt.Errorf("in namespace %s: %w", ns, err)
	}
	return nil
}

// rawSocketIn opens a raw IPv4 socket (IP_HDRINCL) in ns: the attacker
// writes its own source addresses.
func rawSocketIn(ns string) (int, error) {
	fd := -1
	err := inNetns(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		return err
	})
	return fd, err
}

// sendRawUDP sends one UDP datagram with the given source. The kernel
// fills in the IP checksum, length and ID; a zero UDP checksum means none
// (IPv4).
func sendRawUDP(fd int, src netip.Addr, sport uint16, dst netip.Addr, dport uint16, payload []byte) error {
	p := make([]byte, 28+len(payload))
	p[0], p[8], p[9] = 0x45, 64, unix.IPPROTO_UDP
	s4, d4 := src.As4(), dst.As4()
	copy(p[12:16], s4[:])
	copy(p[16:20], d4[:])
	binary.BigEndian.PutUint16(p[20:22], sport)
	binary.BigEndian.PutUint16(p[22:24], dport)
	binary.BigEndian.PutUint16(p[24:26], uint16(8+len(payload)))
	copy(p[28:], payload)
	return unix.Sendto(fd, p, 0, &unix.SockaddrInet4{Addr: d4})
}

func dialUDPIn(ns string, dst netip.AddrPort) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := inNetns(ns, func() error {
		var err error
		c, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(peerAddr)}, net.UDPAddrFromAddrPort(dst))
		return err
	})
	return c, err
}

func dialTCPIn(ns, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetns(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", addr, 10*time.Second)
		return err
	})
	return c, err
}
