package diag

// Traceroute without a raw socket, as tracepath does it: UDP probes with a
// growing TTL on an ordinary socket with IP_RECVERR, so that the kernel
// queues the ICMP error each probe draws (Time Exceeded from a router, Port
// Unreachable from the target) on the socket's error queue, together with
// the address of whoever sent it.

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade/palisade/firmware/cli"
)

const (
	traceBasePort = 33434 // traceroute(8)'s first destination port, one more per probe
	traceProbes   = 3
	// tracePayload makes the 52 byte packets of the header line:
	// 20 bytes of IPv4 header, 8 of UDP and 24 of data.
	tracePayload = 24
	traceMaxTTL  = 30
	traceWait    = 5 * time.Second
	// tracePoll bounds one wait in poll(2), so that Ctrl-C (ctx) ends a
	// long wait soon.
	tracePoll = 50 * time.Millisecond
)

// Traceroute prints the routers on the way to req.Host as Junos's
// traceroute (BSD traceroute(8)) does: a header line, then one line per
// hop with three probes each. It stops at the host, after a hop that
// reported the host unreachable, at the maximum TTL, or when ctx is done.
func Traceroute(ctx context.Context, req cli.TracerouteRequest, out io.Writer) error {
	return tracer{}.run(ctx, req, out)
}

// TracerouteAt is Traceroute with the clock that stamps probes and answers.
func TracerouteAt(ctx context.Context, now func() time.Time, req cli.TracerouteRequest, out io.Writer) error {
	return tracer{now: now}.run(ctx, req, out)
}

// tracer is one traceroute's dependencies. Its zero value uses the real
// clock and the system's resolver.
type tracer struct {
	// now stamps a probe when it leaves and its answer when it is read; the
	// waiting itself is poll(2)'s, so a test clock changes only the times
	// printed.
	now func() time.Time
	// lookup finds the addresses of a host name.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

func (t tracer) run(ctx context.Context, req cli.TracerouteRequest, out io.Writer) error {
	maxTTL := cmp.Or(req.MaxTTL, traceMaxTTL)
	if maxTTL < 1 || maxTTL > 255 {
		return fmt.Errorf("traceroute: max ttl %d out of range 1..255", maxTTL)
	}
	wait := cmp.Or(req.Wait, traceWait)
	if wait < 0 {
		return fmt.Errorf("traceroute: negative wait %v", wait)
	}
	src := req.Source.Unmap()
	if src.IsValid() && !src.Is4() {
		return fmt.Errorf("traceroute: source %s is an IPv6 address; only IPv4 is supported", req.Source)
	}
	dst, err := t.target(ctx, req.Host)
	if err != nil {
		return err
	}
	now := t.now
	if now == nil {
		now = time.Now
	}
	s, err := openProbeSocket(src)
	if err != nil {
		return err
	}
	defer s.close()

	fmt.Fprintf(out, "traceroute to %s (%s), %d hops max, %d byte packets\n", req.Host, dst, maxTTL, 20+8+tracePayload)
	payload := make([]byte, tracePayload)
	port := traceBasePort
	for ttl := 1; ttl <= maxTTL; ttl++ {
		var line *hopLine
		end := func() {
			if line != nil {
				line.end()
			}
		}
		reached, unreachable := false, 0
		for range traceProbes {
			if err := ctx.Err(); err != nil {
				end()
				return err
			}
			s.drain()
			sent := now()
			if err := s.send(dst, port, ttl, payload); err != nil {
				end()
				return err
			}
			// The hop's number shows once its first probe is out, so that
			// a failed send leaves no half line above the error.
			if line == nil {
				line = startHop(out, ttl)
			}
			a, ok, err := s.await(ctx, port, time.Now().Add(wait))
			port++
			if err != nil {
				end()
				return err
			}
			if !ok {
				line.timedOut()
				continue
			}
			note, r, u := a.verdict()
			line.answered(a.from, now().Sub(sent), note)
			reached = reached || r
			if u {
				unreachable++
			}
		}
		end()
		// traceroute(8)'s rule: an unreachable hop ends the trace once
		// all probes but one said so.
		if reached || unreachable > 0 && unreachable >= traceProbes-1 {
			return nil
		}
	}
	return nil
}

// target is the IPv4 address of host: the host itself when it is an
// address, else the first IPv4 address its name resolves to.
func (t tracer) target(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a = a.Unmap(); !a.Is4() {
			return netip.Addr{}, fmt.Errorf("traceroute: %s is an IPv6 address; only IPv4 is supported", host)
		}
		return a, nil
	}
	lookup := t.lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		}
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("traceroute: unknown host %s: %w", host, err)
	}
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("traceroute: unknown host %s: it has no IPv4 address, and only IPv4 is supported", host)
}

// probeSocket is an unconnected UDP socket whose error queue says which
// router or host each probe reached.
type probeSocket struct{ fd int }

func openProbeSocket(src netip.Addr) (*probeSocket, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("traceroute: opening a UDP socket: %w", err)
	}
	s := &probeSocket{fd: fd}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1); err != nil {
		s.close()
		return nil, fmt.Errorf("traceroute: asking for ICMP errors (IP_RECVERR): %w", err)
	}
	if src.IsValid() {
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: src.As4()}); err != nil {
			s.close()
			return nil, fmt.Errorf("traceroute: source address %s: %w", src, err)
		}
	}
	return s, nil
}

func (s *probeSocket) close() { unix.Close(s.fd) }

// sendError is a failed sendto(2) in traceroute(8)'s words:
// "traceroute: sendto: Network is unreachable".
type sendError struct{ errno unix.Errno }

func (e sendError) Error() string {
	msg := e.errno.Error()
	return "traceroute: sendto: " + strings.ToUpper(msg[:1]) + msg[1:]
}

func (e sendError) Unwrap() error { return e.errno }

// send sends one probe to port of dst with the given TTL.
func (s *probeSocket) send(dst netip.Addr, port, ttl int, payload []byte) error {
	if err := unix.SetsockoptInt(s.fd, unix.IPPROTO_IP, unix.IP_TTL, ttl); err != nil {
		return fmt.Errorf("traceroute: setting TTL %d: %w", ttl, err)
	}
	to := &unix.SockaddrInet4{Port: port, Addr: dst.As4()}
	err := unix.Sendto(s.fd, payload, 0, to)
	if err != nil && s.drain() > 0 {
		// The socket reported the error a late answer left pending (it
		// sets the socket error as well) instead of sending: send again.
		err = unix.Sendto(s.fd, payload, 0, to)
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return sendError{errno}
	}
	return err
}

// drain drops what the error queue holds, answers to earlier probes that
// came too late, and the socket error they left pending, which a send
// would report instead of sending. It returns how many answers it dropped.
func (s *probeSocket) drain() int {
	n := 0
	for {
		if _, _, err := s.next(); err != nil {
			break
		}
		n++
	}
	unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	return n
}

// next reads one entry of the error queue without waiting. ok is false for
// an entry that is no answer traceroute counts; err is unix.EAGAIN when the
// queue is empty.
func (s *probeSocket) next() (a answer, ok bool, err error) {
	var data, oob [512]byte
	_, oobn, _, from, err := unix.Recvmsg(s.fd, data[:], oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if err != nil {
		return answer{}, false, err
	}
	a, ok = parseAnswer(from, oob[:oobn])
	return a, ok, nil
}

// await waits until deadline for the answer to the probe sent to port.
// ok is false when none came in time; answers to other probes are dropped.
func (s *probeSocket) await(ctx context.Context, port int, deadline time.Time) (answer, bool, error) {
	for {
		a, ok, err := s.next()
		switch {
		case err == nil && ok && a.port == port:
			return a, true, nil
		case err == nil:
			continue
		case !errors.Is(err, unix.EAGAIN):
			return answer{}, false, fmt.Errorf("traceroute: reading the error queue: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return answer{}, false, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return answer{}, false, nil
		}
		// A socket error without a queued answer (the kernel could not
		// queue one) would keep poll reporting POLLERR: clear it.
		unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		// POLLERR, which a queued answer raises, is reported unasked.
		fds := []unix.PollFd{{Fd: int32(s.fd)}}
		ms := int((min(left, tracePoll) + time.Millisecond - 1) / time.Millisecond)
		if _, err := unix.Poll(fds, ms); err != nil && !errors.Is(err, unix.EINTR) {
			return answer{}, false, fmt.Errorf("traceroute: waiting for answers: %w", err)
		}
	}
}

// answer is an ICMP error one probe drew.
type answer struct {
	port      int        // the destination port of the probe
	from      netip.Addr // the router or host that sent the error
	typ, code uint8      // ICMP type and code
	info      uint32     // the next-hop MTU of Fragmentation Needed
}

// ICMP types and codes traceroute(8) looks at.
const (
	icmpUnreach     = 3
	icmpTimeExceed  = 11
	unreachProtocol = 2
	unreachPort     = 3
	unreachNeedFrag = 4
)

// unreachNotes are traceroute(8)'s marks after the time of a Destination
// Unreachable, by code (FreeBSD's names in comments).
var unreachNotes = map[uint8]string{
	0:  "!N", // net
	1:  "!H", // host
	2:  "!P", // protocol
	5:  "!S", // source route failed
	6:  "!U", // unknown net
	7:  "!W", // unknown host
	8:  "!I", // source host isolated
	9:  "!A", // net prohibited
	10: "!Z", // host prohibited
	11: "!Q", // net unreachable for TOS
	12: "!T", // host unreachable for TOS
	13: "!X", // communication administratively prohibited
	14: "!V", // host precedence violation
	15: "!C", // precedence cutoff
}

// verdict says what traceroute(8) prints after the time of a, whether a
// comes from the destination (reached) and whether it reports the
// destination unreachable.
func (a answer) verdict() (note string, reached, unreachable bool) {
	if a.typ != icmpUnreach {
		return "", false, false
	}
	switch a.code {
	case unreachPort:
		return "", true, false
	case unreachProtocol:
		return unreachNotes[a.code], true, false
	case unreachNeedFrag:
		return fmt.Sprintf("!F-%d", a.info), false, true
	}
	if n, ok := unreachNotes[a.code]; ok {
		return n, false, true
	}
	return fmt.Sprintf("!<%d>", a.code), false, true
}

// parseAnswer reads one entry of the error queue: from is the probe's
// destination (recvmsg's msg_name), oob its control messages. ok is false
// unless it is an ICMP error traceroute(8) counts: Time Exceeded in transit
// or Destination Unreachable.
func parseAnswer(from unix.Sockaddr, oob []byte) (a answer, ok bool) {
	to, isIn4 := from.(*unix.SockaddrInet4)
	if !isIn4 {
		return answer{}, false
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return answer{}, false
	}
	for _, m := range msgs {
		if m.Header.Level != unix.IPPROTO_IP || m.Header.Type != unix.IP_RECVERR {
			continue
		}
		ee, offender, ok := parseExtendedErr(m.Data)
		if !ok || ee.Origin != unix.SO_EE_ORIGIN_ICMP {
			return answer{}, false
		}
		if !(ee.Type == icmpTimeExceed && ee.Code == 0 || ee.Type == icmpUnreach) {
			return answer{}, false
		}
		return answer{port: to.Port, from: offender, typ: ee.Type, code: ee.Code, info: ee.Info}, true
	}
	return answer{}, false
}

// parseExtendedErr reads the data of an IP_RECVERR control message: a
// struct sock_extended_err (16 bytes in host byte order) and after it the
// sockaddr_in of the sender of the ICMP error (SO_EE_OFFENDER). ok is false
// when the data is short or names no IPv4 sender.
func parseExtendedErr(b []byte) (ee unix.SockExtendedErr, offender netip.Addr, ok bool) {
	const eeLen, sinLen = 16, 8 // sin_family, sin_port, sin_addr
	if len(b) < eeLen+sinLen {
		return ee, offender, false
	}
	ne := binary.NativeEndian
	ee = unix.SockExtendedErr{
		Errno: ne.Uint32(b[0:]), Origin: b[4], Type: b[5], Code: b[6], Pad: b[7],
		Info: ne.Uint32(b[8:]), Data: ne.Uint32(b[12:]),
	}
	if ne.Uint16(b[eeLen:]) != unix.AF_INET {
		return ee, offender, false
	}
	return ee, netip.AddrFrom4([4]byte(b[eeLen+4 : eeLen+8])), true
}

// hopLine prints one hop as traceroute(8) does, a probe at a time, so that
// each answer of a slow hop shows as it comes:
//
//	" 1  172.16.13.2  1.234 ms  0.876 ms *"
type hopLine struct {
	w    io.Writer
	last netip.Addr // the address printed last on this line
}

func startHop(w io.Writer, ttl int) *hopLine {
	fmt.Fprintf(w, "%2d ", ttl)
	return &hopLine{w: w}
}

// answered prints the time of an answer, led by its sender's address when
// that differs from the last one on the line.
func (h *hopLine) answered(from netip.Addr, rtt time.Duration, note string) {
	if from != h.last {
		fmt.Fprintf(h.w, " %s", from)
		h.last = from
	}
	fmt.Fprintf(h.w, "  %.3f ms", float64(rtt)/float64(time.Millisecond))
	if note != "" {
		fmt.Fprintf(h.w, " %s", note)
	}
}

func (h *hopLine) timedOut() { io.WriteString(h.w, " *") }

func (h *hopLine) end() { io.WriteString(h.w, "\n") }
