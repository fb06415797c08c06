package ikev2

import "fmt"

// Nonce is the Nonce payload; RFC 7296 3.9 bounds it to 16..256 bytes.
type Nonce struct{ Data []byte }

// Type implements Payload.
func (*Nonce) Type() PayloadType { return PayloadNonce }

// AppendBody implements Payload.
func (n *Nonce) AppendBody(b []byte) []byte { return append(b, n.Data...) }

func decodeNonce(b []byte) (*Nonce, error) {
	if len(b) < 16 || len(b) > 256 {
		return nil, fmt.Errorf("nonce of %d bytes, must be 16..256", len(b))
	}
	return &Nonce{Data: b}, nil
}
