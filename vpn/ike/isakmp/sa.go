package isakmp

import (
	"encoding/binary"
	"fmt"
)

// DOIIPsec is the IPsec domain of interpretation (RFC 2407).
const DOIIPsec = 1

// SituationIdentityOnly is SIT_IDENTITY_ONLY (RFC 2407 4.2).
const SituationIdentityOnly = 1

// ProtocolID is a protocol in a proposal, notification or delete (RFC 2407 4.4.1).
type ProtocolID uint8

// Protocol IDs.
const (
	ProtoISAKMP ProtocolID = 1
	ProtoAH     ProtocolID = 2
	ProtoESP    ProtocolID = 3
	ProtoIPComp ProtocolID = 4
)

func (p ProtocolID) String() string {
	switch p {
	case ProtoISAKMP:
		return "ISAKMP"
	case ProtoAH:
		return "AH"
	case ProtoESP:
		return "ESP"
	case ProtoIPComp:
		return "IPCOMP"
	}
	return fmt.Sprintf("protocol(%d)", uint8(p))
}

// SA is the Security Association payload with the IPsec DOI situation.
type SA struct {
	DOI       uint32
	Situation uint32
	Proposals []Proposal
}

// Proposal is one proposal payload with its transforms.
type Proposal struct {
	Number     uint8
	Protocol   ProtocolID
	SPI        []byte
	Transforms []Transform
}

// Transform is one transform payload with its SA attributes.
type Transform struct {
	Number     uint8
	ID         uint8
	Attributes []Attribute
}

// Type implements Payload.
func (*SA) Type() PayloadType { return PayloadSA }

// AppendBody implements Payload.
func (s *SA) AppendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, s.DOI)
	b = binary.BigEndian.AppendUint32(b, s.Situation)
	for i, p := range s.Proposals {
		next := PayloadNone
		if i+1 < len(s.Proposals) {
			next = PayloadProposal
		}
		start := len(b)
		b = append(b, byte(next), 0, 0, 0, p.Number, byte(p.Protocol), byte(len(p.SPI)), byte(len(p.Transforms)))
		b = append(b, p.SPI...)
		for j, t := range p.Transforms {
			tnext := PayloadNone
			if j+1 < len(p.Transforms) {
				tnext = PayloadTransform
			}
			tstart := len(b)
			b = append(b, byte(tnext), 0, 0, 0, t.Number, t.ID, 0, 0)
			for _, a := range t.Attributes {
				b = a.appendTo(b)
			}
			binary.BigEndian.PutUint16(b[tstart+2:], uint16(len(b)-tstart))
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	return b
}

// Body returns the SA payload body (SAi_b in RFC 2409).
func (s *SA) Body() []byte { return s.AppendBody(nil) }

func decodeSA(b []byte) (*SA, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("body is %d bytes, need 8 for DOI and situation", len(b))
	}
	s := &SA{DOI: binary.BigEndian.Uint32(b), Situation: binary.BigEndian.Uint32(b[4:])}
	if s.DOI != DOIIPsec {
		return nil, fmt.Errorf("DOI %d, only the IPsec DOI (1) is supported", s.DOI)
	}
	off := 8
	more := len(b) > off
	for more {
		if len(b)-off < 8 {
			return nil, fmt.Errorf("proposal at body offset %d: %d bytes left, need 8", off, len(b)-off)
		}
		next := PayloadType(b[off])
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		switch {
		case next != PayloadNone && next != PayloadProposal:
			return nil, fmt.Errorf("proposal at body offset %d: next payload %s, want Proposal or NONE", off, next)
		case b[off+1] != 0:
			return nil, fmt.Errorf("proposal at body offset %d: reserved byte is nonzero", off)
		case l < 8 || l > len(b)-off:
			return nil, fmt.Errorf("proposal at body offset %d: length %d, %d bytes left", off, l, len(b)-off)
		}
		p, err := decodeProposal(b[off+4 : off+l])
		if err != nil {
			return nil, fmt.Errorf("proposal at body offset %d: %w", off, err)
		}
		s.Proposals = append(s.Proposals, p)
		off += l
		more = next == PayloadProposal
	}
	if off != len(b) {
		return nil, fmt.Errorf("%d bytes after the last proposal", len(b)-off)
	}
	return s, nil
}

func decodeProposal(b []byte) (Proposal, error) {
	p := Proposal{Number: b[0], Protocol: ProtocolID(b[1])}
	spiLen, n := int(b[2]), int(b[3])
	if spiLen > len(b)-4 {
		return p, fmt.Errorf("SPI size %d, %d bytes left", spiLen, len(b)-4)
	}
	p.SPI = clone(b[4 : 4+spiLen])
	off := 4 + spiLen
	for i := 0; i < n; i++ {
		if len(b)-off < 8 {
			return p, fmt.Errorf("transform %d: %d bytes left, need 8", i+1, len(b)-off)
		}
		next := PayloadType(b[off])
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		wantNext := PayloadTransform
		if i == n-1 {
			wantNext = PayloadNone
		}
		switch {
		case next != wantNext:
			return p, fmt.Errorf("transform %d of %d: next payload %s, want %s", i+1, n, next, wantNext)
		case b[off+1] != 0 || b[off+6] != 0 || b[off+7] != 0:
			return p, fmt.Errorf("transform %d: reserved bytes are nonzero", i+1)
		case l < 8 || l > len(b)-off:
			return p, fmt.Errorf("transform %d: length %d, %d bytes left", i+1, l, len(b)-off)
		}
		attrs, err := decodeAttributes(b[off+8 : off+l])
		if err != nil {
			return p, fmt.Errorf("transform %d: %w", i+1, err)
		}
		p.Transforms = append(p.Transforms, Transform{Number: b[off+4], ID: b[off+5], Attributes: attrs})
		off += l
	}
	if off != len(b) {
		return p, fmt.Errorf("%d bytes after %d transforms", len(b)-off, n)
	}
	return p, nil
}
