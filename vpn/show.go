package vpn

import (
	"fmt"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/ikev1"
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
	}
	return a
}
