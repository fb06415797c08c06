package isakmp

import "fmt"

// Message is a decoded plaintext ISAKMP message.
type Message struct {
	Header   Header
	Payloads []Payload
}

// Decode decodes a whole plaintext message. The datagram must be exactly the
// header's length; an encrypted message is rejected (see Decrypt).
func Decode(b []byte) (*Message, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return nil, err
	}
	if int(h.Length) != len(b) {
		return nil, fmt.Errorf("isakmp header: length field %d, datagram has %d bytes", h.Length, len(b))
	}
	if h.Flags&FlagEncryption != 0 {
		return nil, fmt.Errorf("isakmp message is encrypted")
	}
	ps, _, err := DecodePayloads(h.NextPayload, b[HeaderLen:], HeaderLen, false)
	if err != nil {
		return nil, err
	}
	return &Message{Header: h, Payloads: ps}, nil
}

// Encode encodes the message in plaintext, filling in the next-payload and
// length fields of the header.
func (m *Message) Encode() []byte {
	h := m.Header
	h.NextPayload = FirstType(m.Payloads)
	if h.Version == 0 {
		h.Version = Version
	}
	b := h.AppendTo(make([]byte, 0, 256))
	b = AppendPayloads(b, m.Payloads)
	putLength(b)
	return b
}

func putLength(b []byte) {
	n := uint32(len(b))
	b[24], b[25], b[26], b[27] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

// Find returns the first payload of type T, or nil.
func Find[T Payload](ps []Payload) T {
	var zero T
	for _, p := range ps {
		if t, ok := p.(T); ok {
			return t
		}
	}
	return zero
}

// FindAll returns all payloads of type T in order.
func FindAll[T Payload](ps []Payload) []T {
	var out []T
	for _, p := range ps {
		if t, ok := p.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
