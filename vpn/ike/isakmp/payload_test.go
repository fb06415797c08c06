package isakmp

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// payloadVectors holds every payload with its encoding as the last payload of
// a chain (next payload 0). The bytes were written by hand from RFC 2408,
// 2407 and 3947.
var payloadVectors = []struct {
	name string
	p    Payload
	want []byte
}{
	{
		name: "SA phase 1 aes128 sha256 psk modp2048 28800s",
		p: &SA{DOI: 1, Situation: 1, Proposals: []Proposal{{
			Number: 1, Protocol: ProtoISAKMP,
			Transforms: []Transform{{Number: 1, ID: 1, Attributes: []Attribute{
				NewAttribute(1, 7), NewAttribute(14, 128), NewAttribute(2, 4),
				NewAttribute(3, 1), NewAttribute(4, 14), NewAttribute(11, 1), NewAttribute(12, 28800),
			}}},
		}}},
		want: []byte{
			0x00, 0x00, 0x00, 0x38, // generic header, length 56
			0x00, 0x00, 0x00, 0x01, // DOI IPsec
			0x00, 0x00, 0x00, 0x01, // SIT_IDENTITY_ONLY
			0x00, 0x00, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x01, // proposal 1 ISAKMP, no SPI, 1 transform
			0x00, 0x00, 0x00, 0x24, 0x01, 0x01, 0x00, 0x00, // transform 1 KEY_IKE
			0x80, 0x01, 0x00, 0x07, // encryption AES-CBC
			0x80, 0x0e, 0x00, 0x80, // key length 128
			0x80, 0x02, 0x00, 0x04, // hash SHA2-256
			0x80, 0x03, 0x00, 0x01, // auth PSK
			0x80, 0x04, 0x00, 0x0e, // group 14
			0x80, 0x0b, 0x00, 0x01, // life type seconds
			0x80, 0x0c, 0x70, 0x80, // 28800
		},
	},
	{
		name: "SA phase 2 two transforms with TLV lifetime",
		p: &SA{DOI: 1, Situation: 1, Proposals: []Proposal{{
			Number: 1, Protocol: ProtoESP, SPI: []byte{0xde, 0xad, 0xbe, 0xef},
			Transforms: []Transform{
				{Number: 1, ID: 12, Attributes: []Attribute{NewAttribute(6, 256), NewAttribute(5, 2)}},
				{Number: 2, ID: 20, Attributes: []Attribute{NewAttribute(1, 2), NewAttribute(2, 100000)}},
			},
		}}},
		want: []byte{
			0x00, 0x00, 0x00, 0x3c,
			0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
			0x00, 0x00, 0x00, 0x30, 0x01, 0x03, 0x04, 0x02, 0xde, 0xad, 0xbe, 0xef, // proposal ESP, SPI, 2 transforms
			0x03, 0x00, 0x00, 0x10, 0x01, 0x0c, 0x00, 0x00, // transform 1 ESP_AES, more follow
			0x80, 0x06, 0x01, 0x00, 0x80, 0x05, 0x00, 0x02,
			0x00, 0x00, 0x00, 0x14, 0x02, 0x14, 0x00, 0x00, // transform 2 ESP_AES_GCM_16
			0x80, 0x01, 0x00, 0x02, // life type kilobytes
			0x00, 0x02, 0x00, 0x04, 0x00, 0x01, 0x86, 0xa0, // TLV life duration 100000
		},
	},
	{
		name: "KE",
		p:    &KeyExchange{Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		want: []byte{0x00, 0x00, 0x00, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8},
	},
	{
		name: "ID IPV4_ADDR",
		p:    IDAddr(netip.MustParseAddr("172.16.13.1"), 17, 500),
		want: []byte{0x00, 0x00, 0x00, 0x0c, 0x01, 0x11, 0x01, 0xf4, 172, 16, 13, 1},
	},
	{
		name: "ID IPV4_ADDR_SUBNET any",
		p:    IDPrefix(netip.MustParsePrefix("10.100.11.0/24"), 0, 0),
		want: []byte{0x00, 0x00, 0x00, 0x10, 0x04, 0x00, 0x00, 0x00, 10, 100, 11, 0, 255, 255, 255, 0},
	},
	{
		name: "ID IPV4_ADDR_SUBNET tcp 22",
		p:    IDPrefix(netip.MustParsePrefix("10.100.22.0/23"), 6, 22),
		want: []byte{0x00, 0x00, 0x00, 0x10, 0x04, 0x06, 0x00, 0x16, 10, 100, 22, 0, 255, 255, 254, 0},
	},
	{
		name: "ID FQDN",
		p:    IDName(IDFQDN, "srx1.example"),
		want: append([]byte{0x00, 0x00, 0x00, 0x14, 0x02, 0x00, 0x00, 0x00}, "srx1.example"...),
	},
	{
		name: "ID USER_FQDN",
		p:    IDName(IDUserFQDN, "a@b.c"),
		want: append([]byte{0x00, 0x00, 0x00, 0x0d, 0x03, 0x00, 0x00, 0x00}, "a@b.c"...),
	},
	{
		name: "ID KEY_ID",
		p:    IDName(IDKeyID, "k1"),
		want: []byte{0x00, 0x00, 0x00, 0x0a, 0x0b, 0x00, 0x00, 0x00, 'k', '1'},
	},
	{
		name: "Nonce",
		p:    &Nonce{Data: bytes.Repeat([]byte{0xab}, 16)},
		want: append([]byte{0x00, 0x00, 0x00, 0x14}, bytes.Repeat([]byte{0xab}, 16)...),
	},
	{
		name: "Hash",
		p:    &Hash{Data: []byte{0xca, 0xfe, 0xba, 0xbe}},
		want: []byte{0x00, 0x00, 0x00, 0x08, 0xca, 0xfe, 0xba, 0xbe},
	},
	{
		name: "Notification INVALID-ID-INFORMATION",
		p:    &Notification{DOI: 1, Protocol: ProtoESP, Notify: NotifyInvalidIDInformation, SPI: []byte{1, 2, 3, 4}},
		want: []byte{0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0x03, 0x04, 0x00, 0x12, 1, 2, 3, 4},
	},
	{
		name: "Notification R-U-THERE",
		p: &Notification{DOI: 1, Protocol: ProtoISAKMP, Notify: NotifyRUThere,
			SPI: []byte{1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2}, Data: []byte{0, 0, 0, 7}},
		want: []byte{
			0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x01, 0x01, 0x10, 0x8d, 0x28,
			1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 7,
		},
	},
	{
		name: "Delete ESP two SPIs",
		p:    &Delete{DOI: 1, Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{{1, 2, 3, 4}, {5, 6, 7, 8}}},
		want: []byte{0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x01, 0x03, 0x04, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8},
	},
	{
		name: "Vendor ID RFC 3947",
		p:    &VendorID{Data: VendorIDNATT()},
		want: []byte{
			0x00, 0x00, 0x00, 0x14,
			0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f,
		},
	},
	{
		name: "NAT-D",
		p:    &NATD{Hash: []byte{9, 8, 7, 6, 5}},
		want: []byte{0x00, 0x00, 0x00, 0x09, 9, 8, 7, 6, 5},
	},
	{
		name: "NAT-OA IPv4",
		p:    &NATOA{Addr: netip.MustParseAddr("192.168.1.2")},
		want: []byte{0x00, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 192, 168, 1, 2},
	},
	{
		name: "unknown payload kept raw",
		p:    &Raw{PayloadType: 130, Body: []byte{1}},
		want: []byte{0x00, 0x00, 0x00, 0x05, 1},
	},
}

func TestPayloadVectors(t *testing.T) {
	for _, tc := range payloadVectors {
		t.Run(tc.name, func(t *testing.T) {
			if got := EncodePayload(tc.p, PayloadNone); !bytes.Equal(got, tc.want) {
				t.Errorf("encode:\n got % x\nwant % x", got, tc.want)
			}
			ps, _, err := DecodePayloads(tc.p.Type(), tc.want, 0, false)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(ps) != 1 || !reflect.DeepEqual(ps[0], tc.p) {
				t.Errorf("decode:\n got %#v\nwant %#v", ps[0], tc.p)
			}
		})
	}
}

func TestIdentificationPrefix(t *testing.T) {
	for _, s := range []string{"10.100.11.0/24", "0.0.0.0/0", "10.1.2.3/32", "2001:db8::/48"} {
		p := netip.MustParsePrefix(s)
		got, err := IDPrefix(p, 0, 0).Prefix()
		if err != nil || got != p {
			t.Errorf("IDPrefix(%v).Prefix() = %v, %v", p, got, err)
		}
	}
	id := &Identification{IDType: IDIPv4AddrSubnet, Data: []byte{10, 0, 0, 0, 255, 0, 255, 0}}
	if _, err := id.Prefix(); err == nil {
		t.Errorf("non-contiguous mask accepted")
	}
	if got, want := IDPrefix(netip.MustParsePrefix("10.100.11.0/24"), 0, 0).String(), "ipv4_subnet(any:0,[0..7]=10.100.11.0/24)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	hdr := func(next PayloadType, body ...byte) []byte {
		h := Header{NextPayload: next, Version: Version, Exchange: ExchangeMain, Length: uint32(HeaderLen + len(body))}
		return append(h.AppendTo(nil), body...)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short header", make([]byte, 27), "isakmp header: 27 bytes"},
		{"bad version", func() []byte { b := hdr(0); b[17] = 0x20; return b }(), "version"},
		{"length too long", func() []byte { b := hdr(0); b[27] = 200; return b }(), "length field 200"},
		{"truncated generic header", hdr(PayloadNonce, 0, 0), "NONCE payload at offset 28: 2 bytes left"},
		{"payload length past end", hdr(PayloadNonce, 0, 0, 0, 9, 1), "NONCE payload at offset 28: length field 9"},
		{"payload length under 4", hdr(PayloadHash, 0, 0, 0, 3), "length field 3"},
		{"reserved set", hdr(PayloadHash, 0, 1, 0, 4), "reserved byte"},
		{"trailing bytes", hdr(PayloadHash, 0, 0, 0, 4, 7), "1 trailing bytes"},
		{"second payload bad", hdr(PayloadHash, byte(PayloadDelete), 0, 0, 4, 0, 0, 0, 5, 1), "D payload at offset 32"},
		{"SA short", hdr(PayloadSA, 0, 0, 0, 6, 0, 1), "SA payload at offset 28: body is 2 bytes"},
		{"SA DOI", hdr(PayloadSA, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 1), "DOI 2"},
		{"transform count", hdr(PayloadSA, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 8, 1, 1, 0, 1), "transform 1: 0 bytes left"},
		{"attribute truncated", hdr(PayloadSA, 0, 0, 0, 30, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 18, 1, 1, 0, 1, 0, 0, 0, 10, 1, 1, 0, 0, 0, 1), "attribute at body offset 0: 2 bytes left"},
		{"TLV too long", hdr(PayloadSA, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 20, 1, 1, 0, 1, 0, 0, 0, 12, 1, 1, 0, 0, 0, 1, 0, 9), "length 9"},
		{"notify SPI size", hdr(PayloadNotification, 0, 0, 0, 12, 0, 0, 0, 1, 1, 16, 0, 14), "SPI size 16"},
		{"delete count", hdr(PayloadDelete, 0, 0, 0, 12, 0, 0, 0, 1, 3, 4, 0, 2), "2 SPIs of 4 bytes"},
		{"ID addr length", hdr(PayloadID, 0, 0, 0, 10, 1, 0, 0, 0, 10, 0), "IPV4_ADDR with 2 bytes"},
		{"NAT-OA type", hdr(PayloadNATOA, 0, 0, 0, 8, 2, 0, 0, 0), "ID type FQDN"},
		{"proposal outside SA", hdr(PayloadProposal, 0, 0, 0, 4), "inside an SA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDecodeErrorType(t *testing.T) {
	h := Header{NextPayload: PayloadNonce, Version: Version, Length: HeaderLen + 2}
	_, err := Decode(append(h.AppendTo(nil), 0, 0))
	var de *DecodeError
	if !errors.As(err, &de) || de.Payload != PayloadNonce || de.Offset != 28 {
		t.Errorf("error %v is not a DecodeError for NONCE at 28", err)
	}
}
