package seam

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the length of the fixed header that IKEv1 (ISAKMP, RFC 2408
// 3.1) and IKEv2 (RFC 7296 3.1) share.
const HeaderLen = 28

// Header is that header's octets: two 8-octet SPIs (IKEv1's cookies), next
// payload, version, exchange type, flags, message ID and length. Each
// version's codec (isakmp, ikev2) gives them their meaning; the layout,
// and the checks every received datagram needs, are here once.
type Header struct {
	SPIi, SPIr                            [8]byte
	NextPayload, Version, Exchange, Flags uint8
	MessageID, Length                     uint32
}

// DecodeHeader reads the header at the start of b. It checks that the major
// version is major and that the length field covers at least the header
// and at most b.
func DecodeHeader(b []byte, major uint8) (Header, error) {
	var h Header
	if len(b) < HeaderLen {
		return h, fmt.Errorf("%d bytes, need %d", len(b), HeaderLen)
	}
	copy(h.SPIi[:], b[0:8])
	copy(h.SPIr[:], b[8:16])
	h.NextPayload, h.Version, h.Exchange, h.Flags = b[16], b[17], b[18], b[19]
	h.MessageID = binary.BigEndian.Uint32(b[20:24])
	h.Length = binary.BigEndian.Uint32(b[24:28])
	if h.Version>>4 != major {
		return h, fmt.Errorf("version %d.%d, want major version %d", h.Version>>4, h.Version&15, major)
	}
	if h.Length < HeaderLen || uint64(h.Length) > uint64(len(b)) {
		return h, fmt.Errorf("length field %d, datagram has %d bytes", h.Length, len(b))
	}
	return h, nil
}

// Append appends the encoded header to b.
func (h Header) Append(b []byte) []byte {
	b = append(b, h.SPIi[:]...)
	b = append(b, h.SPIr[:]...)
	b = append(b, h.NextPayload, h.Version, h.Exchange, h.Flags)
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, h.Length)
}
