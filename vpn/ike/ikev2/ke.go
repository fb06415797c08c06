package ikev2

import (
	"encoding/binary"
	"fmt"
)

// KE is the Key Exchange payload.
type KE struct {
	Group uint16
	Data  []byte
}

// Type implements Payload.
func (*KE) Type() PayloadType { return PayloadKE }

// AppendBody implements Payload.
func (k *KE) AppendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, k.Group)
	return append(append(b, 0, 0), k.Data...)
}

func decodeKE(b []byte) (*KE, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("KE: %w", errShort)
	}
	return &KE{Group: binary.BigEndian.Uint16(b), Data: b[4:]}, nil
}
