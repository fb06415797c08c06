package isakmp

import (
	"encoding/binary"
	"fmt"
)

// Attribute is an SA data attribute (RFC 2408 3.3). A basic (TV) attribute
// carries a 16-bit Value; a variable (TLV) one carries Data. The form is kept
// so that a decoded attribute encodes back to the same bytes.
type Attribute struct {
	Type  uint16 // without the AF bit
	Basic bool
	Value uint16 // if Basic
	Data  []byte // if !Basic
}

// NewAttribute returns the shortest encoding of an integer attribute: TV when
// the value fits in 16 bits, TLV with a 4-byte (or longer) value otherwise.
func NewAttribute(t uint16, v uint64) Attribute {
	if v <= 0xffff {
		return Attribute{Type: t, Basic: true, Value: uint16(v)}
	}
	if v <= 0xffffffff {
		return Attribute{Type: t, Data: binary.BigEndian.AppendUint32(nil, uint32(v))}
	}
	return Attribute{Type: t, Data: binary.BigEndian.AppendUint64(nil, v)}
}

// Uint returns the attribute's integer value. Variable values longer than 8
// bytes do not fit and return ok=false.
func (a Attribute) Uint() (v uint64, ok bool) {
	if a.Basic {
		return uint64(a.Value), true
	}
	if len(a.Data) > 8 {
		return 0, false
	}
	for _, c := range a.Data {
		v = v<<8 | uint64(c)
	}
	return v, true
}

func (a Attribute) appendTo(b []byte) []byte {
	if a.Basic {
		b = binary.BigEndian.AppendUint16(b, 0x8000|a.Type)
		return binary.BigEndian.AppendUint16(b, a.Value)
	}
	b = binary.BigEndian.AppendUint16(b, a.Type&0x7fff)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Data)))
	return append(b, a.Data...)
}

// decodeAttributes decodes the attributes that fill b exactly.
func decodeAttributes(b []byte) ([]Attribute, error) {
	var out []Attribute
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return nil, fmt.Errorf("attribute at body offset %d: %d bytes left, need 4", off, len(b)-off)
		}
		t := binary.BigEndian.Uint16(b[off:])
		v := binary.BigEndian.Uint16(b[off+2:])
		if t&0x8000 != 0 {
			out = append(out, Attribute{Type: t & 0x7fff, Basic: true, Value: v})
			off += 4
			continue
		}
		if int(v) > len(b)-off-4 {
			return nil, fmt.Errorf("attribute %d at body offset %d: length %d, %d bytes left", t, off, v, len(b)-off-4)
		}
		out = append(out, Attribute{Type: t, Data: clone(b[off+4 : off+4+int(v)])})
		off += 4 + int(v)
	}
	return out, nil
}
