package ikecrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"fmt"
)

// CipherAlg is the IKEv1 phase 1 encryption algorithm attribute value.
type CipherAlg uint16

// Phase 1 ciphers.
const (
	TripleDES CipherAlg = 5
	AESCBC    CipherAlg = 7
)

func (c CipherAlg) String() string {
	switch c {
	case TripleDES:
		return "3des-cbc"
	case AESCBC:
		return "aes-cbc"
	}
	return fmt.Sprintf("cipher(%d)", uint16(c))
}

// Cipher is a phase 1 cipher with its key length.
type Cipher struct {
	Alg     CipherAlg
	KeyBits int // 128, 192 or 256 for AES; 192 for 3DES
}

func (c Cipher) String() string {
	if c.Alg == AESCBC {
		return fmt.Sprintf("aes%d-cbc", c.KeyBits)
	}
	return c.Alg.String()
}

// Validate checks that the algorithm and key length are supported.
func (c Cipher) Validate() error {
	switch {
	case c.Alg == AESCBC && (c.KeyBits == 128 || c.KeyBits == 192 || c.KeyBits == 256):
		return nil
	case c.Alg == TripleDES && c.KeyBits == 192:
		return nil
	}
	return fmt.Errorf("cipher %v with %d-bit key is not supported (aes-cbc 128/192/256, 3des-cbc)", c.Alg, c.KeyBits)
}

// KeyLen returns the key length in bytes.
func (c Cipher) KeyLen() int { return c.KeyBits / 8 }

// BlockSize returns the cipher's block size.
func (c Cipher) BlockSize() int {
	if c.Alg == TripleDES {
		return des.BlockSize
	}
	return aes.BlockSize
}

// NewBlock returns the block cipher for key.
func (c Cipher) NewBlock(key []byte) (cipher.Block, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(key) != c.KeyLen() {
		return nil, fmt.Errorf("%v key is %d bytes, want %d", c, len(key), c.KeyLen())
	}
	if c.Alg == TripleDES {
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}
