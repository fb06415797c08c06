package auth

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"hash"
	"strconv"
	"strings"
)

// SHA-crypt as specified by Ulrich Drepper, "Unix crypt using SHA-256 and
// SHA-512" (https://www.akkadia.org/drepper/SHA-crypt.txt), the scheme glibc
// and libxcrypt implement for $5$ and $6$. The step numbers in comments are
// the specification's.

const (
	defaultRounds = 5000
	minRounds     = 1000
	maxRounds     = 999_999_999
	maxSaltLen    = 16
)

// cryptAlphabet is crypt(3)'s base64 alphabet; it is not RFC 4648's, and the
// bits are taken least significant first.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

type shaVariant struct {
	id      string // "$5$" or "$6$"
	newHash func() hash.Hash
	size    int // digest size in bytes
	// order lists the digest bytes in the order step 22 encodes them,
	// three at a time, most significant first; a short last group is
	// encoded in as few characters as hold its bits.
	order []byte
	// encLen is the length of the encoded sum: 43 or 86.
	encLen int
}

var (
	sha512Crypt = shaVariant{
		id: "$6$", newHash: sha512.New, size: sha512.Size, encLen: 86,
		order: []byte{
			0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4,
			47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8, 29, 9, 30, 51,
			31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35,
			15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60, 40, 61, 19,
			62, 20, 41, 63,
		},
	}
	sha256Crypt = shaVariant{
		id: "$5$", newHash: sha256.New, size: sha256.Size, encLen: 43,
		order: []byte{
			0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14,
			15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28, 8, 9, 19, 29,
			31, 30,
		},
	}
)

// errMalformed stays inside the package: Verify only says yes or no.
var errMalformed = errors.New("malformed SHA-crypt hash")

// shaHash is a parsed $5$ or $6$ string.
type shaHash struct {
	rounds   int
	explicit bool // the string had rounds=N$
	salt     string
	sum      string
}

// parse splits s strictly: a string glibc could have produced, and nothing
// else. glibc's crypt() clamps rounds= to [1000, 999999999] and cuts the
// salt at 16 characters when it makes a hash, so a stored hash outside those
// bounds was not made by it.
func (v *shaVariant) parse(s string) (shaHash, error) {
	rest, ok := strings.CutPrefix(s, v.id)
	if !ok {
		return shaHash{}, errMalformed
	}
	h := shaHash{rounds: defaultRounds}
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, ok := strings.Cut(r, "$")
		if !ok || num == "" || num[0] == '0' || len(num) > len("999999999") {
			return shaHash{}, errMalformed
		}
		for _, c := range []byte(num) {
			if c < '0' || c > '9' {
				return shaHash{}, errMalformed
			}
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < minRounds || n > maxRounds {
			return shaHash{}, errMalformed
		}
		h.rounds, h.explicit, rest = n, true, after
	}
	salt, sum, ok := strings.Cut(rest, "$")
	if !ok || len(salt) > maxSaltLen || len(sum) != v.encLen {
		return shaHash{}, errMalformed
	}
	h.salt, h.sum = salt, sum
	return h, nil
}

func (v *shaVariant) verify(stored, password string, roundsLimit int) bool {
	h, err := v.parse(stored)
	if err != nil || h.rounds > roundsLimit {
		return false
	}
	got := v.encode(v.sum([]byte(password), []byte(h.salt), h.rounds))
	return subtle.ConstantTimeCompare([]byte(got), []byte(h.sum)) == 1
}

// crypt formats a full hash string as glibc does; explicit says whether
// rounds= is written (glibc writes it whenever the setting had it, even
// for 5000).
func (v *shaVariant) crypt(key, salt []byte, rounds int, explicit bool) string {
	var b strings.Builder
	b.WriteString(v.id)
	if explicit {
		b.WriteString("rounds=")
		b.WriteString(strconv.Itoa(rounds))
		b.WriteByte('$')
	}
	b.Write(salt)
	b.WriteByte('$')
	b.WriteString(v.encode(v.sum(key, salt, rounds)))
	return b.String()
}

// sum runs steps 1-21 of the specification and returns the final digest.
func (v *shaVariant) sum(key, salt []byte, rounds int) []byte {
	// Steps 4-8: digest B = H(key salt key).
	hb := v.newHash()
	hb.Write(key)
	hb.Write(salt)
	hb.Write(key)
	b := hb.Sum(nil)

	// Steps 1-3 and 9-12: digest A.
	ha := v.newHash()
	ha.Write(key)
	ha.Write(salt)
	n := len(key)
	for ; n > v.size; n -= v.size {
		ha.Write(b)
	}
	ha.Write(b[:n])
	// Step 11: one addition per bit of the key length, low bit first.
	for n := len(key); n > 0; n >>= 1 {
		if n&1 != 0 {
			ha.Write(b)
		} else {
			ha.Write(key)
		}
	}
	a := ha.Sum(nil)

	// Steps 13-16: P, the digest of the key repeated len(key) times,
	// itself repeated to len(key) bytes.
	hp := v.newHash()
	for range len(key) {
		hp.Write(key)
	}
	p := repeat(hp.Sum(nil), len(key))

	// Steps 17-20: S, the digest of the salt repeated 16+A[0] times,
	// repeated to len(salt) bytes.
	hs := v.newHash()
	for range 16 + int(a[0]) {
		hs.Write(salt)
	}
	s := repeat(hs.Sum(nil), len(salt))

	// Step 21: the rounds that make the hash slow.
	c := a
	h := v.newHash()
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	return c
}

// repeat returns n bytes of d repeated.
func repeat(d []byte, n int) []byte {
	out := make([]byte, n)
	for i := 0; i < n; i += len(d) {
		copy(out[i:], d)
	}
	return out
}

// encode is step 22: the digest in crypt's base64, bytes permuted by order.
func (v *shaVariant) encode(d []byte) string {
	out := make([]byte, 0, v.encLen)
	for i := 0; i < len(v.order); i += 3 {
		group := v.order[i:min(i+3, len(v.order))]
		var w uint32
		for _, j := range group {
			w = w<<8 | uint32(d[j])
		}
		// 3 bytes make 4 characters, 2 make 3, 1 makes 2.
		for range len(group) + 1 {
			out = append(out, cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	return string(out)
}
