// Package isakmp encodes and decodes IKEv1 ISAKMP messages (RFC 2408) with the
// IPsec DOI payload contents (RFC 2407) and the NAT traversal payloads
// (RFC 3947).
//
// Decoding is strict: every length is checked against its container, reserved
// fields must be zero, and errors name the payload and the offset at which it
// started. Anything that decodes encodes back to the same bytes, which the
// fuzz targets check. Encryption of a message body with the IKEv1 CBC IV chain
// lives in crypt.go; the key schedule lives in package ikecrypto.
package isakmp
