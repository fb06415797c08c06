package ikecrypto

import (
	"crypto/ecdh"
	"fmt"
	"io"
	"math/big"
)

// Group is a Diffie-Hellman group number (IKEv1 Group Description, RFC 2409,
// RFC 3526, RFC 5903).
type Group uint16

// Supported groups.
const (
	MODP1024 Group = 2
	MODP1536 Group = 5
	MODP2048 Group = 14
	MODP3072 Group = 15
	MODP4096 Group = 16
	ECP256   Group = 19
	ECP384   Group = 20
	ECP521   Group = 21
	// Curve25519 is RFC 8031's group 31 (IKEv2 only).
	Curve25519 Group = 31
)

func (g Group) String() string { return fmt.Sprintf("DH-group-%d", uint16(g)) }

// Valid reports whether the group is supported.
func (g Group) Valid() bool { return g.modp() != nil || g.curve() != nil }

func (g Group) modp() *big.Int {
	var h string
	switch g {
	case MODP1024:
		h = modp2Hex
	case MODP1536:
		h = modp5Hex
	case MODP2048:
		h = modp14Hex
	case MODP3072:
		h = modp15Hex
	case MODP4096:
		h = modp16Hex
	default:
		return nil
	}
	p, _ := new(big.Int).SetString(h, 16)
	return p
}

func (g Group) curve() ecdh.Curve {
	switch g {
	case ECP256:
		return ecdh.P256()
	case ECP384:
		return ecdh.P384()
	case ECP521:
		return ecdh.P521()
	case Curve25519:
		return ecdh.X25519()
	}
	return nil
}

func (g Group) exponentBits() int {
	switch g {
	case MODP1024, MODP1536, MODP2048:
		return 256
	case MODP3072:
		return 384
	}
	return 512
}

// PublicLen returns the length of a public value in the KE payload.
func (g Group) PublicLen() int {
	if p := g.modp(); p != nil {
		return (p.BitLen() + 7) / 8
	}
	switch g {
	case ECP256:
		return 64
	case ECP384:
		return 96
	case ECP521:
		return 132
	case Curve25519:
		return 32
	}
	return 0
}

// DHKey is one side's Diffie-Hellman private key.
type DHKey struct {
	group  Group
	x      *big.Int         // MODP
	ec     *ecdh.PrivateKey // ECP
	public []byte
}

// GenerateKey draws a private key from rand. The caller injects rand so that
// tests are deterministic; crypto/ecdh's own generator ignores its reader, so
// the scalar is read here and handed to NewPrivateKey.
func (g Group) GenerateKey(rand io.Reader) (*DHKey, error) {
	if p := g.modp(); p != nil {
		// The exponent is twice the group's security strength long (RFC 3526
		// 8 gives 90..150 bits for these groups), rounded up generously:
		// a full-length one would cost 8x the time for no gain.
		buf := make([]byte, g.exponentBits()/8)
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("generating %v key: %w", g, err)
		}
		buf[0] |= 0x80
		x := new(big.Int).SetBytes(buf)
		y := new(big.Int).Exp(big.NewInt(2), x, p)
		return &DHKey{group: g, x: x, public: y.FillBytes(make([]byte, (p.BitLen()+7)/8))}, nil
	}
	c := g.curve()
	if c == nil {
		return nil, fmt.Errorf("DH group %d is not supported (2, 5, 14, 15, 16, 19, 20, 21, 31)", uint16(g))
	}
	n := g.PublicLen() / 2
	if g == Curve25519 {
		n = 32 // any 32 bytes are a valid X25519 scalar (RFC 7748 5 clamps them)
	}
	for range 100 {
		buf := make([]byte, n)
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("generating %v key: %w", g, err)
		}
		if g == ECP521 {
			buf[0] &= 1
		}
		k, err := c.NewPrivateKey(buf)
		if err != nil {
			continue // zero or not below the order: draw again
		}
		pub := k.PublicKey().Bytes()
		if g != Curve25519 {
			pub = pub[1:] // KE carries x | y without the SEC1 0x04 prefix (RFC 5903 7)
		}
		return &DHKey{group: g, ec: k, public: pub}, nil
	}
	return nil, fmt.Errorf("generating %v key: no valid scalar in 100 draws", g)
}

// Group returns the key's group.
func (k *DHKey) Group() Group { return k.group }

// Public returns the public value as carried in the KE payload.
func (k *DHKey) Public() []byte { return k.public }

// SharedSecret computes g^xy from the peer's public value: for MODP padded to
// the prime's length, for ECP the x coordinate (RFC 5903 9).
func (k *DHKey) SharedSecret(peer []byte) ([]byte, error) {
	if len(peer) != k.group.PublicLen() {
		return nil, fmt.Errorf("%v peer public value is %d bytes, want %d", k.group, len(peer), k.group.PublicLen())
	}
	if p := k.group.modp(); p != nil {
		y := new(big.Int).SetBytes(peer)
		pm1 := new(big.Int).Sub(p, big.NewInt(1))
		if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pm1) >= 0 {
			return nil, fmt.Errorf("%v peer public value is out of range", k.group)
		}
		s := new(big.Int).Exp(y, k.x, p)
		return s.FillBytes(make([]byte, len(peer))), nil
	}
	enc := peer
	if k.group != Curve25519 {
		enc = append([]byte{4}, peer...)
	}
	pub, err := k.group.curve().NewPublicKey(enc)
	if err != nil {
		return nil, fmt.Errorf("%v peer public value: %w", k.group, err)
	}
	s, err := k.ec.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%v shared secret: %w", k.group, err)
	}
	return s, nil
}
