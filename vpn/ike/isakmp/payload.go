package isakmp

import (
	"encoding/binary"
	"fmt"
)

// PayloadType is the ISAKMP next-payload value.
type PayloadType uint8

// Payload types (RFC 2408 3.1, RFC 3947 for NAT-D and NAT-OA).
const (
	PayloadNone         PayloadType = 0
	PayloadSA           PayloadType = 1
	PayloadProposal     PayloadType = 2
	PayloadTransform    PayloadType = 3
	PayloadKE           PayloadType = 4
	PayloadID           PayloadType = 5
	PayloadCert         PayloadType = 6
	PayloadCertRequest  PayloadType = 7
	PayloadHash         PayloadType = 8
	PayloadSignature    PayloadType = 9
	PayloadNonce        PayloadType = 10
	PayloadNotification PayloadType = 11
	PayloadDelete       PayloadType = 12
	PayloadVendorID     PayloadType = 13
	PayloadNATD         PayloadType = 20
	PayloadNATOA        PayloadType = 21
)

func (p PayloadType) String() string {
	switch p {
	case PayloadNone:
		return "NONE"
	case PayloadSA:
		return "SA"
	case PayloadProposal:
		return "Proposal"
	case PayloadTransform:
		return "Transform"
	case PayloadKE:
		return "KE"
	case PayloadID:
		return "ID"
	case PayloadCert:
		return "CERT"
	case PayloadCertRequest:
		return "CR"
	case PayloadHash:
		return "HASH"
	case PayloadSignature:
		return "SIG"
	case PayloadNonce:
		return "NONCE"
	case PayloadNotification:
		return "N"
	case PayloadDelete:
		return "D"
	case PayloadVendorID:
		return "VID"
	case PayloadNATD:
		return "NAT-D"
	case PayloadNATOA:
		return "NAT-OA"
	}
	return fmt.Sprintf("payload(%d)", uint8(p))
}

// genericHeaderLen is the length of the generic payload header.
const genericHeaderLen = 4

// Payload is one payload of a message. Body is the payload without its
// generic header; the encoder writes the next-payload and length fields.
type Payload interface {
	Type() PayloadType
	// AppendBody appends the payload body (after the generic header).
	AppendBody(b []byte) []byte
}

// DecodeError names the payload and the message offset at which decoding failed.
type DecodeError struct {
	Payload PayloadType
	Offset  int
	Err     error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s payload at offset %d: %v", e.Payload, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// decodeBody decodes the body of one payload of type t.
func decodeBody(t PayloadType, body []byte) (Payload, error) {
	switch t {
	case PayloadSA:
		return decodeSA(body)
	case PayloadKE:
		return &KeyExchange{Data: clone(body)}, nil
	case PayloadID:
		return decodeIdentification(body)
	case PayloadHash:
		return &Hash{Data: clone(body)}, nil
	case PayloadNonce:
		return &Nonce{Data: clone(body)}, nil
	case PayloadNotification:
		return decodeNotification(body)
	case PayloadDelete:
		return decodeDelete(body)
	case PayloadVendorID:
		return &VendorID{Data: clone(body)}, nil
	case PayloadNATD:
		return &NATD{Hash: clone(body)}, nil
	case PayloadNATOA:
		return decodeNATOA(body)
	case PayloadProposal, PayloadTransform:
		return nil, fmt.Errorf("may only appear inside an SA payload")
	}
	return &Raw{PayloadType: t, Body: clone(body)}, nil
}

// DecodePayloads decodes the chain of payloads in b, the first of type first.
// base is the offset of b within the message, used in errors. If
// allowTrailing is set (decrypted bodies carry padding), bytes after the last
// payload are returned as the count of trailing bytes instead of an error.
func DecodePayloads(first PayloadType, b []byte, base int, allowTrailing bool) ([]Payload, int, error) {
	var out []Payload
	next := first
	off := 0
	for next != PayloadNone {
		t := next
		if len(b)-off < genericHeaderLen {
			return nil, 0, &DecodeError{t, base + off, fmt.Errorf("%d bytes left, need a %d-byte generic header", len(b)-off, genericHeaderLen)}
		}
		next = PayloadType(b[off])
		if b[off+1] != 0 {
			return nil, 0, &DecodeError{t, base + off, fmt.Errorf("reserved byte is %#02x, want 0", b[off+1])}
		}
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		if l < genericHeaderLen || l > len(b)-off {
			return nil, 0, &DecodeError{t, base + off, fmt.Errorf("length field %d, %d bytes left", l, len(b)-off)}
		}
		p, err := decodeBody(t, b[off+genericHeaderLen:off+l])
		if err != nil {
			return nil, 0, &DecodeError{t, base + off, err}
		}
		out = append(out, p)
		off += l
	}
	if off != len(b) && !allowTrailing {
		return nil, 0, &DecodeError{PayloadNone, base + off, fmt.Errorf("%d trailing bytes after the last payload", len(b)-off)}
	}
	return out, len(b) - off, nil
}

// AppendPayloads appends the encoded chain of payloads to b.
func AppendPayloads(b []byte, ps []Payload) []byte {
	for i, p := range ps {
		next := PayloadNone
		if i+1 < len(ps) {
			next = ps[i+1].Type()
		}
		start := len(b)
		b = append(b, byte(next), 0, 0, 0)
		b = p.AppendBody(b)
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

// EncodePayload encodes a single payload with its generic header and the
// given next-payload value. Quick mode hashes cover payloads encoded this way.
func EncodePayload(p Payload, next PayloadType) []byte {
	b := []byte{byte(next), 0, 0, 0}
	b = p.AppendBody(b)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// FirstType returns the type of the first payload, or PayloadNone.
func FirstType(ps []Payload) PayloadType {
	if len(ps) == 0 {
		return PayloadNone
	}
	return ps[0].Type()
}

// Raw is a payload of a type this package does not interpret.
type Raw struct {
	PayloadType PayloadType
	Body        []byte
}

// Type implements Payload.
func (r *Raw) Type() PayloadType { return r.PayloadType }

// AppendBody implements Payload.
func (r *Raw) AppendBody(b []byte) []byte { return append(b, r.Body...) }

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
