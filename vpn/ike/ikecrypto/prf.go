package ikecrypto

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// HashAlg is the IKEv1 phase 1 hash algorithm attribute value (RFC 2409
// Appendix A, RFC 4868). The PRF is HMAC with this hash.
type HashAlg uint16

// Hash algorithms.
const (
	SHA1   HashAlg = 2
	SHA256 HashAlg = 4
	SHA384 HashAlg = 5
	SHA512 HashAlg = 6
)

func (h HashAlg) String() string {
	switch h {
	case SHA1:
		return "sha1"
	case SHA256:
		return "sha-256"
	case SHA384:
		return "sha-384"
	case SHA512:
		return "sha-512"
	}
	return fmt.Sprintf("hash(%d)", uint16(h))
}

// New returns the hash function, or nil for an unsupported algorithm.
func (h HashAlg) New() func() hash.Hash {
	switch h {
	case SHA1:
		return sha1.New
	case SHA256:
		return sha256.New
	case SHA384:
		return sha512.New384
	case SHA512:
		return sha512.New
	}
	return nil
}

// Valid reports whether the algorithm is supported.
func (h HashAlg) Valid() bool { return h.New() != nil }

// Size returns the digest length in bytes.
func (h HashAlg) Size() int { return h.New()().Size() }

// PRF computes HMAC-h(key, data[0] | data[1] | ...).
func (h HashAlg) PRF(key []byte, data ...[]byte) []byte {
	m := hmac.New(h.New(), key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// Sum computes the plain hash of the concatenated data (NAT-D, the phase 1 IV).
func (h HashAlg) Sum(data ...[]byte) []byte {
	m := h.New()()
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}
