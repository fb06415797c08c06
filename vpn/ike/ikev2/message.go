package ikev2

import (
	"encoding/binary"
	"fmt"
)

// Message is an IKE message: header and payloads. Encrypted messages carry
// one Encrypted (or Fragment) payload last; see Protect and Unprotect.
type Message struct {
	Header   Header
	Payloads []Payload
}

// Encode returns the wire form with NextPayload and Length filled in.
func (m *Message) Encode() []byte {
	h := m.Header
	h.NextPayload = PayloadNone
	if len(m.Payloads) > 0 {
		h.NextPayload = m.Payloads[0].Type()
	}
	b := h.Append(make([]byte, 0, 512))
	b = AppendPayloads(b, m.Payloads)
	binary.BigEndian.PutUint32(b[24:], uint32(len(b)))
	return b
}

// Decode parses a message. Bytes after the header's length are ignored.
func Decode(b []byte) (*Message, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return nil, err
	}
	ps, err := DecodePayloads(h.NextPayload, b[HeaderLen:h.Length])
	if err != nil {
		return nil, fmt.Errorf("%v: %w", h, err)
	}
	return &Message{Header: h, Payloads: ps}, nil
}

// Find returns the first payload of type t, or nil.
func Find(ps []Payload, t PayloadType) Payload {
	for _, p := range ps {
		if p.Type() == t {
			return p
		}
	}
	return nil
}

// Notifies returns the Notify payloads of ps.
func Notifies(ps []Payload) []*Notify {
	var out []*Notify
	for _, p := range ps {
		if n, ok := p.(*Notify); ok {
			out = append(out, n)
		}
	}
	return out
}

// FindNotify returns the first notify of type t, or nil.
func FindNotify(ps []Payload, t NotifyType) *Notify {
	for _, n := range Notifies(ps) {
		if n.NotifyType == t {
			return n
		}
	}
	return nil
}
