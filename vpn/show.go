package vpn

import (
	"fmt"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
)

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
