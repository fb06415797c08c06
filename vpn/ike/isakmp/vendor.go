package isakmp

import "crypto/md5"

// VendorID is the Vendor ID payload.
type VendorID struct{ Data []byte }

// Type implements Payload.
func (*VendorID) Type() PayloadType { return PayloadVendorID }

// AppendBody implements Payload.
func (v *VendorID) AppendBody(b []byte) []byte { return append(b, v.Data...) }

// VendorIDNATT is the RFC 3947 NAT traversal vendor ID: MD5("RFC 3947").
func VendorIDNATT() []byte {
	s := md5.Sum([]byte("RFC 3947"))
	return s[:]
}

// VendorIDDPD is the RFC 3706 dead peer detection vendor ID (version 1.0).
func VendorIDDPD() []byte {
	return []byte{0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00}
}
