// Package ikecrypto holds the IKEv1 cryptographic suite: the PRFs (HMAC with
// SHA-1 and SHA-2), the Diffie-Hellman groups (MODP 2, 5, 14, 15, 16 with
// math/big; ECP 19, 20, 21 with crypto/ecdh), the phase 1 ciphers (3DES and
// AES-CBC), and the RFC 2409 key derivations: SKEYID for pre-shared keys,
// SKEYID_d/a/e, cipher key expansion (Appendix B), HASH_I/HASH_R, the quick
// mode hashes and KEYMAT.
//
// Everything here is pure: randomness comes in through an io.Reader so that
// exchanges replay deterministically in tests.
package ikecrypto
