package ikev2

import (
	"crypto/sha1"
	"encoding/binary"
	"net/netip"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
)

// prfPlus is prf+ of RFC 7296 2.13: T1 | T2 | ... cut to n bytes, with
// T1 = prf(K, S | 0x01) and Ti = prf(K, T(i-1) | S | i).
func prfPlus(h ikecrypto.HashAlg, key, seed []byte, n int) []byte {
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		t = h.PRF(key, t, seed, []byte{i})
		out = append(out, t...)
	}
	return out[:n]
}

// ikeKeys are the seven secrets of an IKE SA (RFC 7296 2.14).
type ikeKeys struct {
	d, ai, ar, ei, er, pi, pr []byte
}

// skeyseed computes SKEYSEED for a new IKE SA: prf(Ni | Nr, g^ir), or when
// rekeying prf(SK_d(old), g^ir(new) | Ni | Nr) (RFC 7296 2.18).
func skeyseed(p Proposal, oldSKd, shared, ni, nr []byte) []byte {
	h := p.PRF.Hash()
	if oldSKd != nil {
		return h.PRF(oldSKd, shared, ni, nr)
	}
	return h.PRF(append(append([]byte(nil), ni...), nr...), shared)
}

// deriveIKE expands SKEYSEED into {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}.
func deriveIKE(p Proposal, seed, ni, nr []byte, spiI, spiR uint64) ikeKeys {
	h := p.PRF.Hash()
	prfLen, integLen, encLen := h.Size(), p.Integ.KeyLen(), encKeyLen(p.Encr, p.KeyBits)
	s := append(append([]byte(nil), ni...), nr...)
	s = binary.BigEndian.AppendUint64(s, spiI)
	s = binary.BigEndian.AppendUint64(s, spiR)
	km := prfPlus(h, seed, s, 3*prfLen+2*integLen+2*encLen)
	take := func(n int) []byte { b := km[:n:n]; km = km[n:]; return b }
	var k ikeKeys
	k.d, k.ai, k.ar, k.ei, k.er, k.pi, k.pr = take(prfLen), take(integLen), take(integLen), take(encLen), take(encLen), take(prfLen), take(prfLen)
	return k
}

// childKeys derives a Child SA's keys: KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr),
// taken as initiator-to-responder cipher and integrity keys, then the
// responder-to-initiator ones (RFC 7296 2.17).
func childKeys(prf PRF, skD, pfsShared, ni, nr []byte, s ikecrypto.ESPSuite) (encI, authI, encR, authR []byte) {
	e, a := s.EncKeyLen(), s.Auth.KeyLen()
	seed := append(append(append([]byte(nil), pfsShared...), ni...), nr...)
	km := prfPlus(prf.Hash(), skD, seed, 2*(e+a))
	return km[:e:e], km[e : e+a : e+a], km[e+a : 2*e+a : 2*e+a], km[2*e+a:]
}

// pskAuth computes the AUTH data for a pre-shared key (RFC 7296 2.15):
// prf(prf(Shared Secret, "Key Pad for IKEv2"), <message> | <peer's nonce> | prf(SK_p, IDbody)).
func pskAuth(prf PRF, psk, message, peerNonce, skP, idBody []byte) []byte {
	h := prf.Hash()
	return h.PRF(h.PRF(psk, []byte("Key Pad for IKEv2")), message, peerNonce, h.PRF(skP, idBody))
}

// natHash is the NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port) (RFC 7296 2.23).
func natHash(spiI, spiR uint64, ap netip.AddrPort) []byte {
	h := sha1.New()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], spiI)
	binary.BigEndian.PutUint64(b[8:], spiR)
	h.Write(b[:])
	h.Write(ap.Addr().Unmap().AsSlice())
	binary.BigEndian.PutUint16(b[:], ap.Port())
	h.Write(b[:2])
	return h.Sum(nil)
}
