package isakmp

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the length of the fixed ISAKMP header.
const HeaderLen = 28

// Version is the only ISAKMP version spoken: major 1, minor 0.
const Version = 0x10

// ExchangeType is the ISAKMP exchange type (RFC 2408 3.1, RFC 2409).
type ExchangeType uint8

// Exchange types used by IKEv1.
const (
	ExchangeMain          ExchangeType = 2 // Identity Protection
	ExchangeAggressive    ExchangeType = 4
	ExchangeInformational ExchangeType = 5
	ExchangeQuick         ExchangeType = 32
)

func (e ExchangeType) String() string {
	switch e {
	case ExchangeMain:
		return "Main"
	case ExchangeAggressive:
		return "Aggressive"
	case ExchangeInformational:
		return "Informational"
	case ExchangeQuick:
		return "Quick"
	}
	return fmt.Sprintf("exchange(%d)", uint8(e))
}

// Flags are the ISAKMP header flags.
type Flags uint8

// Header flags (RFC 2408 3.1).
const (
	FlagEncryption Flags = 1
	FlagCommit     Flags = 2
	FlagAuthOnly   Flags = 4
)

// Cookie is an ISAKMP initiator or responder cookie.
type Cookie [8]byte

func (c Cookie) String() string { return fmt.Sprintf("%x", c[:]) }

// IsZero reports whether the cookie is all zero (a responder cookie not yet chosen).
func (c Cookie) IsZero() bool { return c == Cookie{} }

// Header is the fixed ISAKMP header.
type Header struct {
	InitiatorCookie Cookie
	ResponderCookie Cookie
	NextPayload     PayloadType
	Version         uint8
	Exchange        ExchangeType
	Flags           Flags
	MessageID       uint32
	Length          uint32
}

// DecodeHeader decodes the fixed header at the start of b. It checks the
// version and that the length field covers at least the header and at most b.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderLen {
		return h, fmt.Errorf("isakmp header: %d bytes, need %d", len(b), HeaderLen)
	}
	copy(h.InitiatorCookie[:], b[0:8])
	copy(h.ResponderCookie[:], b[8:16])
	h.NextPayload = PayloadType(b[16])
	h.Version = b[17]
	h.Exchange = ExchangeType(b[18])
	h.Flags = Flags(b[19])
	h.MessageID = binary.BigEndian.Uint32(b[20:24])
	h.Length = binary.BigEndian.Uint32(b[24:28])
	if h.Version>>4 != 1 {
		return h, fmt.Errorf("isakmp header: version %#02x, want major version 1", h.Version)
	}
	if h.Flags&^(FlagEncryption|FlagCommit|FlagAuthOnly) != 0 {
		return h, fmt.Errorf("isakmp header: unknown flags %#02x", uint8(h.Flags))
	}
	if h.Length < HeaderLen || uint64(h.Length) > uint64(len(b)) {
		return h, fmt.Errorf("isakmp header: length field %d, datagram has %d bytes", h.Length, len(b))
	}
	return h, nil
}

// AppendHeader appends the encoded header to b.
func (h *Header) AppendTo(b []byte) []byte {
	b = append(b, h.InitiatorCookie[:]...)
	b = append(b, h.ResponderCookie[:]...)
	b = append(b, byte(h.NextPayload), h.Version, byte(h.Exchange), byte(h.Flags))
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, h.Length)
}
