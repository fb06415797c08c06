package diag

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/packet"
)

// Monitor prints the packets seen on a port, one line each, tcpdump style,
// until ctx ends.
func Monitor(ctx context.Context, kernelName string, out io.Writer) error {
	ifi, err := net.InterfaceByName(kernelName)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	c, err := packet.Listen(ifi, packet.Raw, 0x0003 /* ETH_P_ALL */, nil)
	if err != nil {
		return fmt.Errorf("monitor: opening a packet socket on %s: %w", kernelName, err)
	}
	defer c.Close()
	go func() { <-ctx.Done(); c.Close() }()
	fmt.Fprintf(out, "Listening on %s, capture size 1514 bytes\n\n", kernelName)
	buf := make([]byte, 1514)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("monitor: reading: %w", err)
		}
		fmt.Fprintln(out, time.Now().Format("15:04:05.000000")+" "+describe(buf[:n]))
	}
}

// describe summarizes one Ethernet frame.
func describe(f []byte) string {
	if len(f) < 14 {
		return fmt.Sprintf("truncated frame, %d bytes", len(f))
	}
	et := binary.BigEndian.Uint16(f[12:14])
	p := f[14:]
	switch et {
	case 0x0806:
		return fmt.Sprintf("ARP, length %d", len(p))
	case 0x0800:
		if len(p) < 20 {
			return "IP truncated"
		}
		ihl := int(p[0]&0x0f) * 4
		src, _ := netip.AddrFromSlice(p[12:16])
		dst, _ := netip.AddrFromSlice(p[16:20])
		l4 := p[min(ihl, len(p)):]
		ports := func() string {
			if len(l4) < 4 {
				return ""
			}
			return fmt.Sprintf(".%d > %s.%d", binary.BigEndian.Uint16(l4[0:2]), dst, binary.BigEndian.Uint16(l4[2:4]))
		}
		switch p[9] {
		case 1:
			kind := "ICMP"
			if len(l4) > 0 {
				switch l4[0] {
				case 8:
					kind = "ICMP echo request"
				case 0:
					kind = "ICMP echo reply"
				}
			}
			return fmt.Sprintf("IP %s > %s: %s, length %d", src, dst, kind, len(p))
		case 6:
			return fmt.Sprintf("IP %s%s: TCP, length %d", src, ports(), len(p))
		case 17:
			return fmt.Sprintf("IP %s%s: UDP, length %d", src, ports(), len(p))
		case 50:
			if len(l4) >= 8 {
				return fmt.Sprintf("IP %s > %s: ESP(spi=0x%08x,seq=0x%x), length %d", src, dst, binary.BigEndian.Uint32(l4[0:4]), binary.BigEndian.Uint32(l4[4:8]), len(p))
			}
		}
		return fmt.Sprintf("IP %s > %s: proto %d, length %d", src, dst, p[9], len(p))
	}
	return fmt.Sprintf("ethertype 0x%04x, length %d", et, len(f))
}
