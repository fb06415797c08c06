package diag

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/palisade/palisade/drivers/netnstest"
	"github.com/palisade/palisade/firmware/cli"
)

func TestHopLine(t *testing.T) {
	a := netip.MustParseAddr
	var b bytes.Buffer
	h := startHop(&b, 1)
	h.answered(a("172.16.13.2"), 1234*time.Microsecond, "")
	h.answered(a("172.16.13.2"), 876*time.Microsecond, "")
	h.answered(a("172.16.13.2"), 812*time.Microsecond, "")
	h.end()
	h = startHop(&b, 2)
	h.timedOut()
	h.timedOut()
	h.timedOut()
	h.end()
	// Another router answers the second probe (load balancing); the third
	// sees a host unreachable.
	h = startHop(&b, 10)
	h.answered(a("10.0.0.1"), time.Millisecond, "")
	h.answered(a("10.0.0.5"), 2500*time.Microsecond, "")
	h.timedOut()
	h.end()
	h = startHop(&b, 11)
	h.timedOut()
	h.answered(a("10.0.0.9"), 3*time.Millisecond, "!H")
	h.answered(a("10.0.0.9"), 3*time.Millisecond, "!H")
	h.end()
	want := " 1  172.16.13.2  1.234 ms  0.876 ms  0.812 ms\n" +
		" 2  * * *\n" +
		"10  10.0.0.1  1.000 ms 10.0.0.5  2.500 ms *\n" +
		"11  * 10.0.0.9  3.000 ms !H  3.000 ms !H\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestVerdict(t *testing.T) {
	for _, tt := range []struct {
		typ, code    uint8
		info         uint32
		note         string
		reached, unr bool
	}{
		{icmpTimeExceed, 0, 0, "", false, false},
		{icmpUnreach, unreachPort, 0, "", true, false},
		{icmpUnreach, unreachProtocol, 0, "!P", true, false},
		{icmpUnreach, 0, 0, "!N", false, true},
		{icmpUnreach, 1, 0, "!H", false, true},
		{icmpUnreach, unreachNeedFrag, 1400, "!F-1400", false, true},
		{icmpUnreach, 13, 0, "!X", false, true},
		{icmpUnreach, 42, 0, "!<42>", false, true},
	} {
		note, reached, unr := answer{typ: tt.typ, code: tt.code, info: tt.info}.verdict()
		if note != tt.note || reached != tt.reached || unr != tt.unr {
			t.Errorf("type %d code %d: got %q, %v, %v; want %q, %v, %v", tt.typ, tt.code, note, reached, unr, tt.note, tt.reached, tt.unr)
		}
	}
}

// recvErrTimeExceeded is what Linux puts in an IP_RECVERR control message
// (little-endian) for a TTL that ran out at 172.16.13.2: sock_extended_err
// {ee_errno EHOSTUNREACH, ee_origin ICMP, ee_type 11, ee_code 0} and then
// the offender's sockaddr_in.
var recvErrTimeExceeded = []byte{
	0x71, 0, 0, 0, // ee_errno 113
	2, 11, 0, 0, // ee_origin, ee_type, ee_code, ee_pad
	0, 0, 0, 0, // ee_info
	0, 0, 0, 0, // ee_data
	2, 0, 0, 0, // sin_family AF_INET, sin_port 0
	172, 16, 13, 2, // sin_addr
	0, 0, 0, 0, 0, 0, 0, 0,
}

func littleEndian(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the vectors are little-endian")
	}
}

func TestParseExtendedErr(t *testing.T) {
	littleEndian(t)
	ee, from, ok := parseExtendedErr(recvErrTimeExceeded)
	want := unix.SockExtendedErr{Errno: uint32(unix.EHOSTUNREACH), Origin: unix.SO_EE_ORIGIN_ICMP, Type: 11}
	if !ok || ee != want || from != netip.MustParseAddr("172.16.13.2") {
		t.Errorf("got %+v, %v, %v; want %+v, 172.16.13.2, true", ee, from, ok, want)
	}
	// Port unreachable with an MTU in ee_info, as a check of the offsets.
	b := bytes.Clone(recvErrTimeExceeded)
	b[5], b[6], b[8], b[9] = 3, 3, 0x78, 0x05
	if ee, _, _ := parseExtendedErr(b); ee.Type != 3 || ee.Code != 3 || ee.Info != 1400 {
		t.Errorf("got %+v, want type 3 code 3 info 1400", ee)
	}
	if _, _, ok := parseExtendedErr(recvErrTimeExceeded[:23]); ok {
		t.Error("a short message parsed")
	}
	b = bytes.Clone(recvErrTimeExceeded)
	b[16] = 0 // AF_UNSPEC: no offender
	if _, _, ok := parseExtendedErr(b); ok {
		t.Error("a message without an offender parsed")
	}
}

func FuzzParseExtendedErr(f *testing.F) {
	f.Add(recvErrTimeExceeded)
	f.Add(recvErrTimeExceeded[:16])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, from, ok := parseExtendedErr(b)
		if ok != from.Is4() {
			t.Errorf("ok %v with offender %v", ok, from)
		}
	})
}

// cmsg is one control message as recvmsg returns it.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestParseAnswer(t *testing.T) {
	littleEndian(t)
	probe := &unix.SockaddrInet4{Port: 33437, Addr: [4]byte{10, 100, 22, 10}}
	withType := func(origin, typ, code uint8) []byte {
		b := bytes.Clone(recvErrTimeExceeded)
		b[4], b[5], b[6] = origin, typ, code
		return cmsg(unix.IPPROTO_IP, unix.IP_RECVERR, b)
	}
	a, ok := parseAnswer(probe, withType(unix.SO_EE_ORIGIN_ICMP, 11, 0))
	if want := (answer{port: 33437, from: netip.MustParseAddr("172.16.13.2"), typ: 11}); !ok || a != want {
		t.Errorf("got %+v, %v; want %+v", a, ok, want)
	}
	// Another control message before it is skipped.
	oob := append(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMP, make([]byte, 16)), withType(unix.SO_EE_ORIGIN_ICMP, 3, 3)...)
	if a, ok := parseAnswer(probe, oob); !ok || a.typ != 3 || a.code != 3 {
		t.Errorf("port unreachable after a timestamp: got %+v, %v", a, ok)
	}
	for name, tt := range map[string]struct {
		from unix.Sockaddr
		oob  []byte
	}{
		"local error":               {probe, withType(unix.SO_EE_ORIGIN_LOCAL, 0, 0)},
		"reassembly time exceeded":  {probe, withType(unix.SO_EE_ORIGIN_ICMP, 11, 1)},
		"parameter problem":         {probe, withType(unix.SO_EE_ORIGIN_ICMP, 12, 0)},
		"no IP_RECVERR":             {probe, cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMP, make([]byte, 16))},
		"no control message":        {probe, nil},
		"an IPv6 probe":             {&unix.SockaddrInet6{Port: 33437}, withType(unix.SO_EE_ORIGIN_ICMP, 11, 0)},
		"truncated control message": {probe, withType(unix.SO_EE_ORIGIN_ICMP, 11, 0)[:20]},
	} {
		if a, ok := parseAnswer(tt.from, tt.oob); ok {
			t.Errorf("%s: got answer %+v", name, a)
		}
	}
}

func TestTracerouteRefusesIPv6AndUnknownHosts(t *testing.T) {
	noDNS := func(ctx context.Context, host string) ([]netip.Addr, error) {
		if host == "v6only.example" {
			return []netip.Addr{netip.MustParseAddr("2001:db8::1")}, nil
		}
		return nil, errors.New("no such host")
	}
	for _, tt := range []struct {
		req  cli.TracerouteRequest
		want string
	}{
		{cli.TracerouteRequest{Host: "2001:db8::1"}, "traceroute: 2001:db8::1 is an IPv6 address; only IPv4 is supported"},
		{cli.TracerouteRequest{Host: "nosuch.example"}, "traceroute: unknown host nosuch.example: no such host"},
		{cli.TracerouteRequest{Host: "v6only.example"}, "traceroute: unknown host v6only.example: it has no IPv4 address, and only IPv4 is supported"},
		{cli.TracerouteRequest{Host: "10.0.0.1", Source: netip.MustParseAddr("2001:db8::2")}, "traceroute: source 2001:db8::2 is an IPv6 address; only IPv4 is supported"},
		{cli.TracerouteRequest{Host: "10.0.0.1", MaxTTL: 256}, "traceroute: max ttl 256 out of range 1..255"},
	} {
		var out bytes.Buffer
		err := tracer{lookup: noDNS}.run(context.Background(), tt.req, &out)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%+v: got error %v, want %q", tt.req, err, tt.want)
		}
		if out.Len() != 0 {
			t.Errorf("%+v: printed %q", tt.req, out.String())
		}
	}
}

// stepClock is a clock that moves by step at every reading: every probe
// that is answered takes exactly one step.
func stepClock(step time.Duration) func() time.Time {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}

// line3 builds client — router — target in three fresh namespaces:
//
//	client c0 10.1.0.2/24 — 10.1.0.1/24 r0 router r1 10.2.0.1/24 — 10.2.0.2/24 t0 target
//
// The client and the target route everything through the router, which
// forwards; the router sends 10.3.0.0/24 on to the target, which forwards
// too but has a blackhole for it, so probes to 10.3.0.3 vanish there
// (before their TTL is looked at: hop 2 stays silent).
func line3(t *testing.T) (client, router, target *netnstest.NS) {
	t.Helper()
	client, router, target = netnstest.New(t), netnstest.New(t), netnstest.New(t)
	client.IP(t, "link", "add", "c0", "type", "veth", "peer", "name", "r0", "netns", router.Name)
	router.IP(t, "link", "add", "r1", "type", "veth", "peer", "name", "t0", "netns", target.Name)
	for _, l := range []struct {
		ns   *netnstest.NS
		dev  string
		addr string
	}{
		{client, "c0", "10.1.0.2/24"}, {router, "r0", "10.1.0.1/24"},
		{router, "r1", "10.2.0.1/24"}, {target, "t0", "10.2.0.2/24"},
	} {
		l.ns.IP(t, "addr", "add", l.addr, "dev", l.dev)
		l.ns.LinkUp(t, l.dev)
		l.ns.LinkUp(t, "lo")
	}
	client.IP(t, "route", "add", "default", "via", "10.1.0.1")
	target.IP(t, "route", "add", "default", "via", "10.2.0.1")
	router.IP(t, "route", "add", "10.3.0.0/24", "via", "10.2.0.2")
	target.IP(t, "route", "add", "blackhole", "10.3.0.0/24")
	for _, ns := range []*netnstest.NS{router, target} {
		ns.Run(t, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
		// Rate limiting would turn answers of a quick run into stars.
		ns.Run(t, "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0")
	}
	return client, router, target
}

func TestTracerouteInNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("system test: network namespaces")
	}
	run := func(t *testing.T, ctx context.Context, req cli.TracerouteRequest) (string, error) {
		t.Helper()
		var out bytes.Buffer
		err := tracer{now: stepClock(time.Millisecond)}.run(ctx, req, &out)
		return out.String(), err
	}

	t.Run("reaches the target through the router", func(t *testing.T) {
		client, _, _ := line3(t)
		client.Enter(t)
		got, err := run(t, context.Background(), cli.TracerouteRequest{Host: "10.2.0.2", Source: netip.MustParseAddr("10.1.0.2"), Wait: 2 * time.Second})
		if err != nil {
			t.Fatalf("%v; output:\n%s", err, got)
		}
		want := "traceroute to 10.2.0.2 (10.2.0.2), 30 hops max, 52 byte packets\n" +
			" 1  10.1.0.1  1.000 ms  1.000 ms  1.000 ms\n" +
			" 2  10.2.0.2  1.000 ms  1.000 ms  1.000 ms\n"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("stars where probes vanish", func(t *testing.T) {
		client, _, _ := line3(t)
		client.Enter(t)
		got, err := run(t, context.Background(), cli.TracerouteRequest{Host: "10.3.0.3", MaxTTL: 3, Wait: 300 * time.Millisecond})
		if err != nil {
			t.Fatalf("%v; output:\n%s", err, got)
		}
		want := "traceroute to 10.3.0.3 (10.3.0.3), 3 hops max, 52 byte packets\n" +
			" 1  10.1.0.1  1.000 ms  1.000 ms  1.000 ms\n" +
			" 2  * * *\n" +
			" 3  * * *\n"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("host unreachable ends the trace", func(t *testing.T) {
		client, router, target := line3(t)
		router.IP(t, "route", "add", "10.4.0.0/24", "via", "10.2.0.2")
		// The target answers probes for 10.4.0.0/24 with Host Unreachable.
		target.IP(t, "route", "add", "unreachable", "10.4.0.0/24")
		client.Enter(t)
		got, err := run(t, context.Background(), cli.TracerouteRequest{Host: "10.4.0.4", MaxTTL: 5, Wait: 2 * time.Second})
		if err != nil {
			t.Fatalf("%v; output:\n%s", err, got)
		}
		want := "traceroute to 10.4.0.4 (10.4.0.4), 5 hops max, 52 byte packets\n" +
			" 1  10.1.0.1  1.000 ms  1.000 ms  1.000 ms\n" +
			" 2  10.2.0.2  1.000 ms !H  1.000 ms !H  1.000 ms !H\n"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("no route", func(t *testing.T) {
		client, _, _ := line3(t)
		client.IP(t, "route", "del", "default")
		client.Enter(t)
		got, err := run(t, context.Background(), cli.TracerouteRequest{Host: "10.2.0.2", Wait: time.Second})
		if err == nil || err.Error() != "traceroute: sendto: Network is unreachable" || !errors.Is(err, unix.ENETUNREACH) {
			t.Errorf("got error %v, want traceroute: sendto: Network is unreachable", err)
		}
		if want := "traceroute to 10.2.0.2 (10.2.0.2), 30 hops max, 52 byte packets\n"; got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("a source the client does not have", func(t *testing.T) {
		client, _, _ := line3(t)
		client.Enter(t)
		_, err := run(t, context.Background(), cli.TracerouteRequest{Host: "10.2.0.2", Source: netip.MustParseAddr("10.7.7.7")})
		if !errors.Is(err, unix.EADDRNOTAVAIL) || !strings.Contains(err.Error(), "source address 10.7.7.7") {
			t.Errorf("got error %v, want one naming source address 10.7.7.7 and EADDRNOTAVAIL", err)
		}
	})

	t.Run("Ctrl-C", func(t *testing.T) {
		client, _, _ := line3(t)
		client.Enter(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// Cancel once hop 2's first probe is out. Without cancellation
		// the trace would wait 3 × 20s for hop 2 and go on to hop 3.
		out := &cancelAt{mark: " 2 ", cancel: cancel}
		err := tracer{now: stepClock(time.Millisecond)}.run(ctx, cli.TracerouteRequest{Host: "10.3.0.3", MaxTTL: 3, Wait: 20 * time.Second}, out)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got error %v, want context.Canceled", err)
		}
		if got, want := out.String(), "traceroute to 10.3.0.3 (10.3.0.3), 3 hops max, 52 byte packets\n"+
			" 1  10.1.0.1  1.000 ms  1.000 ms  1.000 ms\n"+
			" 2 \n"; got != want {
			t.Errorf("got\n%q\nwant\n%q", got, want)
		}
	})
}

// cancelAt is a writer that cancels when mark is written.
type cancelAt struct {
	bytes.Buffer
	mark   string
	cancel func()
}

func (c *cancelAt) Write(p []byte) (int, error) {
	if string(p) == c.mark {
		c.cancel()
	}
	return c.Buffer.Write(p)
}
