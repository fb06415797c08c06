package ikev2

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// protector encrypts and authenticates one direction of an IKE SA
// (RFC 7296 3.14 for AES-CBC + HMAC, RFC 5282 for AES-GCM, RFC 7634 for
// ChaCha20-Poly1305).
type protector struct {
	p        Proposal
	block    cipher.Block // CBC
	aead     cipher.AEAD  // GCM, ChaCha20-Poly1305
	salt     []byte
	integKey []byte
}

func newProtector(p Proposal, encKey, integKey []byte) (*protector, error) {
	pr := &protector{p: p, integKey: integKey}
	var err error
	switch p.Encr {
	case EncrAESCBC:
		pr.block, err = aes.NewCipher(encKey)
	case EncrAESGCM16:
		k, salt := encKey[:len(encKey)-4], encKey[len(encKey)-4:]
		pr.salt = salt
		var b cipher.Block
		if b, err = aes.NewCipher(k); err == nil {
			pr.aead, err = cipher.NewGCM(b)
		}
	case EncrChaCha20Poly1305:
		pr.salt = encKey[32:]
		pr.aead, err = chacha20poly1305.New(encKey[:32])
	default:
		err = fmt.Errorf("cipher %d is not supported", p.Encr)
	}
	if err != nil {
		return nil, fmt.Errorf("setting up %v: %w", p, err)
	}
	return pr, nil
}

const aeadIVLen = 8 // RFC 5282 3.1, RFC 7634 2: explicit 8-byte IV after a 4-byte salt

func (pr *protector) ivLen() int {
	if pr.aead != nil {
		return aeadIVLen
	}
	return aes.BlockSize
}

func (pr *protector) icvLen() int {
	if pr.aead != nil {
		return pr.aead.Overhead()
	}
	_, n := pr.p.Integ.Hash()
	return n
}

// overhead is what protecting adds to the inner payloads at most, beside
// the headers: IV, ICV, pad length and CBC padding.
func (pr *protector) overhead() int {
	n := pr.ivLen() + pr.icvLen() + 1
	if pr.aead == nil {
		n += aes.BlockSize - 1
	}
	return n
}

// seal builds a protected message: the header, one SK payload (frag nil) or
// SKF payload, IV, ciphertext and ICV. h.NextPayload and h.Length are set here.
func (pr *protector) seal(h Header, frag *Fragment, nextInner PayloadType, inner []byte, rand io.Reader) ([]byte, error) {
	pad := 0
	if pr.aead == nil {
		pad = (aes.BlockSize - (len(inner)+1)%aes.BlockSize) % aes.BlockSize
	}
	phdr := genericHeaderLen
	h.NextPayload = PayloadSK
	if frag != nil {
		phdr += 4
		h.NextPayload = PayloadSKF
	}
	plainLen := len(inner) + pad + 1
	total := HeaderLen + phdr + pr.ivLen() + plainLen + pr.icvLen()
	h.Length = uint32(total)
	b := h.Append(make([]byte, 0, total))
	b = append(b, byte(nextInner), 0)
	b = binary.BigEndian.AppendUint16(b, uint16(total-HeaderLen))
	if frag != nil {
		b = binary.BigEndian.AppendUint16(b, frag.Number)
		b = binary.BigEndian.AppendUint16(b, frag.Total)
	}
	aadEnd := len(b)
	iv := b[len(b) : len(b)+pr.ivLen()]
	b = b[:len(b)+pr.ivLen()]
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("drawing an IV: %w", err)
	}
	ptStart := len(b)
	b = append(b, inner...)
	b = append(b, make([]byte, pad)...)
	b = append(b, byte(pad))
	if pr.aead != nil {
		nonce := append(append(make([]byte, 0, 12), pr.salt...), iv...)
		pt := append([]byte(nil), b[ptStart:]...)
		return pr.aead.Seal(b[:ptStart], nonce, pt, b[:aadEnd]), nil
	}
	cipher.NewCBCEncrypter(pr.block, iv).CryptBlocks(b[ptStart:], b[ptStart:])
	ih, n := pr.p.Integ.Hash()
	return append(b, ih.PRF(pr.integKey, b)[:n]...), nil
}

var errIntegrity = errors.New("integrity check failed")

// open checks and decrypts the SK or SKF payload that ends msg; bodyStart is
// where its IV begins. It returns the inner payloads' bytes.
func (pr *protector) open(msg []byte, bodyStart int) ([]byte, error) {
	body := msg[bodyStart:]
	iv, icv := pr.ivLen(), pr.icvLen()
	if len(body) < iv+icv+1 {
		return nil, fmt.Errorf("encrypted payload of %d bytes: %w", len(body), errShort)
	}
	var plain []byte
	if pr.aead != nil {
		nonce := append(append(make([]byte, 0, 12), pr.salt...), body[:iv]...)
		var err error
		plain, err = pr.aead.Open(nil, nonce, body[iv:], msg[:bodyStart])
		if err != nil {
			return nil, errIntegrity
		}
	} else {
		ih, n := pr.p.Integ.Hash()
		end := len(msg) - n
		if !hmac.Equal(ih.PRF(pr.integKey, msg[:end])[:n], msg[end:]) {
			return nil, errIntegrity
		}
		ct := body[iv : len(body)-n]
		if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
			return nil, fmt.Errorf("ciphertext of %d bytes is not whole blocks", len(ct))
		}
		plain = make([]byte, len(ct))
		cipher.NewCBCDecrypter(pr.block, body[:iv]).CryptBlocks(plain, ct)
	}
	if len(plain) == 0 || int(plain[len(plain)-1]) >= len(plain) {
		return nil, fmt.Errorf("bad padding length")
	}
	return plain[:len(plain)-1-int(plain[len(plain)-1])], nil
}
