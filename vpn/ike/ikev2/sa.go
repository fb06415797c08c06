package ikev2

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// ProtocolID is the protocol of a proposal, notify or delete (RFC 7296 3.3.1).
type ProtocolID uint8

// Protocol IDs.
const (
	ProtoIKE ProtocolID = 1
	ProtoAH  ProtocolID = 2
	ProtoESP ProtocolID = 3
)

func (p ProtocolID) String() string {
	switch p {
	case ProtoIKE:
		return "IKE"
	case ProtoAH:
		return "AH"
	case ProtoESP:
		return "ESP"
	}
	return fmt.Sprintf("proto(%d)", uint8(p))
}

// TransformType is a transform's type (RFC 7296 3.3.2).
type TransformType uint8

// Transform types.
const (
	TransformEncr  TransformType = 1
	TransformPRF   TransformType = 2
	TransformInteg TransformType = 3
	TransformDH    TransformType = 4
	TransformESN   TransformType = 5
)

// AttrKeyLength is the Key Length attribute type, always in TV format.
const AttrKeyLength = 14

const attrTV = 0x8000

// Attribute is a transform attribute: TV format (2-byte value) when TV,
// else TLV with Value.
type Attribute struct {
	Type  uint16 // without the format bit
	TV    bool
	Short uint16 // the value of a TV attribute
	Value []byte // the value of a TLV attribute
}

// Transform is one transform of a proposal.
type Transform struct {
	Type       TransformType
	ID         uint16
	Attributes []Attribute
}

// KeyLength returns the key length attribute in bits, 0 if absent.
func (t Transform) KeyLength() int {
	for _, a := range t.Attributes {
		if a.TV && a.Type == AttrKeyLength {
			return int(a.Short)
		}
	}
	return 0
}

func (t Transform) String() string {
	s := fmt.Sprintf("%d:%d", t.Type, t.ID)
	if k := t.KeyLength(); k != 0 {
		s += fmt.Sprintf("/%d", k)
	}
	return s
}

// SAProposal is one proposal of an SA payload.
type SAProposal struct {
	Number     uint8
	Protocol   ProtocolID
	SPI        []byte
	Transforms []Transform
}

func (p SAProposal) String() string {
	ts := make([]string, len(p.Transforms))
	for i, t := range p.Transforms {
		ts[i] = t.String()
	}
	return fmt.Sprintf("#%d %v spi %x [%s]", p.Number, p.Protocol, p.SPI, strings.Join(ts, " "))
}

// SA is the Security Association payload.
type SA struct{ Proposals []SAProposal }

// Type implements Payload.
func (*SA) Type() PayloadType { return PayloadSA }

// AppendBody implements Payload.
func (sa *SA) AppendBody(b []byte) []byte {
	for i, p := range sa.Proposals {
		last := byte(2)
		if i == len(sa.Proposals)-1 {
			last = 0
		}
		start := len(b)
		b = append(b, last, 0, 0, 0, p.Number, byte(p.Protocol), byte(len(p.SPI)), byte(len(p.Transforms)))
		b = append(b, p.SPI...)
		for j, t := range p.Transforms {
			tlast := byte(3)
			if j == len(p.Transforms)-1 {
				tlast = 0
			}
			ts := len(b)
			b = append(b, tlast, 0, 0, 0, byte(t.Type), 0)
			b = binary.BigEndian.AppendUint16(b, t.ID)
			for _, a := range t.Attributes {
				if a.TV {
					b = binary.BigEndian.AppendUint16(b, a.Type|attrTV)
					b = binary.BigEndian.AppendUint16(b, a.Short)
					continue
				}
				b = binary.BigEndian.AppendUint16(b, a.Type&^attrTV)
				b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
				b = append(b, a.Value...)
			}
			binary.BigEndian.PutUint16(b[ts+2:], uint16(len(b)-ts))
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

func decodeSA(b []byte) (*SA, error) {
	sa := &SA{}
	for more := len(b) > 0; more; {
		if len(b) < 8 {
			return nil, fmt.Errorf("proposal header: %w", errShort)
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n < 8 || n > len(b) {
			return nil, fmt.Errorf("proposal length %d with %d bytes left", n, len(b))
		}
		if b[0] != 0 && b[0] != 2 {
			return nil, fmt.Errorf("proposal last-substruc %d", b[0])
		}
		more = b[0] == 2
		p := SAProposal{Number: b[4], Protocol: ProtocolID(b[5])}
		spiLen, nt := int(b[6]), int(b[7])
		body := b[8:n]
		if len(body) < spiLen {
			return nil, fmt.Errorf("proposal SPI: %w", errShort)
		}
		p.SPI, body = body[:spiLen], body[spiLen:]
		for i := 0; i < nt; i++ {
			if len(body) < 8 {
				return nil, fmt.Errorf("transform header: %w", errShort)
			}
			tn := int(binary.BigEndian.Uint16(body[2:]))
			if tn < 8 || tn > len(body) {
				return nil, fmt.Errorf("transform length %d with %d bytes left", tn, len(body))
			}
			if (i == nt-1) != (body[0] == 0) || (body[0] != 0 && body[0] != 3) {
				return nil, fmt.Errorf("transform %d of %d has last-substruc %d", i+1, nt, body[0])
			}
			t := Transform{Type: TransformType(body[4]), ID: binary.BigEndian.Uint16(body[6:])}
			ab := body[8:tn]
			for len(ab) > 0 {
				if len(ab) < 4 {
					return nil, fmt.Errorf("transform attribute: %w", errShort)
				}
				at, av := binary.BigEndian.Uint16(ab), binary.BigEndian.Uint16(ab[2:])
				if at&attrTV != 0 {
					t.Attributes = append(t.Attributes, Attribute{Type: at &^ attrTV, TV: true, Short: av})
					ab = ab[4:]
					continue
				}
				if int(av) > len(ab)-4 {
					return nil, fmt.Errorf("transform attribute length %d: %w", av, errShort)
				}
				t.Attributes = append(t.Attributes, Attribute{Type: at, Value: ab[4 : 4+av]})
				ab = ab[4+av:]
			}
			p.Transforms = append(p.Transforms, t)
			body = body[tn:]
		}
		if len(body) != 0 {
			return nil, fmt.Errorf("%d bytes after the transforms of proposal %d", len(body), p.Number)
		}
		sa.Proposals = append(sa.Proposals, p)
		b = b[n:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last proposal", len(b))
	}
	return sa, nil
}
