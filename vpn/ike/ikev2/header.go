package ikev2

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/palisade/palisade/vpn/ike/seam"
)

// HeaderLen is the length of the fixed IKE header.
const HeaderLen = 28

// Version is IKEv2's version octet: major 2, minor 0.
const Version = 0x20

// ExchangeType is the IKEv2 exchange type (RFC 7296 3.1).
type ExchangeType uint8

// Exchange types.
const (
	IKESAInit     ExchangeType = 34
	IKEAuth       ExchangeType = 35
	CreateChildSA ExchangeType = 36
	Informational ExchangeType = 37
)

func (e ExchangeType) String() string {
	switch e {
	case IKESAInit:
		return "IKE_SA_INIT"
	case IKEAuth:
		return "IKE_AUTH"
	case CreateChildSA:
		return "CREATE_CHILD_SA"
	case Informational:
		return "INFORMATIONAL"
	}
	return fmt.Sprintf("exchange(%d)", uint8(e))
}

// Flags are the IKE header flags.
type Flags uint8

// Header flags (RFC 7296 3.1).
const (
	FlagInitiator Flags = 0x08 // sent by the original initiator of the IKE SA
	FlagVersion   Flags = 0x10
	FlagResponse  Flags = 0x20
)

// Header is the fixed IKE header.
type Header struct {
	SPIi, SPIr  uint64
	NextPayload PayloadType
	Version     uint8
	Exchange    ExchangeType
	Flags       Flags
	MessageID   uint32
	Length      uint32
}

// IsResponse reports whether the message is a response.
func (h Header) IsResponse() bool { return h.Flags&FlagResponse != 0 }

// FromInitiator reports whether the original initiator of the IKE SA sent it.
func (h Header) FromInitiator() bool { return h.Flags&FlagInitiator != 0 }

func (h Header) String() string {
	r := "request"
	if h.IsResponse() {
		r = "response"
	}
	return fmt.Sprintf("%v %s %016x/%016x mid %d", h.Exchange, r, h.SPIi, h.SPIr, h.MessageID)
}

// Append appends the encoded header.
func (h Header) Append(b []byte) []byte {
	r := seam.Header{NextPayload: uint8(h.NextPayload), Version: h.Version, Exchange: uint8(h.Exchange), Flags: uint8(h.Flags),
		MessageID: h.MessageID, Length: h.Length}
	binary.BigEndian.PutUint64(r.SPIi[:], h.SPIi)
	binary.BigEndian.PutUint64(r.SPIr[:], h.SPIr)
	return r.Append(b)
}

// errShort is returned for truncated input.
var errShort = errors.New("truncated")

// DecodeHeader reads the fixed header and checks that the length field fits b.
func DecodeHeader(b []byte) (Header, error) {
	r, err := seam.DecodeHeader(b, 2)
	h := Header{SPIi: binary.BigEndian.Uint64(r.SPIi[:]), SPIr: binary.BigEndian.Uint64(r.SPIr[:]), NextPayload: PayloadType(r.NextPayload),
		Version: r.Version, Exchange: ExchangeType(r.Exchange), Flags: Flags(r.Flags), MessageID: r.MessageID, Length: r.Length}
	if err != nil {
		return h, fmt.Errorf("IKE header: %w", err)
	}
	return h, nil
}
