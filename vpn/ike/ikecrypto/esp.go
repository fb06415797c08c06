package ikecrypto

import "fmt"

// ESPCipher is an ESP transform ID of the IPsec DOI (RFC 2407 4.4.4, RFC 3602, RFC 4106).
type ESPCipher uint8

// ESP ciphers.
const (
	ESP3DES     ESPCipher = 3
	ESPAESCBC   ESPCipher = 12
	ESPAESGCM16 ESPCipher = 20 // 16-byte ICV; the 8- and 12-byte variants are not offered
	// ESPChaCha20Poly1305 is RFC 7634's transform, IKEv2 only (it has no IPsec DOI value).
	ESPChaCha20Poly1305 ESPCipher = 28
)

const (
	saltLenGCM  = 4
	icvLenGCM16 = 16
)

// ESPAuth is the IPsec DOI Authentication Algorithm attribute value (RFC 2407 4.5, RFC 4868).
type ESPAuth uint16

// ESP integrity algorithms. AuthNone goes with the combined-mode GCM.
const (
	AuthNone       ESPAuth = 0
	AuthHMACSHA1   ESPAuth = 2
	AuthHMACSHA256 ESPAuth = 5
	AuthHMACSHA384 ESPAuth = 6
	AuthHMACSHA512 ESPAuth = 7
)

func (a ESPAuth) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthHMACSHA1:
		return "hmac-sha1-96"
	case AuthHMACSHA256:
		return "hmac-sha256-128"
	case AuthHMACSHA384:
		return "hmac-sha384-192"
	case AuthHMACSHA512:
		return "hmac-sha512-256"
	}
	return fmt.Sprintf("auth(%d)", uint16(a))
}

// KeyLen returns the HMAC key length in bytes.
func (a ESPAuth) KeyLen() int {
	switch a {
	case AuthHMACSHA1:
		return 20
	case AuthHMACSHA256:
		return 32
	case AuthHMACSHA384:
		return 48
	case AuthHMACSHA512:
		return 64
	}
	return 0
}

// TruncBits returns the ICV length in bits: 96 for SHA-1, half the digest for SHA-2 (RFC 4868).
func (a ESPAuth) TruncBits() int {
	switch a {
	case AuthHMACSHA1:
		return 96
	case AuthHMACSHA256:
		return 128
	case AuthHMACSHA384:
		return 192
	case AuthHMACSHA512:
		return 256
	}
	return 0
}

// ESPSuite is one ESP transform: a cipher with key length and an integrity algorithm.
type ESPSuite struct {
	Cipher  ESPCipher
	KeyBits int
	Auth    ESPAuth
}

// Validate checks that the suite is one the firmware supports.
func (s ESPSuite) Validate() error {
	okKey := s.KeyBits == 128 || s.KeyBits == 192 || s.KeyBits == 256
	switch {
	case s.Cipher == ESPAESCBC && okKey && s.Auth.KeyLen() > 0:
	case s.Cipher == ESP3DES && s.KeyBits == 192 && s.Auth.KeyLen() > 0:
	case s.Cipher == ESPAESGCM16 && (s.KeyBits == 128 || s.KeyBits == 256) && s.Auth == AuthNone:
	case s.Cipher == ESPChaCha20Poly1305 && s.KeyBits == 256 && s.Auth == AuthNone:
	default:
		return fmt.Errorf("ESP suite %v is not supported (aes-cbc 128/192/256 or 3des with hmac-sha1/sha2, or aes-gcm 128/256 or chacha20-poly1305 without auth)", s)
	}
	return nil
}

// IsAEAD reports whether the cipher is combined mode.
func (s ESPSuite) IsAEAD() bool { return s.Cipher == ESPAESGCM16 || s.Cipher == ESPChaCha20Poly1305 }

// EncKeyLen returns the encryption key length in bytes, including the 4-byte
// salt of the AEAD ciphers (RFC 4106 8.1, RFC 7634 2).
func (s ESPSuite) EncKeyLen() int {
	if s.IsAEAD() {
		return s.KeyBits/8 + saltLenGCM
	}
	return s.KeyBits / 8
}

// KeymatLen returns how much KEYMAT one direction needs: cipher key first,
// then the integrity key.
func (s ESPSuite) KeymatLen() int { return s.EncKeyLen() + s.Auth.KeyLen() }

// ICVBits returns the ICV length of a GCM suite.
func (s ESPSuite) ICVBits() int {
	if s.IsAEAD() {
		return icvLenGCM16 * 8
	}
	return s.Auth.TruncBits()
}

// String renders the suite as Junos shows it in the SA list, e.g.
// "aes-cbc-128/sha1" or "aes-gcm-128/None".
func (s ESPSuite) String() string {
	var enc string
	switch s.Cipher {
	case ESPAESCBC:
		enc = fmt.Sprintf("aes-cbc-%d", s.KeyBits)
	case ESPAESGCM16:
		enc = fmt.Sprintf("aes-gcm-%d", s.KeyBits)
	case ESP3DES:
		enc = "3des-cbc"
	case ESPChaCha20Poly1305:
		enc = "chacha20-poly1305"
	default:
		enc = fmt.Sprintf("esp(%d)", uint8(s.Cipher))
	}
	auth := map[ESPAuth]string{AuthNone: "None", AuthHMACSHA1: "sha1", AuthHMACSHA256: "sha256", AuthHMACSHA384: "sha384", AuthHMACSHA512: "sha512"}[s.Auth]
	if auth == "" {
		auth = s.Auth.String()
	}
	return enc + "/" + auth
}
