package isakmp

// KeyExchange is the Key Exchange payload: the sender's Diffie-Hellman public
// value (for ECP groups x|y without a point-format byte, RFC 5903).
type KeyExchange struct{ Data []byte }

// Type implements Payload.
func (*KeyExchange) Type() PayloadType { return PayloadKE }

// AppendBody implements Payload.
func (k *KeyExchange) AppendBody(b []byte) []byte { return append(b, k.Data...) }
