package isakmp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IDType is an identification type of the IPsec DOI (RFC 2407 4.6.2.1).
type IDType uint8

// Identification types.
const (
	IDIPv4Addr       IDType = 1
	IDFQDN           IDType = 2
	IDUserFQDN       IDType = 3
	IDIPv4AddrSubnet IDType = 4
	IDIPv6Addr       IDType = 5
	IDIPv6AddrSubnet IDType = 6
	IDIPv4AddrRange  IDType = 7
	IDIPv6AddrRange  IDType = 8
	IDDerASN1DN      IDType = 9
	IDDerASN1GN      IDType = 10
	IDKeyID          IDType = 11
)

func (t IDType) String() string {
	switch t {
	case IDIPv4Addr:
		return "IPV4_ADDR"
	case IDFQDN:
		return "FQDN"
	case IDUserFQDN:
		return "USER_FQDN"
	case IDIPv4AddrSubnet:
		return "IPV4_ADDR_SUBNET"
	case IDIPv6Addr:
		return "IPV6_ADDR"
	case IDIPv6AddrSubnet:
		return "IPV6_ADDR_SUBNET"
	case IDIPv4AddrRange:
		return "IPV4_ADDR_RANGE"
	case IDIPv6AddrRange:
		return "IPV6_ADDR_RANGE"
	case IDDerASN1DN:
		return "DER_ASN1_DN"
	case IDDerASN1GN:
		return "DER_ASN1_GN"
	case IDKeyID:
		return "KEY_ID"
	}
	return fmt.Sprintf("id(%d)", uint8(t))
}

// Identification is the Identification payload with the IPsec DOI fields.
// Data is the raw identification data; use the constructors and accessors
// for typed values.
type Identification struct {
	IDType   IDType
	Protocol uint8 // IP protocol, 0 for any
	Port     uint16
	Data     []byte
}

// Type implements Payload.
func (*Identification) Type() PayloadType { return PayloadID }

// AppendBody implements Payload.
func (id *Identification) AppendBody(b []byte) []byte {
	b = append(b, byte(id.IDType), id.Protocol)
	b = binary.BigEndian.AppendUint16(b, id.Port)
	return append(b, id.Data...)
}

// Body returns the ID payload body (IDii_b, IDir_b in RFC 2409).
func (id *Identification) Body() []byte { return id.AppendBody(nil) }

// IDAddr returns an IPV4_ADDR or IPV6_ADDR identification.
func IDAddr(a netip.Addr, proto uint8, port uint16) *Identification {
	t := IDIPv4Addr
	if a.Is6() && !a.Is4In6() {
		t = IDIPv6Addr
	}
	return &Identification{IDType: t, Protocol: proto, Port: port, Data: a.Unmap().AsSlice()}
}

// IDPrefix returns an ADDR_SUBNET identification, or an ADDR one for a host
// prefix when host is set.
func IDPrefix(p netip.Prefix, proto uint8, port uint16) *Identification {
	p = p.Masked()
	a := p.Addr().Unmap()
	bits := p.Bits()
	if a.Is4() && p.Addr().Is4In6() {
		bits -= 96
	}
	t := IDIPv4AddrSubnet
	if a.Is6() {
		t = IDIPv6AddrSubnet
	}
	mask := make([]byte, a.BitLen()/8)
	for i := 0; i < bits; i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return &Identification{IDType: t, Protocol: proto, Port: port, Data: append(a.AsSlice(), mask...)}
}

// IDName returns an FQDN, USER_FQDN or KEY_ID identification.
func IDName(t IDType, name string) *Identification {
	return &Identification{IDType: t, Data: []byte(name)}
}

// Prefix returns the identification as a prefix: ADDR types give a host
// prefix, ADDR_SUBNET types the subnet (the mask must be contiguous).
func (id *Identification) Prefix() (netip.Prefix, error) {
	switch id.IDType {
	case IDIPv4Addr, IDIPv6Addr:
		a, ok := netip.AddrFromSlice(id.Data)
		if !ok || (id.IDType == IDIPv4Addr) != a.Is4() {
			return netip.Prefix{}, fmt.Errorf("%s with %d bytes of data", id.IDType, len(id.Data))
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	case IDIPv4AddrSubnet, IDIPv6AddrSubnet:
		n := 4
		if id.IDType == IDIPv6AddrSubnet {
			n = 16
		}
		if len(id.Data) != 2*n {
			return netip.Prefix{}, fmt.Errorf("%s with %d bytes of data, want %d", id.IDType, len(id.Data), 2*n)
		}
		a, _ := netip.AddrFromSlice(id.Data[:n])
		bits, ok := maskBits(id.Data[n:])
		if !ok {
			return netip.Prefix{}, fmt.Errorf("%s mask % x is not contiguous", id.IDType, id.Data[n:])
		}
		return netip.PrefixFrom(a, bits), nil
	}
	return netip.Prefix{}, fmt.Errorf("%s is not an address identification", id.IDType)
}

func maskBits(m []byte) (int, bool) {
	bits := 0
	seenZero := false
	for _, c := range m {
		for i := 7; i >= 0; i-- {
			if c&(1<<i) != 0 {
				if seenZero {
					return 0, false
				}
				bits++
			} else {
				seenZero = true
			}
		}
	}
	return bits, true
}

// String renders the identification the way Junos shows a proxy-id, e.g.
// ipv4_subnet(any:0,[0..7]=10.100.11.0/24).
func (id *Identification) String() string {
	proto := "any"
	if id.Protocol != 0 {
		proto = fmt.Sprint(id.Protocol)
	}
	switch id.IDType {
	case IDIPv4Addr, IDIPv6Addr, IDIPv4AddrSubnet, IDIPv6AddrSubnet:
		p, err := id.Prefix()
		if err != nil {
			break
		}
		kind := "ipv4"
		if id.IDType == IDIPv6Addr || id.IDType == IDIPv6AddrSubnet {
			kind = "ipv6"
		}
		if id.IDType == IDIPv4AddrSubnet || id.IDType == IDIPv6AddrSubnet {
			return fmt.Sprintf("%s_subnet(%s:%d,[0..%d]=%s)", kind, proto, id.Port, len(id.Data)-1, p)
		}
		return fmt.Sprintf("%s(%s:%d,[0..%d]=%s)", kind, proto, id.Port, len(id.Data)-1, p.Addr())
	case IDFQDN, IDUserFQDN, IDKeyID:
		return fmt.Sprintf("%s(%s:%d,[0..%d]=%q)", id.IDType, proto, id.Port, len(id.Data)-1, id.Data)
	}
	return fmt.Sprintf("%s(%s:%d,% x)", id.IDType, proto, id.Port, id.Data)
}

func decodeIdentification(b []byte) (*Identification, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("body is %d bytes, need 4", len(b))
	}
	want := map[IDType]int{
		IDIPv4Addr: 4, IDIPv6Addr: 16, IDIPv4AddrSubnet: 8, IDIPv6AddrSubnet: 32, IDIPv4AddrRange: 8, IDIPv6AddrRange: 32,
	}[IDType(b[0])]
	if want != 0 && len(b)-4 != want {
		return nil, fmt.Errorf("%s with %d bytes of data, want %d", IDType(b[0]), len(b)-4, want)
	}
	return &Identification{
		IDType:   IDType(b[0]),
		Protocol: b[1],
		Port:     binary.BigEndian.Uint16(b[2:]),
		Data:     clone(b[4:]),
	}, nil
}
