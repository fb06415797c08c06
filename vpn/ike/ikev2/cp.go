package ikev2

import (
	"encoding/binary"
	"fmt"
)

// CFGType is the Configuration payload's type (RFC 7296 3.15).
type CFGType uint8

// Configuration payload types.
const (
	CFGRequest CFGType = 1
	CFGReply   CFGType = 2
	CFGSet     CFGType = 3
	CFGAck     CFGType = 4
)

// CFGAttribute is one configuration attribute (e.g. 1 INTERNAL_IP4_ADDRESS).
type CFGAttribute struct {
	Type  uint16 // 15 bits
	Value []byte
}

// CP is the Configuration payload. The engine does not use it (site-to-site
// has no virtual addresses); the codec keeps it so that such messages parse.
type CP struct {
	CFGType    CFGType
	Attributes []CFGAttribute
}

// Type implements Payload.
func (*CP) Type() PayloadType { return PayloadCP }

// AppendBody implements Payload.
func (c *CP) AppendBody(b []byte) []byte {
	b = append(b, byte(c.CFGType), 0, 0, 0)
	for _, a := range c.Attributes {
		b = binary.BigEndian.AppendUint16(b, a.Type&0x7fff)
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
		b = append(b, a.Value...)
	}
	return b
}

func decodeCP(b []byte) (*CP, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("CP: %w", errShort)
	}
	c := &CP{CFGType: CFGType(b[0])}
	b = b[4:]
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("CP attribute: %w", errShort)
		}
		t, n := binary.BigEndian.Uint16(b)&0x7fff, int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return nil, fmt.Errorf("CP attribute %d of %d bytes: %w", t, n, errShort)
		}
		c.Attributes = append(c.Attributes, CFGAttribute{Type: t, Value: b[4 : 4+n]})
		b = b[4+n:]
	}
	return c, nil
}
