package vmtest

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// floodTargets are what the flood knows of the tunnel, so that some of its
// datagrams reach past the first checks: the IKE SA's cookies (IKEv1) or
// SPIs (IKEv2) and our inbound ESP SPI.
type floodTargets struct {
	version int
	icookie [8]byte
	rcookie [8]byte
	espSPI  uint32
}

// kinds of datagrams the flood sends, in turn.
const (
	kindRandom500    = iota // random bytes of random length to 500
	kindRandom4500          // random bytes to 4500 (taken as ESP unless they start with four zeros)
	kindIKE500              // an IKE header with the SA's cookies, random rest, truncated or lying about its length
	kindIKE4500             // the same behind the non-ESP marker
	kindShortIKE4500        // a truncated IKE header behind the marker
	kindESPValidSPI         // ESP in UDP with our inbound SPI and garbage after it
	kindKeepalive           // a NAT-T keepalive (0xff)
	kindMarkerOnly          // the non-ESP marker and nothing else
	numKinds
)

// datagram builds the i-th datagram of the flood into buf and returns it
// and its port.
func (f floodTargets) datagram(rng *rand.Rand, i int, buf []byte) ([]byte, int) {
	fill := func(b []byte) {
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
	}
	ikeHeader := func(b []byte) {
		copy(b[0:8], f.icookie[:])
		if rng.IntN(4) != 0 {
			copy(b[8:16], f.rcookie[:])
		}
		b[16] = byte(rng.IntN(55)) // next payload: valid ones and not
		if f.version == 2 {
			b[17] = 0x20
			b[18] = byte(34 + rng.IntN(5)) // IKE_SA_INIT .. INFORMATIONAL, and one past
			b[19] = []byte{0x08, 0x20, 0x28, 0x00}[rng.IntN(4)]
		} else {
			b[17] = 0x10
			b[18] = []byte{2, 4, 5, 32, 33}[rng.IntN(5)] // main, aggressive, informational, quick, new group
			b[19] = byte(rng.IntN(8))                    // encryption, commit, authentication-only
		}
		binary.BigEndian.PutUint32(b[20:24], rng.Uint32()&0xff) // message ID: small ones hit the live exchanges
		var length uint32
		switch rng.IntN(4) {
		case 0:
			length = uint32(len(b))
		case 1:
			length = uint32(len(b)) + 1 + rng.Uint32N(2000)
		case 2:
			length = rng.Uint32N(28)
		default:
			length = rng.Uint32()
		}
		binary.BigEndian.PutUint32(b[24:28], length)
	}
	switch kind := i % numKinds; kind {
	case kindRandom500, kindRandom4500:
		b := buf[:rng.IntN(1400)]
		fill(b)
		if kind == kindRandom500 {
			return b, 500
		}
		return b, 4500
	case kindIKE500:
		b := buf[:28+rng.IntN(600)]
		fill(b)
		ikeHeader(b)
		return b, 500
	case kindIKE4500:
		b := buf[:4+28+rng.IntN(600)]
		fill(b)
		copy(b, []byte{0, 0, 0, 0})
		ikeHeader(b[4:])
		return b, 4500
	case kindShortIKE4500:
		full := buf[:4+28]
		fill(full)
		copy(full, []byte{0, 0, 0, 0})
		ikeHeader(full[4:])
		return full[:4+rng.IntN(28)], 4500
	case kindESPValidSPI:
		b := buf[:8+rng.IntN(200)]
		fill(b)
		binary.BigEndian.PutUint32(b[0:4], f.espSPI)
		return b, 4500
	case kindKeepalive:
		return append(buf[:0], 0xff), 4500
	default:
		return append(buf[:0], 0, 0, 0, 0), 4500
	}
}

// floodResult counts what the flood sent.
type floodResult struct {
	sent, failed int
	elapsed      time.Duration
}

// flood sends n datagrams from a socket in the namespace ns to dst, about
// rate per second, and returns when done or when ctx ends.
func flood(ctx context.Context, ns string, dst net.IP, f floodTargets, n, rate int, seed uint64) (floodResult, error) {
	conn, err := listenIn(ns)
	if err != nil {
		return floodResult{}, err
	}
	defer conn.Close()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	buf := make([]byte, 1500)
	var r floodResult
	start := time.Now()
	const burst = 50
	for i := 0; i < n; i++ {
		if i%burst == 0 {
			if ctx.Err() != nil {
				break
			}
			// Pace by bursts: the i-th datagram is due at i/rate.
			if rate > 0 {
				if wait := time.Duration(float64(i)/float64(rate)*float64(time.Second)) - time.Since(start); wait > 0 {
					time.Sleep(wait)
				}
			}
		}
		b, port := f.datagram(rng, i, buf)
		if _, err := conn.WriteToUDP(b, &net.UDPAddr{IP: dst, Port: port}); err != nil {
			r.failed++ // ENOBUFS when the TAP queue is full, ECONNREFUSED after an ICMP error
			continue
		}
		r.sent++
	}
	r.elapsed = time.Since(start)
	return r, nil
}

// listenIn opens a UDP socket in the named namespace; the socket stays
// there after the thread that made it has gone.
func listenIn(ns string) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := inNetns(ns, func() error {
		var err error
		c, err = net.ListenUDP("udp4", &net.UDPAddr{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening a UDP socket: %w", err)
	}
	return c, nil
}

func lastLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "")
}

// TestVMFlood: while a ping crosses the tunnel, 100,000 malformed or
// random datagrams go to UDP 500 and 4500 of SRX1 from charon's namespace
// (random bytes, IKE headers with the live SA's cookies or SPIs that are
// truncated or lie about their length, ESP with the live inbound SPI).
// The guest must not crash, the IKE SA must stay UP and under 1% of the
// pings may be lost.
func TestVMFlood(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprintf("IKEv%d", version), func(t *testing.T) {
			l := startLab(t, setup{version: version, weInitiate: true})
			ikes, sas := l.ikeSAs(), l.ipsecSAs()
			if len(ikes) != 1 || len(sas) != 2 {
				t.Fatalf("want one IKE SA and one IPsec SA pair, got %v and %v", ikes, sas)
			}
			f := floodTargets{version: version}
			ic, err1 := hex.DecodeString(ikes[0].icookie)
			rc, err2 := hex.DecodeString(ikes[0].rcookie)
			spi, err3 := strconv.ParseUint(sas[0].spi, 16, 32)
			if err1 != nil || err2 != nil || err3 != nil {
				t.Fatalf("parsing %v %v: %v %v %v", ikes, sas, err1, err2, err3)
			}
			copy(f.icookie[:], ic)
			copy(f.rcookie[:], rc)
			f.espSPI = uint32(spi)
			l.pingOK(5)
			before := l.stats()

			const total = 100_000
			// 10,000 a second by default: PALISADE_FLOOD_RATE=0 sends as
			// fast as the host can.
			rate := 10_000
			if v := os.Getenv("PALISADE_FLOOD_RATE"); v != "" {
				if rate, err1 = strconv.Atoi(v); err1 != nil {
					t.Fatalf("PALISADE_FLOOD_RATE=%q: %v", v, err1)
				}
			}
			seed := uint64(time.Now().UnixNano())
			t.Logf("flood seed %d", seed)
			// The ping runs from before the flood to after it.
			pingFor := 20 * time.Second
			if rate > 0 {
				pingFor = time.Duration(total/rate)*time.Second + 10*time.Second
			}
			const interval = 100 * time.Millisecond
			pings := make(chan pingResult, 1)
			go func() { pings <- l.ping(context.Background(), int(pingFor/interval), interval) }()
			time.Sleep(3 * time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			fr, err := flood(ctx, l.lab.Netns("peer"), net.ParseIP(srxUntrust), f, total, rate, seed)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("flood: %d datagrams sent, %d refused by the host, in %.1f s (%.0f/s)", fr.sent, fr.failed,
				fr.elapsed.Seconds(), float64(fr.sent)/fr.elapsed.Seconds())
			r := <-pings
			t.Logf("ping during the flood: %v (%.2f%% lost)", r, 100*float64(r.lost())/float64(max(r.sent, 1)))
			if fr.sent+fr.failed != total {
				t.Errorf("the flood sent %d of %d datagrams", fr.sent+fr.failed, total)
			}
			if r.sent == 0 || r.lost()*100 >= r.sent {
				t.Errorf("ping during the flood: %v, want under 1%% lost:\n%s", r, r.out)
			}
			select {
			case <-l.g.Exited():
				t.Fatalf("the guest exited during the flood: %v", l.g.Wait(context.Background()))
			default:
			}
			after := l.stats()
			t.Logf("ESP statistics before %+v, after %+v", before, after)
			msgs := l.cli("show log messages | no-more")
			t.Logf("our log has %d lines on IKE; the last of them:\n%s", strings.Count(msgs, "service=ike"), lastLines(grepLines(msgs, "service=ike"), 8))
			ikes2 := l.ikeSAs()
			if len(ikes2) != 1 || ikes2[0].state != "UP" || ikes2[0].icookie != ikes[0].icookie {
				t.Errorf("after the flood the IKE SA is %v, want %v UP", ikes2, ikes)
			}
			if sas2 := l.ipsecSAs(); len(sas2) != 2 || sas2[0].spi != sas[0].spi {
				t.Errorf("after the flood the IPsec SAs are %v, want %v", sas2, sas)
			}
			l.pingOK(5)
		})
	}
}
