package cli

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"time"

	pipeline "github.com/palisade/palisade/firmware/commit"
	"github.com/palisade/palisade/firmware/config"
)

// fakeSystem is a System for tests: commits validate and replace the active
// configuration; operational data is shaped like the seed's SRX1.
type fakeSystem struct {
	mu      sync.Mutex
	active  *config.Config
	commits []*config.Config
	opts    []CommitOptions
	cleared []string
	traces  []TracerouteRequest
}

func newFake() *fakeSystem { return &fakeSystem{active: &config.Config{}} }

func (f *fakeSystem) Active() *config.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active
}

func (f *fakeSystem) Commit(_ context.Context, cand *config.Config, opts CommitOptions) ([]*config.Problem, error) {
	ps := cand.Validate()
	if errs := config.Errors(ps); len(errs) > 0 {
		// What the box's commit pipeline returns.
		return nil, &pipeline.ValidationError{Problems: errs}
	}
	var warns []*config.Problem
	for _, p := range ps {
		if p.Warning {
			warns = append(warns, p)
		}
	}
	if opts.Check {
		return warns, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commits = append(f.commits, f.active)
	f.active = cand
	f.opts = append(f.opts, opts)
	return warns, nil
}

func (f *fakeSystem) Rollback(n int) (*config.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n == 0 {
		return f.active, nil
	}
	if n > len(f.commits) {
		return nil, fmt.Errorf("rollback %d: %w", n, os.ErrNotExist)
	}
	return f.commits[len(f.commits)-n], nil
}

func (f *fakeSystem) RescueSave(context.Context) error { f.clear("rescue"); return nil }
func (f *fakeSystem) ReadFile(name string) ([]byte, error) {
	return os.ReadFile(name)
}

var bootTime = time.Date(2026, 11, 26, 10, 2, 57, 0, time.UTC)

func (f *fakeSystem) Version(context.Context) (Version, error) {
	return Version{Board: "qemu-x86_64", Arch: "amd64", Firmware: "2.0", Slot: "B", Kernel: "6.1.0-56-amd64"}, nil
}

func (f *fakeSystem) Uptime(context.Context) (Uptime, error) {
	return Uptime{Now: bootTime.Add(17*time.Minute + 4*time.Second), Booted: bootTime,
		LastConfigured: bootTime.Add(4*time.Minute + 59*time.Second), ConfiguredBy: "root", Users: 1,
		Load: [3]float64{0, 0.01, 0}}, nil
}

func (f *fakeSystem) Storage(context.Context) ([]Filesystem, error) {
	return []Filesystem{
		{Name: "rootfs", MountedOn: "/", Size: 64 << 20, Used: 41 << 20, Avail: 23 << 20},
		{Name: "/dev/vda", MountedOn: "/config", Size: 16 << 20, Used: 1 << 20, Avail: 15 << 20},
	}, nil
}

func (f *fakeSystem) Memory(context.Context) (Memory, error) {
	return Memory{TotalKB: 496380, AvailableKB: 401212, FreeKB: 360144, RSSKB: 38012, PeakRSSKB: 51240, GoHeapKB: 12688}, nil
}

func (f *fakeSystem) LogMessages(context.Context) ([]string, error) {
	return []string{
		"Nov 26 10:02:58 SRX1 init: palisade starting",
		"Nov 26 10:03:01 SRX1 kmd: IKE SA up with 172.16.23.1",
		"Nov 26 10:03:01 SRX1 kmd: IPsec SA up for VPN-to-Host2",
	}, nil
}

func (f *fakeSystem) Reboot(context.Context) error   { f.clear("reboot"); return nil }
func (f *fakeSystem) PowerOff(context.Context) error { f.clear("power-off"); return nil }

func (f *fakeSystem) SoftwareState(context.Context) (string, error) {
	return "Slot a: version 1 (running, default)\nSlot b: empty\n", nil
}

func (f *fakeSystem) SoftwareAdd(_ context.Context, source, sum string) (string, string, error) {
	f.clear("software add " + source + " " + sum)
	return "2", "b", nil
}

func (f *fakeSystem) SoftwareRollback(context.Context) (string, error) {
	f.clear("software rollback")
	return "a", nil
}

// Ping answers once a second until Count or ctx; the test clock is not
// needed since tests use Count or cancel.
func (f *fakeSystem) Ping(ctx context.Context, req PingRequest, out io.Writer) error {
	fmt.Fprintf(out, "PING %s (%s): 56 data bytes\n", req.Host, req.Host)
	for i := 0; req.Count == 0 || i < req.Count; i++ {
		fmt.Fprintf(out, "64 bytes from %s: icmp_seq=%d ttl=64 time=0.512 ms\n", req.Host, i)
		if req.Count == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

// Traceroute records req and traces the seed's path: 10.100.22.10 answers
// at hop 2, any other host never, so that the trace runs to the maximum TTL
// (a hop every 10ms) or Ctrl-C.
func (f *fakeSystem) Traceroute(ctx context.Context, req TracerouteRequest, out io.Writer) error {
	f.mu.Lock()
	f.traces = append(f.traces, req)
	f.mu.Unlock()
	maxTTL := req.MaxTTL
	if maxTTL == 0 {
		maxTTL = 30
	}
	fmt.Fprintf(out, "traceroute to %s (%s), %d hops max, 52 byte packets\n", req.Host, req.Host, maxTTL)
	for ttl := 1; ttl <= maxTTL; ttl++ {
		switch {
		case ttl == 1:
			fmt.Fprintf(out, " 1  172.16.13.2  1.234 ms  0.876 ms  0.812 ms\n")
		case req.Host == "10.100.22.10":
			fmt.Fprintf(out, "%2d  %s  2.345 ms  2.101 ms *\n", ttl, req.Host)
			return nil
		default:
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
			fmt.Fprintf(out, "%2d  * * *\n", ttl)
		}
	}
	return nil
}

func (f *fakeSystem) MonitorTraffic(ctx context.Context, iface string, out io.Writer) error {
	fmt.Fprintf(out, "Listening on %s\n", iface)
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeSystem) Interfaces(context.Context) ([]InterfaceRow, error) {
	return []InterfaceRow{
		{Name: "ge-0/0/0", Admin: true, Link: true},
		{Name: "ge-0/0/0.0", Admin: true, Link: true, Proto: "inet", Local: []string{"10.100.11.1/24"}},
		{Name: "ge-0/0/1", Admin: true, Link: true},
		{Name: "ge-0/0/1.0", Admin: true, Link: true, Proto: "inet", Local: []string{"172.16.13.1/24"}},
	}, nil
}

func (f *fakeSystem) Routes(context.Context) ([]Route, error) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	age := 12*time.Minute + 3*time.Second
	return []Route{
		{Destination: p("10.100.11.0/24"), Protocol: "Direct", Age: age, Active: true, Interface: "ge-0/0/0.0"},
		{Destination: p("0.0.0.0/0"), Protocol: "Static", Preference: 5, Age: 12*time.Minute + time.Second, Active: true,
			NextHop: a("172.16.13.2"), Interface: "ge-0/0/1.0"},
		{Destination: p("10.100.11.1/32"), Protocol: "Local", Age: age, Active: true, Interface: "ge-0/0/0.0"},
		{Destination: p("172.16.13.0/24"), Protocol: "Direct", Age: age, Active: true, Interface: "ge-0/0/1.0"},
		{Destination: p("172.16.13.1/32"), Protocol: "Local", Age: age, Active: true, Interface: "ge-0/0/1.0"},
	}, nil
}

func (f *fakeSystem) PolicyHits(context.Context) ([]PolicyHit, error) {
	return []PolicyHit{
		{From: "trust", To: "untrust", Name: "VPN-OUT", Count: 40},
		{From: "trust", To: "untrust", Name: "default-permit", Count: 3},
	}, nil
}

func (f *fakeSystem) FlowSessions(context.Context) ([]FlowSession, error) {
	a := netip.MustParseAddr
	return []FlowSession{{ID: 35, Policy: "VPN-OUT", PolicyIndex: 4, Timeout: 58,
		In: FlowWing{Src: a("10.100.11.10"), SrcPort: 7, Dst: a("10.100.22.10"), DstPort: 3111, Proto: "icmp",
			Interface: "ge-0/0/0.0", Packets: 1, Bytes: 84},
		Out: FlowWing{Src: a("10.100.22.10"), SrcPort: 3111, Dst: a("10.100.11.10"), DstPort: 7, Proto: "icmp",
			Interface: "ge-0/0/1.0", Packets: 1, Bytes: 84}}}, nil
}

func (f *fakeSystem) clear(what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleared = append(f.cleared, what)
}

func (f *fakeSystem) ClearFlowSessions(context.Context) error { f.clear("flow"); return nil }

func (f *fakeSystem) IKESAs(context.Context) ([]IKESA, error) {
	return []IKESA{{Index: 1859361, Up: true, InitiatorCookie: 0x0f33732903bd3ed7, ResponderCookie: 0xed31e2cf6088415f,
		Mode: "Main", Remote: netip.MustParseAddrPort("172.16.23.1:500"), Local: netip.MustParseAddrPort("172.16.13.1:500"),
		Gateway: "IKE-GW", Initiator: true, AuthMethod: "Pre-shared-keys", Expires: 28711 * time.Second,
		PeerID: "172.16.23.1", Auth: "hmac-sha256-128", Encryption: "aes256-cbc", PRF: "hmac-sha256", DHGroup: 14,
		InBytes: 1208, OutBytes: 1276, InPackets: 6, OutPackets: 6, IPsecCreated: 2}}, nil
}

func (f *fakeSystem) IKEWaiting(context.Context) ([]IKEWaiting, error) {
	return []IKEWaiting{{Gateway: "IKE-GW-3", Interface: "ge-0/0/3", Local: netip.MustParseAddr("172.16.33.1")}}, nil
}

func (f *fakeSystem) ClearIKESAs(context.Context) error { f.clear("ike"); return nil }

func (f *fakeSystem) IPsecSAs(context.Context) ([]IPsecSA, error) {
	t := time.Date(2026, 11, 26, 10, 15, 2, 0, time.UTC)
	return []IPsecSA{{ID: 2, VPN: "VPN-to-Host2", Policy: "VPN-OUT", Version: "IKEv1",
		Local: netip.MustParseAddr("172.16.13.1"), Remote: netip.MustParseAddr("172.16.23.1"), Port: 500,
		LocalID: netip.MustParsePrefix("10.100.11.0/24"), RemoteID: netip.MustParsePrefix("10.100.22.0/24"),
		Encryption: "aes-cbc-128", EncBits: 128, Auth: "sha1", AuthLong: "hmac-sha1-96", DFBit: "clear",
		Lifetime: 921 * time.Second, SoftLife: 348 * time.Second, ReplayWin: 64, Negotiation: 1,
		Events: []TunnelEvent{
			{Time: t, Text: "IPSec SA negotiation successfully completed", Count: 1},
			{Time: t.Add(-time.Second), Text: "IKE SA negotiation successfully completed", Count: 1},
		},
		In: SA{SPI: 0x94337ff7}, Out: SA{SPI: 0xb941875f}}}, nil
}

func (f *fakeSystem) ClearIPsecSAs(context.Context) error { f.clear("ipsec"); return nil }

func (f *fakeSystem) IPsecStats(context.Context, int) (IPsecStats, error) {
	return IPsecStats{EncryptedBytes: 5376, DecryptedBytes: 3360, EncryptedPackets: 40, DecryptedPackets: 40}, nil
}

func (f *fakeSystem) ClearIPsecStats(context.Context) error { f.clear("ipsec-stats"); return nil }

func secondsDur(s int64) time.Duration { return time.Duration(s) * time.Second }

type cfgConfig = config.Config

// syncBuffer is a bytes.Buffer safe for a writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
