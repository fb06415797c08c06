package isakmp

import (
	"fmt"
	"net/netip"
)

// NATOA is the NAT Original Address payload (RFC 3947 5.2).
type NATOA struct{ Addr netip.Addr }

// Type implements Payload.
func (*NATOA) Type() PayloadType { return PayloadNATOA }

// AppendBody implements Payload.
func (n *NATOA) AppendBody(b []byte) []byte {
	if n.Addr.Is4() {
		b = append(b, byte(IDIPv4Addr), 0, 0, 0)
	} else {
		b = append(b, byte(IDIPv6Addr), 0, 0, 0)
	}
	return append(b, n.Addr.AsSlice()...)
}

func decodeNATOA(b []byte) (*NATOA, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("body is %d bytes, need 4", len(b))
	}
	if b[1] != 0 || b[2] != 0 || b[3] != 0 {
		return nil, fmt.Errorf("reserved bytes are nonzero")
	}
	want := 0
	switch IDType(b[0]) {
	case IDIPv4Addr:
		want = 4
	case IDIPv6Addr:
		want = 16
	default:
		return nil, fmt.Errorf("ID type %s, want IPV4_ADDR or IPV6_ADDR", IDType(b[0]))
	}
	if len(b)-4 != want {
		return nil, fmt.Errorf("%s address is %d bytes, want %d", IDType(b[0]), len(b)-4, want)
	}
	a, _ := netip.AddrFromSlice(b[4:])
	return &NATOA{Addr: a}, nil
}
