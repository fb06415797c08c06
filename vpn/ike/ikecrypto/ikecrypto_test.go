package ikecrypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPRFVectors checks the PRFs against RFC 2202 and RFC 4231 test case 2.
func TestPRFVectors(t *testing.T) {
	key, data := []byte("Jefe"), []byte("what do ya want for nothing?")
	for _, tc := range []struct {
		h    HashAlg
		want string
	}{
		{SHA1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
		{SHA256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{SHA384, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
		{SHA512, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	} {
		if got := hex.EncodeToString(tc.h.PRF(key, data[:4], data[4:])); got != tc.want {
			t.Errorf("%v PRF = %s, want %s", tc.h, got, tc.want)
		}
	}
}

// kat holds expected values computed once with Python's hmac and hashlib
// from the formulas of RFC 2409 (see the inputs in TestPhase1KAT).
var kat = map[HashAlg]map[string]string{
	SHA256: {
		"skeyid":    "9efb717a15fc35302de3e7aa2f92f22756847514ce79d235e80ed3058454eb8d",
		"d":         "77d99fd51b7d355b470593e33d16885fba6cc33e2f6398acdba01a560cc9f330",
		"a":         "bb222bda316ea6b4a5a88ef42fc62a12f16a9936251d90fdacb3410a52e910d2",
		"e":         "4e68d2673698d700ee01d625421e06b527dc73c9ea522e70092ba1a119c0a39a",
		"enckey":    "4e68d2673698d700ee01d625421e06b527dc73c9ea522e70092ba1a119c0a39a",
		"iv":        "ab5addddbd55ff0705ad20e98c28043e",
		"hashi":     "dce720fcb1a7e5d96e382440678e940816b893e520427fa685c36824d27610e8",
		"hashr":     "d1a9fd527f686b153ee386766dc2ff8437b1951f22caa77db8a319dd6325f97c",
		"qh1":       "7143ef86401fb522f7eb3a63d8e9d09c84b9bb3433435031bc63c48801e89a78",
		"qh2":       "765971b53fc836bafdcd16bf57a42698d1eb4ae548b5923df59a59d60b97d3e3",
		"qh3":       "bb8aa529d6eaa1a4cae1acb7edf9438aafc4f6062528c9ab686cc248d67f0c2d",
		"keymat":    "c4de740f85dea5ccaf185ecde5f22a3be744b626298cb7db80c330f680c3a9123678bbcbd664ca4bf29d8c48fce93590eda8a947",
		"keymatpfs": "8e6fb84eadca1fc7ffc0450f208c74446d3f8cd0ae2dd1e836cb91dbfbf0caded6b555d72c909cbb6f6f6b0bfda6e62ec225bca6",
		"phaseiv":   "d6695c4371bbc38aad2963d6d3ef417d",
	},
	SHA1: {
		"skeyid":    "92b6caa0bdb1d0bd245d23dfa53311036dc3b9c0",
		"d":         "f201a9d2b01995a9115d2205facd96222f4630b7",
		"a":         "43e02d857e352d4c2223aa67f2ae351523568bfa",
		"e":         "39316f009215ef49d77cd26f8c8037972b211a9d",
		"enckey":    "6c49694cf98037656f2351a10fe108669f0c39053712566daed5301ba78b4162", // expanded, Appendix B
		"iv":        "91f570c7f2f17f968b869ffd0b9a2fe8",
		"hashi":     "f90ccf7db051bb6ca62dfe8e5b76816eb77ea579",
		"hashr":     "7b9c729b8c9c665c98c9363065bbb098135dbd04",
		"qh1":       "a0a0780b9b78fbfbffd746215414ec7b8554211e",
		"qh2":       "3ed34db95649f2fda7acf8e11e8a8e39b3a415ae",
		"qh3":       "28911faefcf6b99e3a96d4993a7c85c3c089a72f",
		"keymat":    "46a32fce43ea9456a1571d2abc2bafcdde45b3c70b4ae865f4c9d404d121bf140162a44bd3c1452d",
		"keymatpfs": "7e8b94517b853b53ec217f1ddab63da6987c2be5d5837f0c22adac5d5738390fa6073e1639d60a85",
		"phaseiv":   "f5ce3936a8eafc94cba22ab82411a7e5",
	},
}

func TestPhase1KAT(t *testing.T) {
	ni, nr := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	gxy, gxi, gxr := bytes.Repeat([]byte{3}, 256), bytes.Repeat([]byte{4}, 256), bytes.Repeat([]byte{5}, 256)
	ci, cr := bytes.Repeat([]byte{0x11}, 8), bytes.Repeat([]byte{0x22}, 8)
	sai := bytes.Repeat([]byte{0xaa}, 40)
	idii, idir := unhex(t, "011101f40a000001"), unhex(t, "011101f40a000002")
	rest := bytes.Repeat([]byte{0xbb}, 30)
	spi := unhex(t, "c0ffee01")
	pfs := bytes.Repeat([]byte{7}, 32)
	const mid = 0x01020304
	for h, want := range kat {
		k := DerivePhase1(Phase1Input{
			Hash: h, Cipher: Cipher{Alg: AESCBC, KeyBits: 256}, PSK: []byte("secret"),
			Ni: ni, Nr: nr, SharedSecret: gxy, PublicI: gxi, PublicR: gxr, CookieI: ci, CookieR: cr,
		})
		n := len(want["keymat"]) / 2
		got := map[string][]byte{
			"skeyid": k.SKEYID, "d": k.SKEYID_d, "a": k.SKEYID_a, "e": k.SKEYID_e, "enckey": k.EncKey, "iv": k.IV,
			"hashi":     HashI(h, k.SKEYID, gxi, gxr, ci, cr, sai, idii),
			"hashr":     HashR(h, k.SKEYID, gxi, gxr, ci, cr, sai, idir),
			"qh1":       QuickHash1(h, k.SKEYID_a, mid, rest),
			"qh2":       QuickHash2(h, k.SKEYID_a, mid, ni, rest),
			"qh3":       QuickHash3(h, k.SKEYID_a, mid, ni, nr),
			"keymat":    Keymat(h, k.SKEYID_d, nil, 3, spi, ni, nr, n),
			"keymatpfs": Keymat(h, k.SKEYID_d, pfs, 3, spi, ni, nr, n),
			"phaseiv":   PhaseIV(h, bytes.Repeat([]byte{9}, 16), mid),
		}
		for name, w := range want {
			if g := hex.EncodeToString(got[name]); g != w {
				t.Errorf("%v %s = %s, want %s", h, name, g, w)
			}
		}
	}
}

// TestMODPPrimes recomputes each prime from its RFC formula with a pi
// computed here, and checks it is a safe prime.
func TestMODPPrimes(t *testing.T) {
	ks := map[Group][2]int{MODP1024: {1024, 129093}, MODP1536: {1536, 741804}, MODP2048: {2048, 124476}, MODP3072: {3072, 1690314}, MODP4096: {4096, 240904}}
	pi := piFixed(4096)
	for g, nk := range ks {
		n, k := nk[0], nk[1]
		// floor(2^(n-130) * pi) with pi scaled by 2^4096.
		f := new(big.Int).Rsh(pi, uint(4096-(n-130)))
		f.Add(f, big.NewInt(int64(k)))
		f.Lsh(f, 64)
		p := new(big.Int).Lsh(big.NewInt(1), uint(n))
		p.Sub(p, new(big.Int).Lsh(big.NewInt(1), uint(n-64)))
		p.Sub(p, big.NewInt(1))
		p.Add(p, f)
		if p.Cmp(g.modp()) != 0 {
			t.Errorf("%v prime differs from the formula", g)
		}
		q := new(big.Int).Rsh(p, 1)
		if !p.ProbablyPrime(4) || !q.ProbablyPrime(4) {
			t.Errorf("%v is not a safe prime", g)
		}
	}
}

// piFixed returns floor(pi * 2^bits) by Machin's formula.
func piFixed(bits uint) *big.Int {
	guard := uint(64)
	one := new(big.Int).Lsh(big.NewInt(1), bits+guard)
	atanInv := func(x int64) *big.Int {
		sum := new(big.Int)
		term := new(big.Int).Div(one, big.NewInt(x))
		x2 := big.NewInt(x * x)
		for n, sign := int64(1), 1; term.Sign() != 0; n, sign = n+2, -sign {
			t := new(big.Int).Div(term, big.NewInt(n))
			if sign > 0 {
				sum.Add(sum, t)
			} else {
				sum.Sub(sum, t)
			}
			term.Div(term, x2)
		}
		return sum
	}
	pi := new(big.Int).Mul(atanInv(5), big.NewInt(16))
	pi.Sub(pi, new(big.Int).Mul(atanInv(239), big.NewInt(4)))
	return pi.Rsh(pi, guard)
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestMODPKnownAnswer(t *testing.T) {
	a, err := MODP1024.GenerateKey(repeatReader(0x5a))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MODP1024.GenerateKey(repeatReader(0xa5))
	// Expected values computed once with Python's pow().
	if got, want := sha(a.Public()), "448d54d30e3a43526dccd915b6d9cb71c81f3da6450b3ce71420c5b09f167dc4"; got != want {
		t.Errorf("public sha256 %s, want %s", got, want)
	}
	s, err := b.SharedSecret(a.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sha(s), "2d1f4091a996f94d2fb227a8c364b91a5b68aa82d76c4a6150a7a161f9db400b"; got != want {
		t.Errorf("shared sha256 %s, want %s", got, want)
	}
	if _, err := a.SharedSecret(make([]byte, 128)); err == nil {
		t.Error("zero public value accepted")
	}
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestGroupsAgree(t *testing.T) {
	for _, g := range []Group{MODP1024, MODP1536, MODP2048, MODP3072, MODP4096, ECP256, ECP384, ECP521} {
		a, err := g.GenerateKey(repeatReader(0x31))
		if err != nil {
			t.Fatalf("%v: %v", g, err)
		}
		b, err := g.GenerateKey(repeatReader(0x47))
		if err != nil {
			t.Fatalf("%v: %v", g, err)
		}
		if len(a.Public()) != g.PublicLen() {
			t.Errorf("%v public is %d bytes, want %d", g, len(a.Public()), g.PublicLen())
		}
		s1, err1 := a.SharedSecret(b.Public())
		s2, err2 := b.SharedSecret(a.Public())
		if err1 != nil || err2 != nil || !bytes.Equal(s1, s2) {
			t.Errorf("%v: secrets differ (%v, %v)", g, err1, err2)
		}
		if _, err := a.SharedSecret(b.Public()[1:]); err == nil {
			t.Errorf("%v: short public value accepted", g)
		}
	}
	if _, err := Group(1).GenerateKey(repeatReader(1)); err == nil {
		t.Error("group 1 accepted")
	}
}

func TestCipher(t *testing.T) {
	for _, c := range []Cipher{{AESCBC, 128}, {AESCBC, 192}, {AESCBC, 256}, {TripleDES, 192}} {
		if _, err := c.NewBlock(make([]byte, c.KeyLen())); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
	if err := (Cipher{AESCBC, 64}).Validate(); err == nil {
		t.Error("aes-64 accepted")
	}
}
