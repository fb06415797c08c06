package isakmp

import (
	"bytes"
	"reflect"
	"testing"
)

// mainMode1 is a main mode first message: SA, VID(RFC 3947), VID(DPD).
var mainMode1 = []byte{
	// header: cookies, next SA, version 1.0, Main, no flags, message ID 0, length 112
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0, 0, 0, 0, 0,
	0x01, 0x10, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x70,
	// SA, next VID
	0x0d, 0x00, 0x00, 0x2c, 0, 0, 0, 1, 0, 0, 0, 1,
	0x00, 0x00, 0x00, 0x20, 0x01, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x18, 0x01, 0x01, 0x00, 0x00,
	0x80, 0x01, 0x00, 0x05, 0x80, 0x02, 0x00, 0x02, 0x80, 0x03, 0x00, 0x01, 0x80, 0x04, 0x00, 0x02,
	// VID, next VID
	0x0d, 0x00, 0x00, 0x14,
	0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f,
	// VID, last
	0x00, 0x00, 0x00, 0x14,
	0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00,
}

func TestMessageVector(t *testing.T) {
	want := &Message{
		Header: Header{
			InitiatorCookie: Cookie{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88},
			NextPayload:     PayloadSA, Version: Version, Exchange: ExchangeMain, Length: 112,
		},
		Payloads: []Payload{
			&SA{DOI: 1, Situation: 1, Proposals: []Proposal{{Number: 1, Protocol: ProtoISAKMP, Transforms: []Transform{{
				Number: 1, ID: 1, Attributes: []Attribute{NewAttribute(1, 5), NewAttribute(2, 2), NewAttribute(3, 1), NewAttribute(4, 2)},
			}}}}},
			&VendorID{Data: VendorIDNATT()},
			&VendorID{Data: VendorIDDPD()},
		},
	}
	got, err := Decode(mainMode1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode:\n got %#v\nwant %#v", got, want)
	}
	if enc := want.Encode(); !bytes.Equal(enc, mainMode1) {
		t.Errorf("Encode:\n got % x\nwant % x", enc, mainMode1)
	}
	if Find[*VendorID](got.Payloads) != got.Payloads[1] || len(FindAll[*VendorID](got.Payloads)) != 2 || Find[*Hash](got.Payloads) != nil {
		t.Errorf("Find/FindAll wrong")
	}
}

func TestEncryptedMessageRejectedByDecode(t *testing.T) {
	b := append([]byte(nil), mainMode1...)
	b[19] = byte(FlagEncryption)
	if _, err := Decode(b); err == nil {
		t.Error("Decode accepted an encrypted message")
	}
}
