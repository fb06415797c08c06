package ikev2

import (
	"fmt"

	"github.com/palisade/palisade/vpn/ike/seam"
)

// Names names a negotiated IKEv2 proposal as Junos does; an
// AEAD cipher has no separate integrity algorithm ("none").
func (p Proposal) Names() seam.Algorithms {
	a := seam.Algorithms{Authentication: "none", DHGroup: p.Group.String()}
	switch p.Integ {
	case IntegHMACSHA1_96:
		a.Authentication = "hmac-sha1-96"
	case IntegHMACSHA256128:
		a.Authentication = "hmac-sha256-128"
	case IntegHMACSHA384192:
		a.Authentication = "hmac-sha384-192"
	case IntegHMACSHA512256:
		a.Authentication = "hmac-sha512-256"
	}
	a.PRF = map[PRF]string{PRFHMACSHA1: "hmac-sha1", PRFHMACSHA256: "hmac-sha256", PRFHMACSHA384: "hmac-sha384", PRFHMACSHA512: "hmac-sha512"}[p.PRF]
	switch p.Encr {
	case EncrAESCBC:
		a.Encryption = fmt.Sprintf("aes%d-cbc", p.KeyBits)
	case EncrAESGCM16:
		a.Encryption = fmt.Sprintf("aes%d-gcm", p.KeyBits)
	case EncrChaCha20Poly1305:
		a.Encryption = "chacha20-poly1305"
	}
	return a
}
