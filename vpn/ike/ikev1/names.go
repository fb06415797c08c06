package ikev1

import (
	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// Names names a negotiated phase 1 proposal as Junos does.
func (p Proposal) Names() seam.Algorithms {
	var a seam.Algorithms
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
