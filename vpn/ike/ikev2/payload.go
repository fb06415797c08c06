package ikev2

import (
	"encoding/binary"
	"fmt"
)

// PayloadType is the Next Payload value of a payload (RFC 7296 3.2, RFC 7383).
type PayloadType uint8

// Payload types.
const (
	PayloadNone      PayloadType = 0
	PayloadSA        PayloadType = 33
	PayloadKE        PayloadType = 34
	PayloadIDi       PayloadType = 35
	PayloadIDr       PayloadType = 36
	PayloadCert      PayloadType = 37
	PayloadCertReq   PayloadType = 38
	PayloadAuth      PayloadType = 39
	PayloadNonce     PayloadType = 40
	PayloadNotify    PayloadType = 41
	PayloadDelete    PayloadType = 42
	PayloadVendor    PayloadType = 43
	PayloadTSi       PayloadType = 44
	PayloadTSr       PayloadType = 45
	PayloadSK        PayloadType = 46
	PayloadCP        PayloadType = 47
	PayloadEAP       PayloadType = 48
	PayloadSKF       PayloadType = 53
	genericHeaderLen             = 4
	flagCritical                 = 0x80
)

func (t PayloadType) String() string {
	if s, ok := map[PayloadType]string{
		PayloadSA: "SA", PayloadKE: "KE", PayloadIDi: "IDi", PayloadIDr: "IDr", PayloadCert: "CERT", PayloadCertReq: "CERTREQ",
		PayloadAuth: "AUTH", PayloadNonce: "No", PayloadNotify: "N", PayloadDelete: "D", PayloadVendor: "V", PayloadTSi: "TSi",
		PayloadTSr: "TSr", PayloadSK: "SK", PayloadCP: "CP", PayloadEAP: "EAP", PayloadSKF: "SKF",
	}[t]; ok {
		return s
	}
	return fmt.Sprintf("payload(%d)", uint8(t))
}

// Payload is one IKEv2 payload. AppendBody appends the body without the
// generic payload header.
type Payload interface {
	Type() PayloadType
	AppendBody(b []byte) []byte
}

// Unknown is a payload this codec does not parse; Critical is the sender's C bit.
type Unknown struct {
	T        PayloadType
	Critical bool
	Body     []byte
}

// Type implements Payload.
func (u *Unknown) Type() PayloadType { return u.T }

// AppendBody implements Payload.
func (u *Unknown) AppendBody(b []byte) []byte { return append(b, u.Body...) }

// AppendPayloads encodes a payload chain: each generic header names the next
// payload's type, the last names PayloadNone, except an SK or SKF payload,
// which must be last and whose header names the first inner payload.
func AppendPayloads(b []byte, ps []Payload) []byte {
	for i, p := range ps {
		next := PayloadNone
		if i+1 < len(ps) {
			next = ps[i+1].Type()
		}
		switch x := p.(type) {
		case *Encrypted:
			next = x.NextInner
		case *Fragment:
			next = x.NextInner
		}
		start := len(b)
		flags := byte(0)
		if u, ok := p.(*Unknown); ok && u.Critical {
			flags = flagCritical
		}
		b = append(b, byte(next), flags, 0, 0)
		b = p.AppendBody(b)
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

// DecodePayloads reads a payload chain starting with type first. An SK or
// SKF payload ends the chain: the rest of b is its body.
func DecodePayloads(first PayloadType, b []byte) ([]Payload, error) {
	var out []Payload
	next := first
	for next != PayloadNone {
		if len(b) < genericHeaderLen {
			return out, fmt.Errorf("%v payload header: %w", next, errShort)
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n < genericHeaderLen || n > len(b) {
			return out, fmt.Errorf("%v payload: length %d with %d bytes left", next, n, len(b))
		}
		t, following, critical, body := next, PayloadType(b[0]), b[1]&flagCritical != 0, b[genericHeaderLen:n]
		p, err := decodeBody(t, following, critical, body)
		if err != nil {
			return out, fmt.Errorf("%v payload: %w", t, err)
		}
		out = append(out, p)
		b = b[n:]
		next = following
		if t == PayloadSK || t == PayloadSKF {
			if len(b) != 0 {
				return out, fmt.Errorf("%v payload is not last (%d bytes follow)", t, len(b))
			}
			break
		}
	}
	if len(b) != 0 {
		return out, fmt.Errorf("%d bytes after the last payload", len(b))
	}
	return out, nil
}

func decodeBody(t, next PayloadType, critical bool, body []byte) (Payload, error) {
	body = append([]byte(nil), body...) // payloads own their bytes
	switch t {
	case PayloadSA:
		return decodeSA(body)
	case PayloadKE:
		return decodeKE(body)
	case PayloadIDi, PayloadIDr:
		return decodeID(t, body)
	case PayloadAuth:
		return decodeAuth(body)
	case PayloadNonce:
		return decodeNonce(body)
	case PayloadNotify:
		return decodeNotify(body)
	case PayloadDelete:
		return decodeDelete(body)
	case PayloadVendor:
		return &VendorID{Data: body}, nil
	case PayloadTSi, PayloadTSr:
		return decodeTS(t, body)
	case PayloadSK:
		return &Encrypted{NextInner: next, Body: body}, nil
	case PayloadSKF:
		return decodeFragment(next, body)
	case PayloadCP:
		return decodeCP(body)
	}
	return &Unknown{T: t, Critical: critical, Body: body}, nil
}
