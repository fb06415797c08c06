package isakmp

// Nonce is the Nonce payload. Its body is Ni_b or Nr_b in RFC 2409.
type Nonce struct{ Data []byte }

// Type implements Payload.
func (*Nonce) Type() PayloadType { return PayloadNonce }

// AppendBody implements Payload.
func (n *Nonce) AppendBody(b []byte) []byte { return append(b, n.Data...) }
