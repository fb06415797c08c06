package isakmp

import (
	"encoding/binary"
	"fmt"
)

// Delete is the Delete payload. All SPIs have the same size: 16 for an
// ISAKMP SA (the two cookies), 4 for ESP.
type Delete struct {
	DOI      uint32
	Protocol ProtocolID
	SPISize  uint8
	SPIs     [][]byte
}

// Type implements Payload.
func (*Delete) Type() PayloadType { return PayloadDelete }

// AppendBody implements Payload. SPIs of the wrong size are padded or cut to
// SPISize so that the length fields stay consistent.
func (d *Delete) AppendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, d.DOI)
	b = append(b, byte(d.Protocol), d.SPISize)
	b = binary.BigEndian.AppendUint16(b, uint16(len(d.SPIs)))
	for _, s := range d.SPIs {
		spi := make([]byte, d.SPISize)
		copy(spi, s)
		b = append(b, spi...)
	}
	return b
}

func decodeDelete(b []byte) (*Delete, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("body is %d bytes, need 8", len(b))
	}
	d := &Delete{DOI: binary.BigEndian.Uint32(b), Protocol: ProtocolID(b[4]), SPISize: b[5]}
	n := int(binary.BigEndian.Uint16(b[6:]))
	if n*int(d.SPISize) != len(b)-8 {
		return nil, fmt.Errorf("%d SPIs of %d bytes need %d bytes, have %d", n, d.SPISize, n*int(d.SPISize), len(b)-8)
	}
	for i := 0; i < n; i++ {
		off := 8 + i*int(d.SPISize)
		d.SPIs = append(d.SPIs, clone(b[off:off+int(d.SPISize)]))
	}
	return d, nil
}
