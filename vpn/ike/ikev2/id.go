package ikev2

import (
	"fmt"
	"net/netip"
)

// IDType is an identification type (RFC 7296 3.5).
type IDType uint8

// Identification types.
const (
	IDIPv4Addr IDType = 1
	IDFQDN     IDType = 2
	IDRFC822   IDType = 3
	IDIPv6Addr IDType = 5
	IDKeyID    IDType = 11
)

// ID is the IDi or IDr payload.
type ID struct {
	Initiator bool // IDi, else IDr
	IDType    IDType
	Data      []byte
}

// Type implements Payload.
func (id *ID) Type() PayloadType {
	if id.Initiator {
		return PayloadIDi
	}
	return PayloadIDr
}

// AppendBody implements Payload. The body is also what the AUTH payload's
// MACedIDFor* covers.
func (id *ID) AppendBody(b []byte) []byte {
	return append(append(b, byte(id.IDType), 0, 0, 0), id.Data...)
}

// String renders the identity as strongSwan and Junos show it.
func (id *ID) String() string {
	if id == nil {
		return ""
	}
	switch id.IDType {
	case IDIPv4Addr, IDIPv6Addr:
		if a, ok := netip.AddrFromSlice(id.Data); ok {
			return a.String()
		}
	case IDFQDN, IDRFC822:
		return string(id.Data)
	}
	return fmt.Sprintf("id(%d):%x", id.IDType, id.Data)
}

// Equal reports whether two identities are the same (type and data).
func (id *ID) Equal(o *ID) bool {
	return id != nil && o != nil && id.IDType == o.IDType && string(id.Data) == string(o.Data)
}

// IDAddr returns an ID_IPV4_ADDR or ID_IPV6_ADDR identity.
func IDAddr(a netip.Addr) *ID {
	t := IDIPv4Addr
	if a.Is6() && !a.Is4In6() {
		t = IDIPv6Addr
	}
	return &ID{IDType: t, Data: a.Unmap().AsSlice()}
}

// IDName returns an ID_FQDN or ID_RFC822_ADDR identity.
func IDName(t IDType, name string) *ID { return &ID{IDType: t, Data: []byte(name)} }

func decodeID(t PayloadType, b []byte) (*ID, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("ID: %w", errShort)
	}
	return &ID{Initiator: t == PayloadIDi, IDType: IDType(b[0]), Data: b[4:]}, nil
}
