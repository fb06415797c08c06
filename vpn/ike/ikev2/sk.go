package ikev2

import (
	"encoding/binary"
	"fmt"
)

// Encrypted is the Encrypted and Authenticated payload (SK, RFC 7296 3.14):
// IV, ciphertext and ICV, opaque to the codec. NextInner is the type of the
// first payload inside.
type Encrypted struct {
	NextInner PayloadType
	Body      []byte
}

// Type implements Payload.
func (*Encrypted) Type() PayloadType { return PayloadSK }

// AppendBody implements Payload.
func (e *Encrypted) AppendBody(b []byte) []byte { return append(b, e.Body...) }

// Fragment is the Encrypted Fragment payload (SKF, RFC 7383 2.5). Only the
// first fragment names the first inner payload; the others carry 0.
type Fragment struct {
	NextInner PayloadType
	Number    uint16 // 1-based
	Total     uint16
	Body      []byte // IV, ciphertext, ICV
}

// Type implements Payload.
func (*Fragment) Type() PayloadType { return PayloadSKF }

// AppendBody implements Payload.
func (f *Fragment) AppendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, f.Number)
	b = binary.BigEndian.AppendUint16(b, f.Total)
	return append(b, f.Body...)
}

func decodeFragment(next PayloadType, b []byte) (*Fragment, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("SKF: %w", errShort)
	}
	f := &Fragment{NextInner: next, Number: binary.BigEndian.Uint16(b), Total: binary.BigEndian.Uint16(b[2:]), Body: b[4:]}
	if f.Number == 0 || f.Number > f.Total {
		return nil, fmt.Errorf("SKF: fragment %d of %d", f.Number, f.Total)
	}
	return f, nil
}
