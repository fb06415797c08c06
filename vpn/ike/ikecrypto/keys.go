package ikecrypto

import "encoding/binary"

// Phase1Keys are the keys of an IKEv1 SA (RFC 2409 5).
type Phase1Keys struct {
	SKEYID   []byte
	SKEYID_d []byte
	SKEYID_a []byte
	SKEYID_e []byte
	EncKey   []byte // the cipher key, expanded from SKEYID_e (Appendix B)
	IV       []byte // the IV of the first encrypted message (Appendix B)
}

// Phase1Input is what the phase 1 key schedule for pre-shared keys needs.
type Phase1Input struct {
	Hash             HashAlg
	Cipher           Cipher
	PSK              []byte
	Ni, Nr           []byte // nonce bodies
	SharedSecret     []byte // g^xy
	PublicI, PublicR []byte // g^xi, g^xr
	CookieI, CookieR []byte
}

// DerivePhase1 runs the key schedule for pre-shared key authentication:
//
//	SKEYID   = prf(psk, Ni_b | Nr_b)
//	SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//	SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//	SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
//	IV       = hash(g^xi | g^xr), first block-size bytes
func DerivePhase1(in Phase1Input) Phase1Keys {
	h := in.Hash
	var k Phase1Keys
	k.SKEYID = h.PRF(in.PSK, in.Ni, in.Nr)
	k.SKEYID_d = h.PRF(k.SKEYID, in.SharedSecret, in.CookieI, in.CookieR, []byte{0})
	k.SKEYID_a = h.PRF(k.SKEYID, k.SKEYID_d, in.SharedSecret, in.CookieI, in.CookieR, []byte{1})
	k.SKEYID_e = h.PRF(k.SKEYID, k.SKEYID_a, in.SharedSecret, in.CookieI, in.CookieR, []byte{2})
	k.EncKey = ExpandCipherKey(h, k.SKEYID_e, in.Cipher.KeyLen())
	k.IV = h.Sum(in.PublicI, in.PublicR)[:in.Cipher.BlockSize()]
	return k
}

// ExpandCipherKey derives an n-byte cipher key from SKEYID_e (RFC 2409
// Appendix B): SKEYID_e itself when long enough, else K1 | K2 | ... with
// K1 = prf(SKEYID_e, 0) and Ki = prf(SKEYID_e, K(i-1)).
func ExpandCipherKey(h HashAlg, skeyidE []byte, n int) []byte {
	if len(skeyidE) >= n {
		return append([]byte(nil), skeyidE[:n]...)
	}
	var out, k []byte
	k = h.PRF(skeyidE, []byte{0})
	for {
		out = append(out, k...)
		if len(out) >= n {
			return out[:n]
		}
		k = h.PRF(skeyidE, k)
	}
}

// HashI computes HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b).
func HashI(h HashAlg, skeyid, publicI, publicR, cookieI, cookieR, saiB, idiiB []byte) []byte {
	return h.PRF(skeyid, publicI, publicR, cookieI, cookieR, saiB, idiiB)
}

// HashR computes HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b).
func HashR(h HashAlg, skeyid, publicI, publicR, cookieI, cookieR, saiB, idirB []byte) []byte {
	return h.PRF(skeyid, publicR, publicI, cookieR, cookieI, saiB, idirB)
}

// PhaseIV computes the first IV of a quick mode or informational exchange:
// hash(last phase 1 CBC block | M-ID), cut to the block size.
func PhaseIV(h HashAlg, lastBlock []byte, messageID uint32) []byte {
	return h.Sum(lastBlock, binary.BigEndian.AppendUint32(nil, messageID))[:len(lastBlock)]
}

// QuickHash1 computes HASH(1) = prf(SKEYID_a, M-ID | rest), rest being the
// encoded payloads after the HASH payload. Informational exchanges use the
// same form.
func QuickHash1(h HashAlg, skeyidA []byte, messageID uint32, rest []byte) []byte {
	return h.PRF(skeyidA, binary.BigEndian.AppendUint32(nil, messageID), rest)
}

// QuickHash2 computes HASH(2) = prf(SKEYID_a, M-ID | Ni_b | rest).
func QuickHash2(h HashAlg, skeyidA []byte, messageID uint32, ni, rest []byte) []byte {
	return h.PRF(skeyidA, binary.BigEndian.AppendUint32(nil, messageID), ni, rest)
}

// QuickHash3 computes HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b).
func QuickHash3(h HashAlg, skeyidA []byte, messageID uint32, ni, nr []byte) []byte {
	return h.PRF(skeyidA, []byte{0}, binary.BigEndian.AppendUint32(nil, messageID), ni, nr)
}

// Keymat derives n bytes of keying material for one direction of an IPsec SA
// (RFC 2409 5.5). spi is the SPI of the SA (chosen by its receiver);
// pfsSecret is the quick mode g(qm)^xy or nil without PFS:
//
//	K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
//	Ki = prf(SKEYID_d, K(i-1) | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
func Keymat(h HashAlg, skeyidD []byte, pfsSecret []byte, protocol uint8, spi, ni, nr []byte, n int) []byte {
	var out, k []byte
	for len(out) < n {
		k = h.PRF(skeyidD, k, pfsSecret, []byte{protocol}, spi, ni, nr)
		out = append(out, k...)
	}
	return out[:n]
}
