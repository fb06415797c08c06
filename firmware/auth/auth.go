// Package auth checks passwords against the crypt(3) hashes that Junos keeps
// in "system root-authentication encrypted-password", and makes new ones.
//
// Supported formats:
//
//	$6$[rounds=N$]salt$sum   SHA-512-crypt (Drepper), what Junos writes
//	$5$[rounds=N$]salt$sum   SHA-256-crypt (Drepper), same scheme
//	$2a$, $2b$, $2y$         bcrypt, through golang.org/x/crypto/bcrypt
//
// Anything else (DES, MD5-crypt, $1$, $sha1$, empty) is refused rather than
// guessed at: a router that accepted a hash it cannot check would let anyone
// in or no one.
package auth

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// MaxPasswordLen bounds the password Verify and Hash accept. SHA-crypt hashes
// the password once per byte of its length (the "DP" digest), so its cost is
// quadratic in the length; an SSH client may send a password of a few hundred
// kilobytes before it is authenticated. 4096 bytes is passlib's limit too and
// is far beyond anything typed at a login prompt.
const MaxPasswordLen = 4096

// maxBcryptCost is bcrypt's own upper bound (2^31 rounds); Verify keeps it,
// the fuzz target lowers it so that a generated hash does not run for hours.
const maxBcryptCost = bcrypt.MaxCost

// Verify reports whether password matches hash. It returns false for a hash
// in a format it does not know or that is malformed, and never panics.
// The comparison of the computed and the stored sum takes constant time.
func Verify(hash, password string) bool {
	return verify(hash, password, maxRounds, maxBcryptCost)
}

func verify(hash, password string, roundsLimit, costLimit int) bool {
	if len(password) > MaxPasswordLen {
		return false
	}
	switch {
	case strings.HasPrefix(hash, sha512Crypt.id):
		return sha512Crypt.verify(hash, password, roundsLimit)
	case strings.HasPrefix(hash, sha256Crypt.id):
		return sha256Crypt.verify(hash, password, roundsLimit)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		// bcrypt.CompareHashAndPassword parses and compares in
		// constant time itself; only the cost is bounded here.
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil || cost > costLimit {
			return false
		}
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	return false
}

// saltLen is the salt Hash makes: 16 characters is the most SHA-crypt uses,
// 96 bits.
const saltLen = 16

// Hash returns a SHA-512-crypt hash of password with a 16-character salt
// read from rand, and the default 5000 rounds (so, as glibc does, the
// string has no rounds= field). The result is what Junos stores in
// "encrypted-password".
func Hash(password string, rand io.Reader) (string, error) {
	if len(password) > MaxPasswordLen {
		return "", fmt.Errorf("hashing a password: longer than %d bytes", MaxPasswordLen)
	}
	var b [saltLen]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("reading random salt for a password hash: %w", err)
	}
	salt := make([]byte, saltLen)
	for i, c := range b {
		// 256 is a multiple of 64, so the low 6 bits are uniform.
		salt[i] = cryptAlphabet[c&0x3f]
	}
	return sha512Crypt.crypt([]byte(password), salt, defaultRounds, false), nil
}
