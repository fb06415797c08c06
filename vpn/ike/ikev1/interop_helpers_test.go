package ikev1

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/seam"
)

func cryptoRandRead(p []byte) (int, error) { return rand.Read(p) }

// proposalsFor turns strongSwan proposal strings of the forms used in the
// interop test into ours.
func proposalsFor(t *testing.T, ike, esp string) ([]Proposal, []seam.ChildProposal, ikecrypto.Group) {
	t.Helper()
	var p Proposal
	p.Lifetime = 8 * time.Hour
	for _, f := range strings.Split(ike, "-") {
		switch f {
		case "aes128":
			p.Cipher = ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 128}
		case "aes256":
			p.Cipher = ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 256}
		case "3des":
			p.Cipher = ikecrypto.Cipher{Alg: ikecrypto.TripleDES, KeyBits: 192}
		case "sha1":
			p.Hash = ikecrypto.SHA1
		case "sha256":
			p.Hash = ikecrypto.SHA256
		case "sha384":
			p.Hash = ikecrypto.SHA384
		default:
			p.Group = group(t, f)
		}
	}
	c := seam.ChildProposal{Lifetime: time.Hour}
	var pfs ikecrypto.Group
	for _, f := range strings.Split(esp, "-") {
		switch f {
		case "aes128":
			c.Suite.Cipher, c.Suite.KeyBits = ikecrypto.ESPAESCBC, 128
		case "aes256":
			c.Suite.Cipher, c.Suite.KeyBits = ikecrypto.ESPAESCBC, 256
		case "aes256gcm16":
			c.Suite.Cipher, c.Suite.KeyBits = ikecrypto.ESPAESGCM16, 256
		case "sha1":
			c.Suite.Auth = ikecrypto.AuthHMACSHA1
		case "sha256":
			c.Suite.Auth = ikecrypto.AuthHMACSHA256
		default:
			pfs = group(t, f)
		}
	}
	return []Proposal{p}, []seam.ChildProposal{c}, pfs
}

func group(t *testing.T, s string) ikecrypto.Group {
	m := map[string]ikecrypto.Group{"modp1024": 2, "modp1536": 5, "modp2048": 14, "modp3072": 15, "modp4096": 16, "ecp256": 19, "ecp384": 20, "ecp521": 21}
	g, ok := m[s]
	if !ok {
		t.Fatalf("unknown proposal part %q", s)
	}
	return g
}
