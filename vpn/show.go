package vpn

import (
	"fmt"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/ikev1"
	"github.com/palisade/palisade/vpn/ike/ikev2"
)

// IKEAlgorithms are the algorithm names of `show security ike
// security-associations detail`.
type IKEAlgorithms struct {
	Authentication string // hmac-sha256-128
	Encryption     string // aes256-cbc
	PRF            string // hmac-sha256
	DHGroup        string // DH-group-14
}

// IKEAlgorithmNames names a negotiated phase 1 proposal as Junos does.
func IKEAlgorithmNames(p ikev1.Proposal) IKEAlgorithms {
	var a IKEAlgorithms
	switch p.Hash {
	case ikecrypto.SHA1:
		a.Authentication, a.PRF = "hmac-sha1-96", "hmac-sha1"
	case ikecrypto.SHA256:
		a.Authentication, a.PRF = "hmac-sha256-128", "hmac-sha256"
	case ikecrypto.SHA384:
		a.Authentication, a.PRF = "hmac-sha384-192", "hmac-sha384"
	case ikecrypto.SHA512:
		a.Authentication, a.PRF = "hmac-sha512-256", "hmac-sha512"
	}
	a.Encryption = p.Cipher.String()
	a.DHGroup = p.Group.String()
	return a
}

// IKEv2AlgorithmNames names a negotiated IKEv2 proposal as Junos does; an
// AEAD cipher has no separate integrity algorithm ("none").
func IKEv2AlgorithmNames(p ikev2.Proposal) IKEAlgorithms {
	a := IKEAlgorithms{Authentication: "none", DHGroup: p.Group.String()}
	switch p.Integ {
	case ikev2.IntegHMACSHA1_96:
		a.Authentication = "hmac-sha1-96"
	case ikev2.IntegHMACSHA256128:
		a.Authentication = "hmac-sha256-128"
	case ikev2.IntegHMACSHA384192:
		a.Authentication = "hmac-sha384-192"
	case ikev2.IntegHMACSHA512256:
		a.Authentication = "hmac-sha512-256"
	}
	a.PRF = map[ikev2.PRF]string{ikev2.PRFHMACSHA1: "hmac-sha1", ikev2.PRFHMACSHA256: "hmac-sha256", ikev2.PRFHMACSHA384: "hmac-sha384", ikev2.PRFHMACSHA512: "hmac-sha512"}[p.PRF]
	switch p.Encr {
	case ikev2.EncrAESCBC:
		a.Encryption = fmt.Sprintf("aes%d-cbc", p.KeyBits)
	case ikev2.EncrAESGCM16:
		a.Encryption = fmt.Sprintf("aes%d-gcm", p.KeyBits)
	case ikev2.EncrChaCha20Poly1305:
		a.Encryption = "chacha20-poly1305"
	}
	return a
}

// ESPAlgorithms are the algorithm names of `show security ipsec
// security-associations` (List) and of its detail view.
type ESPAlgorithms struct {
	List           string // ESP:aes-cbc-128/sha1, ESP:aes-gcm-128/None
	Authentication string // hmac-sha1-96, or None for GCM
	Encryption     string // aes-cbc (128 bits)
}

// ESPAlgorithmNames names an ESP suite as Junos does.
func ESPAlgorithmNames(s ikecrypto.ESPSuite) ESPAlgorithms {
	a := ESPAlgorithms{List: "ESP:" + s.String(), Authentication: "None"}
	if s.Auth != ikecrypto.AuthNone {
		a.Authentication = s.Auth.String()
	}
	switch s.Cipher {
	case ikecrypto.ESPAESCBC:
		a.Encryption = fmt.Sprintf("aes-cbc (%d bits)", s.KeyBits)
	case ikecrypto.ESPAESGCM16:
		a.Encryption = fmt.Sprintf("aes-gcm (%d bits)", s.KeyBits)
	case ikecrypto.ESP3DES:
		a.Encryption = "3des-cbc (192 bits)"
	case ikecrypto.ESPChaCha20Poly1305:
		a.Encryption = "chacha20-poly1305 (256 bits)"
	}
	return a
}
