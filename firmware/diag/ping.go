package diag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/palisade/palisade/firmware/cli"
)

// Ping sends ICMP echo requests once a second and prints replies in the
// layout of Junos's ping (which is BSD ping's).
func Ping(ctx context.Context, req cli.PingRequest, out io.Writer) error {
	dst, err := net.ResolveIPAddr("ip4", req.Host)
	if err != nil {
		return fmt.Errorf("ping: cannot resolve %s: %w", req.Host, err)
	}
	src := "0.0.0.0"
	if req.Source.IsValid() {
		src = req.Source.String()
	}
	c, err := icmp.ListenPacket("ip4:icmp", src)
	if err != nil {
		return fmt.Errorf("ping: opening an ICMP socket: %w", err)
	}
	defer c.Close()
	fmt.Fprintf(out, "PING %s (%s): 56 data bytes\n", req.Host, dst.IP)
	id := os.Getpid() & 0xffff
	var sent, got int
	var rtts []time.Duration
	defer func() {
		fmt.Fprintf(out, "\n--- %s ping statistics ---\n", req.Host)
		loss := 0
		if sent > 0 {
			loss = (sent - got) * 100 / sent
		}
		fmt.Fprintf(out, "%d packets transmitted, %d packets received, %d%% packet loss\n", sent, got, loss)
		if len(rtts) > 0 {
			mn, mx, sum := rtts[0], rtts[0], time.Duration(0)
			for _, r := range rtts {
				mn, mx, sum = min(mn, r), max(mx, r), sum+r
			}
			avg := float64(sum) / float64(len(rtts))
			var v float64
			for _, r := range rtts {
				v += (float64(r) - avg) * (float64(r) - avg)
			}
			ms := func(d float64) float64 { return d / float64(time.Millisecond) }
			fmt.Fprintf(out, "round-trip min/avg/max/stddev = %.3f/%.3f/%.3f/%.3f ms\n",
				ms(float64(mn)), ms(avg), ms(float64(mx)), ms(math.Sqrt(v/float64(len(rtts)))))
		}
	}()
	buf := make([]byte, 1500)
	for seq := 0; req.Count == 0 || seq < req.Count; seq++ {
		if ctx.Err() != nil {
			return nil
		}
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: make([]byte, 56)}}
		b, _ := msg.Marshal(nil)
		start := time.Now()
		if _, err := c.WriteTo(b, dst); err != nil {
			fmt.Fprintf(out, "ping: sendto: %v\n", err)
		} else {
			sent++
		}
		deadline := start.Add(time.Second)
		for {
			c.SetReadDeadline(deadline)
			n, peer, err := c.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					return fmt.Errorf("ping: reading: %w", err)
				}
				break
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			e, ok := m.Body.(*icmp.Echo)
			if !ok || e.ID != id || e.Seq != seq {
				continue
			}
			rtt := time.Since(start)
			got++
			rtts = append(rtts, rtt)
			fmt.Fprintf(out, "%d bytes from %s: icmp_seq=%d time=%.3f ms\n", n, peer, seq, float64(rtt)/float64(time.Millisecond))
			break
		}
		if wait := time.Until(deadline); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	}
	return nil
}
