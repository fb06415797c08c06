package ikev2

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// TSType is a traffic selector type (RFC 7296 3.13.1).
type TSType uint8

// Traffic selector types.
const (
	TSIPv4Range TSType = 7
	TSIPv6Range TSType = 8
)

// Selector is one traffic selector: an address range, an IP protocol (0 for
// any) and a port range.
type Selector struct {
	TSType     TSType
	Protocol   uint8
	StartPort  uint16
	EndPort    uint16
	Start, End netip.Addr
}

func (s Selector) String() string {
	addr := s.Start.String() + "-" + s.End.String()
	if p, ok := s.Prefix(); ok {
		addr = p.String()
	}
	var pr string
	switch {
	case s.Protocol == 0 && s.StartPort == 0 && s.EndPort == 0xffff:
	case s.StartPort == 0 && s.EndPort == 0xffff:
		pr = fmt.Sprintf("[%d]", s.Protocol)
	case s.StartPort == s.EndPort:
		pr = fmt.Sprintf("[%d/%d]", s.Protocol, s.StartPort)
	default:
		pr = fmt.Sprintf("[%d/%d-%d]", s.Protocol, s.StartPort, s.EndPort)
	}
	return addr + pr
}

// Prefix returns the selector's address range as a prefix, if it is one.
func (s Selector) Prefix() (netip.Prefix, bool) {
	if !s.Start.IsValid() || s.Start.BitLen() != s.End.BitLen() {
		return netip.Prefix{}, false
	}
	for bits := 0; bits <= s.Start.BitLen(); bits++ {
		p := netip.PrefixFrom(s.Start, bits).Masked()
		if p.Addr() == s.Start && lastAddr(p) == s.End {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// SelectorFor returns the selector of a prefix with protocol and port (0 for any).
func SelectorFor(p netip.Prefix, proto uint8, port uint16) Selector {
	p = p.Masked()
	s := Selector{TSType: TSIPv4Range, Protocol: proto, StartPort: port, EndPort: port, Start: p.Addr(), End: lastAddr(p)}
	if p.Addr().Is6() {
		s.TSType = TSIPv6Range
	}
	if port == 0 {
		s.EndPort = 0xffff
	}
	return s
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TS is the TSi or TSr payload.
type TS struct {
	Initiator bool // TSi, else TSr
	Selectors []Selector
}

// Type implements Payload.
func (ts *TS) Type() PayloadType {
	if ts.Initiator {
		return PayloadTSi
	}
	return PayloadTSr
}

func (ts *TS) String() string {
	s := make([]string, len(ts.Selectors))
	for i, x := range ts.Selectors {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

// AppendBody implements Payload.
func (ts *TS) AppendBody(b []byte) []byte {
	b = append(b, byte(len(ts.Selectors)), 0, 0, 0)
	for _, s := range ts.Selectors {
		start := len(b)
		b = append(b, byte(s.TSType), s.Protocol, 0, 0)
		b = binary.BigEndian.AppendUint16(b, s.StartPort)
		b = binary.BigEndian.AppendUint16(b, s.EndPort)
		b = append(b, s.Start.AsSlice()...)
		b = append(b, s.End.AsSlice()...)
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

func decodeTS(t PayloadType, b []byte) (*TS, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("TS: %w", errShort)
	}
	ts := &TS{Initiator: t == PayloadTSi}
	n := int(b[0])
	b = b[4:]
	for i := 0; i < n; i++ {
		if len(b) < 8 {
			return nil, fmt.Errorf("traffic selector %d: %w", i+1, errShort)
		}
		s := Selector{TSType: TSType(b[0]), Protocol: b[1], StartPort: binary.BigEndian.Uint16(b[4:]), EndPort: binary.BigEndian.Uint16(b[6:])}
		l := int(binary.BigEndian.Uint16(b[2:]))
		var alen int
		switch s.TSType {
		case TSIPv4Range:
			alen = 4
		case TSIPv6Range:
			alen = 16
		default:
			return nil, fmt.Errorf("traffic selector type %d is not supported", s.TSType)
		}
		if l != 8+2*alen || len(b) < l {
			return nil, fmt.Errorf("traffic selector %d: length %d with %d bytes left", i+1, l, len(b))
		}
		s.Start, _ = netip.AddrFromSlice(b[8 : 8+alen])
		s.End, _ = netip.AddrFromSlice(b[8+alen : l])
		ts.Selectors = append(ts.Selectors, s)
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("TS: %d bytes after %d selectors", len(b), n)
	}
	return ts, nil
}
