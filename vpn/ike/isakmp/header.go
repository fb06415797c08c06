package isakmp

import (
	"fmt"

	"github.com/palisade/palisade/vpn/ike/seam"
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
	r, err := seam.DecodeHeader(b, 1)
	h := Header{InitiatorCookie: r.SPIi, ResponderCookie: r.SPIr, NextPayload: PayloadType(r.NextPayload), Version: r.Version,
		Exchange: ExchangeType(r.Exchange), Flags: Flags(r.Flags), MessageID: r.MessageID, Length: r.Length}
	if err != nil {
		return h, fmt.Errorf("isakmp header: %w", err)
	}
	if h.Flags&^(FlagEncryption|FlagCommit|FlagAuthOnly) != 0 {
		return h, fmt.Errorf("isakmp header: unknown flags %#02x", uint8(h.Flags))
	}
	return h, nil
}

// AppendTo appends the encoded header to b.
func (h *Header) AppendTo(b []byte) []byte {
	return seam.Header{SPIi: h.InitiatorCookie, SPIr: h.ResponderCookie, NextPayload: uint8(h.NextPayload), Version: h.Version,
		Exchange: uint8(h.Exchange), Flags: uint8(h.Flags), MessageID: h.MessageID, Length: h.Length}.Append(b)
}
