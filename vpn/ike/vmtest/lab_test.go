package vmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/qemu"
	"github.com/palisade/palisade/tools/cfgdisk"
	"github.com/palisade/palisade/vpn/ike/internal/swtest"
)

// The lab: SRX1's ge-0/0/0 (trust) faces host1, its ge-0/0/1 (untrust)
// faces the namespace "peer" where charon runs; host2 sits behind charon.
const (
	host1Addr  = "10.100.11.10"
	host2Addr  = "10.100.22.10"
	srxUntrust = "172.16.13.1"
	peerAddr   = "172.16.13.2"
	host1Net   = "10.100.11.0/24"
	host2Net   = "10.100.22.0/24"
	hostName   = "SRX1"
)

// baseConfig is the seed's SRX1 (/work/shared/seed/srx1.set) with the
// gateway at charon's address. Lines of setup.set follow it.
const baseConfig = `set system host-name SRX1
set interfaces ge-0/0/0 unit 0 family inet address 10.100.11.1/24
set interfaces ge-0/0/1 unit 0 family inet address 172.16.13.1/24
set routing-options static route 0.0.0.0/0 next-hop 172.16.13.2
set security zones security-zone untrust interfaces ge-0/0/1.0
set security zones security-zone untrust host-inbound-traffic system-services ike
set security zones security-zone untrust host-inbound-traffic system-services ping
set security zones security-zone trust interfaces ge-0/0/0.0
set security zones security-zone trust host-inbound-traffic system-services all
set security ike proposal standard authentication-method pre-shared-keys
set security ike policy IKE-POL mode main
set security ike policy IKE-POL proposals standard
set security ike policy IKE-POL pre-shared-key ascii-text ` + swtest.PSK + `
set security ike gateway IKE-GW ike-policy IKE-POL
set security ike gateway IKE-GW address 172.16.13.2
set security ike gateway IKE-GW external-interface ge-0/0/1
set security ipsec proposal standard
set security ipsec policy IPSEC-POL proposals standard
set security ipsec vpn VPN-to-Host2 ike gateway IKE-GW
set security ipsec vpn VPN-to-Host2 ike ipsec-policy IPSEC-POL
set security address-book Host1 address Host1-Net 10.100.11.0/24
set security address-book Host1 attach zone trust
set security address-book Host2 address Host2-Net 10.100.22.0/24
set security address-book Host2 attach zone untrust
set security policies from-zone trust to-zone untrust policy VPN-OUT match source-address Host1-Net
set security policies from-zone trust to-zone untrust policy VPN-OUT match destination-address Host2-Net
set security policies from-zone trust to-zone untrust policy VPN-OUT match application any
set security policies from-zone trust to-zone untrust policy VPN-OUT then permit tunnel ipsec-vpn VPN-to-Host2
set security policies from-zone trust to-zone untrust policy default-permit match source-address any
set security policies from-zone trust to-zone untrust policy default-permit match destination-address any
set security policies from-zone trust to-zone untrust policy default-permit match application any
set security policies from-zone trust to-zone untrust policy default-permit then permit
set security policies from-zone untrust to-zone trust policy VPN-IN match source-address Host2-Net
set security policies from-zone untrust to-zone trust policy VPN-IN match destination-address Host1-Net
set security policies from-zone untrust to-zone trust policy VPN-IN match application any
set security policies from-zone untrust to-zone trust policy VPN-IN then permit tunnel ipsec-vpn VPN-to-Host2
set security flow tcp-mss ipsec-vpn mss 1350
`

// The seed's proposals "standard" with Junos's defaults, in strongSwan's
// words: aes-256-cbc, sha-256, group14; ESP aes-256-cbc, hmac-sha-256-128,
// no PFS.
const (
	swIKE = "aes256-sha256-modp2048"
	swESP = "aes256-sha256"
)

// setup describes one lab.
type setup struct {
	version int // IKE version, 1 or 2
	// weInitiate sets establish-tunnels immediately, so that we negotiate
	// at boot; otherwise charon initiates (and we stay on-traffic, so that
	// both do not negotiate at once).
	weInitiate bool
	set        []string // more set lines
	// charon's connection and child extras, e.g. "rekey_time = 45s".
	charonExtra, childExtra string
	timeout                 time.Duration // QEMU's; 0 means 6 minutes
	// password is root's, for the console login (set with
	// root-authentication plain-text-password in set).
	password string
	// beforeBoot runs once the namespaces and charon are up, before the
	// box has applied its configuration (an attacker that is already there).
	beforeBoot func(l *lab)
	// unplugged ports have no NIC at boot (qemu.Box.Unplugged); with any,
	// startLab does not wait for the tunnel.
	unplugged []int
}

// lab is a running topology with the tunnel up.
type lab struct {
	t        *testing.T
	lab      *qemu.Lab
	g        *qemu.Guest
	sw       *swtest.Charon
	start    time.Time
	booted   time.Duration // QEMU start to "configuration applied"
	password string
	up       time.Duration // "configuration applied" to an installed IPsec SA pair
}

// vmImage skips unless VM tests are on and everything they need is here,
// and returns the board and the image files.
func vmImage(t *testing.T) (board.Board, string, string) {
	t.Helper()
	if os.Getenv("PALISADE_VM") != "1" {
		t.Skip("VM test: set PALISADE_VM=1 (make test-vm) to boot QEMU guests")
	}
	if os.Geteuid() != 0 {
		t.Skip("VM data-path test: needs root for namespaces and TAP devices")
	}
	swtest.Skip(t)
	b, err := board.Lookup("qemu-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath(b.QEMU.Binary); err != nil {
		t.Skipf("VM test: %s not installed (make deps)", b.QEMU.Binary)
	}
	out := os.Getenv("PALISADE_OUT")
	if out == "" {
		out = "../../../out"
	}
	k, i := qemu.ImagePaths(out, b.Name)
	for _, f := range []string{k, i} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s: build the image first (make image BOARD=%s): %v", f, b.Name, err)
		}
	}
	return b, k, i
}

// startLab boots SRX1 with the lab's configuration, starts charon and
// host2, and waits until the IPsec SA pair is installed on both sides.
func startLab(t *testing.T, s setup) *lab {
	t.Helper()
	b, k, i := vmImage(t)
	text := baseConfig
	if s.weInitiate {
		text += "set security ipsec vpn VPN-to-Host2 establish-tunnels immediately\n"
	}
	if s.version == 2 {
		text += "set security ike gateway IKE-GW version v2-only\n"
	}
	for _, l := range s.set {
		text += "set " + l + "\n"
	}
	c, _, err := config.Parse("srx1.set", text)
	if err != nil {
		t.Fatalf("the lab's configuration: %v\n%s", err, text)
	}
	disk := filepath.Join(t.TempDir(), "srx1.img")
	if err := cfgdisk.Build(c, disk, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s.timeout == 0 {
		s.timeout = 6 * time.Minute
	}
	l := &lab{t: t, start: time.Now(), password: s.password}
	l.lab = qemu.StartT(t, qemu.Topology{
		Boxes: []qemu.Box{{Name: "srx1", Board: b, Kernel: k, Initramfs: i, ConfigDisk: disk, NICs: 2, Timeout: s.timeout, Unplugged: s.unplugged}},
		HostNets: []qemu.HostNet{
			{Netns: "host1", To: qemu.Endpoint{Box: "srx1", Port: 0}, Addrs: []string{host1Addr + "/24"}, Gateway: "10.100.11.1"},
			{Netns: "peer", To: qemu.Endpoint{Box: "srx1", Port: 1}, IfName: "eth0", Addrs: []string{peerAddr + "/24"}},
		},
		Routers: []string{"peer"},
	})
	l.g = l.lab.Guest("srx1")
	l.addHost2()
	l.sw = swtest.StartIn(t, swtest.Peer{
		Netns: l.lab.Netns("peer"), Version: s.version, IKE: swIKE, ESP: swESP,
		Local: peerAddr, Remote: srxUntrust, LocalTS: host2Net, RemoteTS: host1Net,
		Extra: s.charonExtra, ChildExtra: s.childExtra,
	})
	if s.beforeBoot != nil {
		s.beforeBoot(l)
	}
	l.expect(3*time.Minute, `configuration applied: host SRX1`)
	l.booted = time.Since(l.start)
	l.login()
	t.Cleanup(func() {
		if t.Failed() {
			out, err := l.tryCLI("show log messages | no-more", 30*time.Second)
			t.Logf("show log messages (%v):\n%s", err, grepLines(out, "service=ike", "xfrm", "vpn", "ipsec"))
		}
	})
	applied := time.Now()
	if len(s.unplugged) > 0 {
		return l
	}
	if !s.weInitiate {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := l.sw.SwanctlCtx(ctx, "--initiate", "--child", "net", "--timeout", "50")
		cancel()
		if err != nil {
			t.Fatalf("swanctl --initiate: %v\n%s", err, out)
		}
	}
	l.waitInstalled(2 * time.Minute)
	l.up = time.Since(applied)
	t.Logf("IKEv%d, we initiate %v: boot to configuration applied %.1f s, then tunnel up in %.1f s",
		s.version, s.weInitiate, l.booted.Seconds(), l.up.Seconds())
	return l
}

// addHost2 makes the namespace host2 behind charon: a veth from peer
// (10.100.22.1) to host2 (10.100.22.10, default route via charon).
func (l *lab) addHost2() {
	t := l.t
	peer := l.lab.Netns("peer")
	host2 := peer + "-h2"
	if out, err := exec.Command("ip", "netns", "add", host2).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v %s", host2, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", host2).Run() })
	for _, args := range [][]string{
		{"-n", peer, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", host2},
		{"-n", peer, "addr", "add", "10.100.22.1/24", "dev", "lan0"},
		{"-n", peer, "link", "set", "lan0", "up"},
		{"-n", host2, "link", "set", "lo", "up"},
		{"-n", host2, "addr", "add", host2Addr + "/24", "dev", "eth0"},
		{"-n", host2, "link", "set", "eth0", "up"},
		{"-n", host2, "route", "add", "default", "via", "10.100.22.1"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
}

func (l *lab) expect(timeout time.Duration, re string) string {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := l.g.Expect(ctx, regexp.MustCompile(re))
	if err != nil {
		l.t.Fatalf("waiting for %q: %v", re, err)
	}
	return out
}

func (l *lab) login() {
	l.t.Helper()
	l.expect(time.Minute, `login: $`)
	l.g.Send("root")
	l.expect(30*time.Second, `Password:`)
	l.g.Send(l.password)
	l.expect(30*time.Second, regexp.QuoteMeta("root@"+hostName+"> "))
}

// cli runs an operational command on the console and returns its output
// up to the next prompt.
func (l *lab) cli(line string) string {
	l.t.Helper()
	l.g.Send(line)
	return l.expect(time.Minute, regexp.QuoteMeta("root@"+hostName+"> "))
}

// tryCLI is cli for cleanups: it reports instead of failing the test.
func (l *lab) tryCLI(line string, timeout time.Duration) (string, error) {
	select {
	case <-l.g.Exited():
		return "", errors.New("the guest has exited")
	default:
	}
	if err := l.g.Send(line); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return l.g.Expect(ctx, regexp.MustCompile(regexp.QuoteMeta("root@"+hostName+"> ")))
}

// ipsecSA is one line of `show security ipsec security-associations`.
type ipsecSA struct {
	dir, id, alg, spi, port, gateway string
}

var ipsecSARE = regexp.MustCompile(`(?m)^\s+([<>])(\d+)\s+(ESP:\S+)\s+([0-9a-f]{8})\s+\S+\s+\S+\s+-\s+root\s+(\d+)\s+(\S+)\s*$`)

func (l *lab) ipsecSAs() []ipsecSA {
	l.t.Helper()
	var sas []ipsecSA
	for _, m := range ipsecSARE.FindAllStringSubmatch(l.cli("show security ipsec security-associations"), -1) {
		sas = append(sas, ipsecSA{m[1], m[2], m[3], m[4], m[5], m[6]})
	}
	return sas
}

// ikeSA is one line of `show security ike security-associations`.
type ikeSA struct {
	index, state, icookie, rcookie, mode, remote string
}

var ikeSARE = regexp.MustCompile(`(?m)^(\d+)\s+(UP|DOWN)\s+([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\S+)\s+(\S+)\s*$`)

func (l *lab) ikeSAs() []ikeSA {
	l.t.Helper()
	var sas []ikeSA
	for _, m := range ikeSARE.FindAllStringSubmatch(l.cli("show security ike security-associations"), -1) {
		sas = append(sas, ikeSA{m[1], m[2], m[3], m[4], m[5], m[6]})
	}
	return sas
}

// waitInstalled polls both sides until we list an SA pair and charon an
// installed Child SA.
func (l *lab) waitInstalled(timeout time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ours := l.ipsecSAs()
		out, _ := l.sw.Swanctl("--list-sas")
		if len(ours) >= 2 && len(swtest.InstalledChildren(out)) > 0 {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("no IPsec SA after %v: we list %v; charon:\n%s", timeout, ours, out)
		}
		time.Sleep(2 * time.Second)
	}
}

// espStats is `show security ipsec statistics`.
type espStats struct {
	encBytes, decBytes, encPkts, decPkts, authFail, replay, decFail, badHdr, badTrl int
}

var statRE = regexp.MustCompile(`(Encrypted bytes|Decrypted bytes|Encrypted packets|Decrypted packets|ESP authentication failures|Replay errors|ESP decryption failures|Bad headers|Bad trailers):\s+(\d+)`)

func (l *lab) stats() espStats {
	l.t.Helper()
	out := l.cli("show security ipsec statistics")
	var s espStats
	n := 0
	for _, m := range statRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.Atoi(m[2])
		n++
		switch m[1] {
		case "Encrypted bytes":
			s.encBytes = v
		case "Decrypted bytes":
			s.decBytes = v
		case "Encrypted packets":
			s.encPkts = v
		case "Decrypted packets":
			s.decPkts = v
		case "ESP authentication failures":
			s.authFail = v
		case "Replay errors":
			s.replay = v
		case "ESP decryption failures":
			s.decFail = v
		case "Bad headers":
			s.badHdr = v
		case "Bad trailers":
			s.badTrl = v
		default:
			n--
		}
	}
	if n < 9 {
		l.t.Fatalf("show security ipsec statistics: %d of 9 counters found:\n%s", n, out)
	}
	return s
}

// pingResult is what ping printed at its end.
type pingResult struct {
	sent, received int
	out            string
}

func (p pingResult) lost() int { return p.sent - p.received }

func (p pingResult) String() string {
	return fmt.Sprintf("%d sent, %d received, %d lost", p.sent, p.received, p.lost())
}

var pingSummaryRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// ping runs ping in host1 to host2: count packets every interval. It
// returns when ping ends.
func (l *lab) ping(ctx context.Context, count int, interval time.Duration) pingResult {
	cmd := l.lab.Command(ctx, "host1", "ping", "-n", "-q", "-c", strconv.Itoa(count),
		"-i", strconv.FormatFloat(interval.Seconds(), 'f', 3, 64), "-W", "2", host2Addr)
	out, _ := cmd.CombinedOutput() // ping exits 1 when some replies are missing
	r := pingResult{out: string(out)}
	if m := pingSummaryRE.FindStringSubmatch(r.out); m != nil {
		r.sent, _ = strconv.Atoi(m[1])
		r.received, _ = strconv.Atoi(m[2])
	}
	return r
}

// pingOK pings host2 from host1 until one answer comes (the first packets
// may race the SA's installation on charon's side), then count more that
// must all be answered.
func (l *lab) pingOK(count int) pingResult {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := l.ping(context.Background(), 1, time.Second)
		if r.received == 1 {
			break
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("ping host1 -> host2 through the tunnel: no answer in 30 s:\n%s", r.out)
		}
	}
	r := l.ping(context.Background(), count, 200*time.Millisecond)
	if r.sent != count || r.lost() != 0 {
		l.t.Errorf("ping host1 -> host2: %v, want %d answered:\n%s", r, count, r.out)
	}
	return r
}

// swChildren returns charon's installed Child SAs.
func (l *lab) swChildren() ([]swtest.ChildSPIs, string) {
	out, _ := l.sw.Swanctl("--list-sas")
	return swtest.InstalledChildren(out), out
}

// grepLines returns the lines of s that contain any of subs, in order.
func grepLines(s string, subs ...string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(line, sub) {
				b.WriteString(strings.TrimRight(line, "\r") + "\n")
				break
			}
		}
	}
	return b.String()
}
