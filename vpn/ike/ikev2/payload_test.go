package ikev2

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// payloadVectors are payloads with their encodings, generic header
// included, checked by hand against the layouts of RFC 7296 3.3-3.15 and
// RFC 7383 2.5.
var payloadVectors = []struct {
	name string
	p    Payload
	hex  string
}{
	{"SA: IKE proposal with key length, ESP proposal with SPI", &SA{Proposals: []SAProposal{{Number: 1, Protocol: ProtoIKE, Transforms: []Transform{
		{Type: TransformEncr, ID: 12, Attributes: []Attribute{{Type: AttrKeyLength, TV: true, Short: 128}}},
		{Type: TransformInteg, ID: 12}, {Type: TransformPRF, ID: 5}, {Type: TransformDH, ID: 14}}},
		{Number: 2, Protocol: ProtoESP, SPI: []byte{0xc0, 0xff, 0xee, 0x01}, Transforms: []Transform{{Type: TransformEncr, ID: 28}, {Type: TransformESN, ID: 0}}}}},
		"0000004c" + "0200002c01010004" + "0300000c0100000c800e0080" + "030000080300000c" + "0300000802000005" + "000000080400000e" +
			"0000001c02030402c0ffee01" + "030000080100001c" + "0000000805000000"},
	{"KE", &KE{Group: 31, Data: []byte{1, 2, 3, 4}}, "0000000c" + "001f0000" + "01020304"},
	{"IDi IPv4", &ID{Initiator: true, IDType: IDIPv4Addr, Data: []byte{192, 0, 2, 1}}, "0000000c" + "01000000" + "c0000201"},
	{"IDr FQDN", &ID{IDType: IDFQDN, Data: []byte("gw.example")}, "00000012" + "02000000" + "67772e6578616d706c65"},
	{"AUTH", &Auth{Method: AuthSharedKey, Data: []byte{0xaa, 0xbb}}, "0000000a" + "02000000" + "aabb"},
	{"Nonce", &Nonce{Data: []byte("0123456789abcdef")}, "00000014" + "30313233343536373839616263646566"},
	{"Notify without SPI", &Notify{NotifyType: NATDetectionSourceIP, Data: []byte{1, 2}}, "0000000a" + "00004004" + "0102"},
	{"Notify REKEY_SA", &Notify{Protocol: ProtoESP, SPI: []byte{0, 0, 1, 0}, NotifyType: RekeySA}, "0000000c" + "03044009" + "00000100"},
	{"Delete ESP", &Delete{Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{{1, 2, 3, 4}, {5, 6, 7, 8}}}, "00000010" + "03040002" + "0102030405060708"},
	{"Delete IKE", &Delete{Protocol: ProtoIKE}, "00000008" + "01000000"},
	{"TSi IPv4 any", &TS{Initiator: true, Selectors: []Selector{SelectorFor(netip.MustParsePrefix("10.100.11.0/24"), 0, 0)}},
		"00000018" + "01000000" + "07000010" + "0000ffff" + "0a640b00" + "0a640bff"},
	{"TSr IPv6 tcp/443", &TS{Selectors: []Selector{SelectorFor(netip.MustParsePrefix("2001:db8::/32"), 6, 443)}},
		"00000030" + "01000000" + "08060028" + "01bb01bb" + "20010db8000000000000000000000000" + "20010db8ffffffffffffffffffffffff"},
	{"Vendor ID", &VendorID{Data: []byte("pal")}, "00000007" + "70616c"},
	{"CP request", &CP{CFGType: CFGRequest, Attributes: []CFGAttribute{{Type: 1, Value: []byte{}}, {Type: 3, Value: []byte{8, 8, 8, 8}}}},
		"00000014" + "01000000" + "00010000" + "0003000408080808"},
	{"SK", &Encrypted{NextInner: PayloadIDi, Body: []byte{1, 2, 3}}, "23000007" + "010203"},
	{"SKF", &Fragment{NextInner: PayloadIDi, Number: 1, Total: 2, Body: []byte{9}}, "23000009" + "00010002" + "09"},
}

func TestPayloadVectors(t *testing.T) {
	for _, v := range payloadVectors {
		want, _ := hex.DecodeString(v.hex)
		if got := AppendPayloads(nil, []Payload{v.p}); !bytes.Equal(got, want) {
			t.Errorf("%s: encoded\n%x\nwant\n%x", v.name, got, want)
		}
		ps, err := DecodePayloads(v.p.Type(), want)
		if err != nil || len(ps) != 1 {
			t.Errorf("%s: decode: %v (%d payloads)", v.name, err, len(ps))
			continue
		}
		if got := AppendPayloads(nil, ps); !bytes.Equal(got, want) {
			t.Errorf("%s: decoded and encoded again:\n%x\nwant\n%x", v.name, got, want)
		}
	}
}

func TestHeaderVector(t *testing.T) {
	h := Header{SPIi: 0x0102030405060708, SPIr: 0x1112131415161718, NextPayload: PayloadSA, Version: Version, Exchange: IKESAInit,
		Flags: FlagInitiator, MessageID: 0, Length: 28}
	want := "0102030405060708" + "1112131415161718" + "21" + "20" + "22" + "08" + "00000000" + "0000001c"
	if got := hex.EncodeToString(h.Append(nil)); got != want {
		t.Errorf("header %s, want %s", got, want)
	}
	b, _ := hex.DecodeString(want)
	if got, err := DecodeHeader(b); err != nil || got != h {
		t.Errorf("decoded %+v, %v", got, err)
	}
	b[17] = 0x10
	if _, err := DecodeHeader(b); err == nil || !strings.Contains(err.Error(), "want major version 2") {
		t.Errorf("IKEv1 header: %v", err)
	}
}

func TestMessageRoundTrip(t *testing.T) {
	var ps []Payload
	for _, v := range payloadVectors[:len(payloadVectors)-2] { // SK/SKF end a chain
		ps = append(ps, v.p)
	}
	ps = append(ps, payloadVectors[len(payloadVectors)-2].p)
	m := &Message{Header: Header{SPIi: 1, SPIr: 2, Version: Version, Exchange: IKEAuth, Flags: FlagResponse, MessageID: 7}, Payloads: ps}
	b := m.Encode()
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Payloads) != len(ps) || !bytes.Equal(got.Encode(), b) || got.Header.Length != uint32(len(b)) {
		t.Errorf("round trip: %d payloads, %v", len(got.Payloads), got.Header)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first PayloadType
		hex   string
		want  string
	}{
		{"short generic header", PayloadNonce, "000000", "truncated"},
		{"length beyond data", PayloadNonce, "00000020aabb", "length 32"},
		{"nonce too short", PayloadNonce, "0000000601020304", "nonce of 2 bytes"},
		{"transform count", PayloadSA, "00000014" + "0000001001010002" + "0000000801000001", "transform 1 of 2"},
		{"delete SPI count", PayloadDelete, "000000090304000201", "2 SPIs of 4 bytes"},
		{"TS short", PayloadTSi, "0000000c" + "01000000" + "09000000", "truncated"},
		{"TS type", PayloadTSi, "00000014" + "01000000" + "09000010" + "0000ffff0a0000000a0000ff", "type 9"},
		{"SK not last", PayloadSK, "2300000501" + "0000000501", "not last"},
		{"fragment 3 of 2", PayloadSKF, "0000000900030002aa", "fragment 3 of 2"},
		{"trailing bytes", PayloadVendor, "0000000501ff", "after the last payload"},
	} {
		b, _ := hex.DecodeString(tc.hex)
		_, err := DecodePayloads(tc.first, b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one with %q", tc.name, err, tc.want)
		}
	}
}

func TestSelectors(t *testing.T) {
	s := Selector{TSType: TSIPv4Range, StartPort: 0, EndPort: 0xffff, Start: netip.MustParseAddr("10.0.0.1"), End: netip.MustParseAddr("10.0.0.6")}
	if _, ok := s.Prefix(); ok || s.String() != "10.0.0.1-10.0.0.6" {
		t.Errorf("range %v", s)
	}
	wide := SelectorFor(netip.MustParsePrefix("10.0.0.0/8"), 0, 0)
	ours := SelectorFor(netip.MustParsePrefix("10.1.0.0/16"), 6, 22)
	if got, ok := narrowSel(wide, ours); !ok || got != ours {
		t.Errorf("narrowing a wider offer: %v %v", got, ok)
	}
	if got, ok := narrowSel(ours, wide); !ok || got != ours {
		t.Errorf("accepting a narrower offer: %v %v", got, ok)
	}
	if _, ok := narrowSel(s, ours); ok {
		t.Error("disjoint selectors accepted")
	}
	if _, ok := narrowSel(SelectorFor(netip.MustParsePrefix("10.1.0.0/16"), 17, 0), ours); ok {
		t.Error("udp against tcp accepted")
	}
}
