package ikev2

import (
	"encoding/binary"
	"fmt"
)

// Delete is the Delete payload. For IKE it carries no SPI (the header names
// the SA); for ESP, 4-byte SPIs the sender expects on inbound packets.
type Delete struct {
	Protocol ProtocolID
	SPISize  uint8
	SPIs     [][]byte
}

// Type implements Payload.
func (*Delete) Type() PayloadType { return PayloadDelete }

// AppendBody implements Payload.
func (d *Delete) AppendBody(b []byte) []byte {
	b = append(b, byte(d.Protocol), d.SPISize)
	b = binary.BigEndian.AppendUint16(b, uint16(len(d.SPIs)))
	for _, s := range d.SPIs {
		b = append(b, s...)
	}
	return b
}

func decodeDelete(b []byte) (*Delete, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("delete: %w", errShort)
	}
	d := &Delete{Protocol: ProtocolID(b[0]), SPISize: b[1]}
	n := int(binary.BigEndian.Uint16(b[2:]))
	b = b[4:]
	if len(b) != n*int(d.SPISize) {
		return nil, fmt.Errorf("delete: %d SPIs of %d bytes in %d bytes", n, d.SPISize, len(b))
	}
	if d.SPISize == 0 && n != 0 {
		return nil, fmt.Errorf("delete: %d SPIs of size 0", n)
	}
	for i := 0; i < n; i++ {
		d.SPIs = append(d.SPIs, b[:d.SPISize])
		b = b[d.SPISize:]
	}
	return d, nil
}

// DeleteESP returns a Delete payload for ESP SAs by their inbound SPIs.
func DeleteESP(spis ...uint32) *Delete {
	d := &Delete{Protocol: ProtoESP, SPISize: 4}
	for _, s := range spis {
		d.SPIs = append(d.SPIs, binary.BigEndian.AppendUint32(nil, s))
	}
	return d
}
