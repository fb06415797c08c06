package isakmp

import (
	"crypto/cipher"
	"fmt"
)

// Encrypt encodes m with its payloads encrypted in CBC mode under block with
// the given IV (RFC 2408 3.1 and RFC 2409 Appendix B). The plaintext is padded
// with zeros to the block size; the header's length covers the padding. It
// returns the datagram and the IV for the next message of the exchange (the
// last ciphertext block).
func Encrypt(m *Message, block cipher.Block, iv []byte) (datagram, nextIV []byte, err error) {
	bs := block.BlockSize()
	if len(iv) != bs {
		return nil, nil, fmt.Errorf("encrypting %s message: IV is %d bytes, cipher block is %d", m.Header.Exchange, len(iv), bs)
	}
	h := m.Header
	h.NextPayload = FirstType(m.Payloads)
	h.Flags |= FlagEncryption
	if h.Version == 0 {
		h.Version = Version
	}
	b := h.AppendTo(make([]byte, 0, 512))
	b = AppendPayloads(b, m.Payloads)
	if pad := (len(b) - HeaderLen) % bs; pad != 0 {
		b = append(b, make([]byte, bs-pad)...)
	}
	body := b[HeaderLen:]
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(body, body)
	putLength(b)
	return b, clone(body[len(body)-bs:]), nil
}

// Decrypt decodes an encrypted datagram: it decrypts the body with block and
// iv, and decodes the payload chain, ignoring the padding after the last
// payload. It returns the message and the IV for the next message (the last
// ciphertext block). The returned plaintext body is what the decrypted
// payloads were decoded from, for the quick mode hash checks.
func Decrypt(b []byte, block cipher.Block, iv []byte) (m *Message, plain, nextIV []byte, err error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return nil, nil, nil, err
	}
	if h.Flags&FlagEncryption == 0 {
		return nil, nil, nil, fmt.Errorf("%s message is not encrypted", h.Exchange)
	}
	bs := block.BlockSize()
	body := b[HeaderLen:h.Length]
	if len(body) == 0 || len(body)%bs != 0 {
		return nil, nil, nil, fmt.Errorf("encrypted %s body is %d bytes, not a positive multiple of the %d-byte block", h.Exchange, len(body), bs)
	}
	if len(iv) != bs {
		return nil, nil, nil, fmt.Errorf("decrypting %s message: IV is %d bytes, cipher block is %d", h.Exchange, len(iv), bs)
	}
	nextIV = clone(body[len(body)-bs:])
	plain = make([]byte, len(body))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, body)
	ps, trailing, err := DecodePayloads(h.NextPayload, plain, HeaderLen, true)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("decrypted %s message: %w", h.Exchange, err)
	}
	return &Message{Header: h, Payloads: ps}, plain[:len(plain)-trailing], nextIV, nil
}
