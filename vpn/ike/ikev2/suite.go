package ikev2

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// Encr is an encryption transform ID (IANA IKEv2 Transform Type 1).
type Encr uint16

// Encryption transforms, for IKE and ESP alike.
const (
	EncrAESCBC           Encr = 12
	EncrAESGCM16         Encr = 20
	EncrChaCha20Poly1305 Encr = 28
)

// PRF is a pseudorandom function transform ID (Transform Type 2).
type PRF uint16

// PRFs.
const (
	PRFHMACSHA1   PRF = 2
	PRFHMACSHA256 PRF = 5
	PRFHMACSHA384 PRF = 6
	PRFHMACSHA512 PRF = 7
)

// Integ is an integrity transform ID (Transform Type 3); IntegNone goes with AEAD ciphers.
type Integ uint16

// Integrity transforms.
const (
	IntegNone          Integ = 0
	IntegHMACSHA1_96   Integ = 2
	IntegHMACSHA256128 Integ = 12
	IntegHMACSHA384192 Integ = 13
	IntegHMACSHA512256 Integ = 14
)

// Proposal is one IKE SA proposal: cipher, integrity (none with AEAD), PRF
// and DH group, authenticated by pre-shared key.
type Proposal struct {
	Encr     Encr
	KeyBits  int
	Integ    Integ
	PRF      PRF
	Group    ikecrypto.Group
	Lifetime time.Duration
}

// IsAEAD reports whether the cipher authenticates by itself.
func (e Encr) IsAEAD() bool { return e == EncrAESGCM16 || e == EncrChaCha20Poly1305 }

func (e Encr) name(bits int) string {
	switch e {
	case EncrAESCBC:
		return fmt.Sprintf("aes%d", bits)
	case EncrAESGCM16:
		return fmt.Sprintf("aes%dgcm16", bits)
	case EncrChaCha20Poly1305:
		return "chacha20poly1305"
	}
	return fmt.Sprintf("encr%d", uint16(e))
}

// Hash returns the PRF's hash.
func (p PRF) Hash() ikecrypto.HashAlg {
	switch p {
	case PRFHMACSHA1:
		return ikecrypto.SHA1
	case PRFHMACSHA256:
		return ikecrypto.SHA256
	case PRFHMACSHA384:
		return ikecrypto.SHA384
	case PRFHMACSHA512:
		return ikecrypto.SHA512
	}
	return 0
}

func (p PRF) String() string {
	switch p {
	case PRFHMACSHA1:
		return "prfsha1"
	case PRFHMACSHA256:
		return "prfsha256"
	case PRFHMACSHA384:
		return "prfsha384"
	case PRFHMACSHA512:
		return "prfsha512"
	}
	return fmt.Sprintf("prf%d", uint16(p))
}

// Hash returns the integrity algorithm's hash and its truncated length in bytes.
func (i Integ) Hash() (ikecrypto.HashAlg, int) {
	switch i {
	case IntegHMACSHA1_96:
		return ikecrypto.SHA1, 12
	case IntegHMACSHA256128:
		return ikecrypto.SHA256, 16
	case IntegHMACSHA384192:
		return ikecrypto.SHA384, 24
	case IntegHMACSHA512256:
		return ikecrypto.SHA512, 32
	}
	return 0, 0
}

func (i Integ) String() string {
	switch i {
	case IntegNone:
		return ""
	case IntegHMACSHA1_96:
		return "sha1"
	case IntegHMACSHA256128:
		return "sha256"
	case IntegHMACSHA384192:
		return "sha384"
	case IntegHMACSHA512256:
		return "sha512"
	}
	return fmt.Sprintf("integ%d", uint16(i))
}

// KeyLen returns the integrity key length in bytes (the hash size, RFC 4868).
func (i Integ) KeyLen() int {
	h, _ := i.Hash()
	if h == 0 {
		return 0
	}
	return h.Size()
}

func groupName(g ikecrypto.Group) string {
	switch g {
	case ikecrypto.MODP1024:
		return "modp1024"
	case ikecrypto.MODP1536:
		return "modp1536"
	case ikecrypto.MODP2048:
		return "modp2048"
	case ikecrypto.MODP3072:
		return "modp3072"
	case ikecrypto.MODP4096:
		return "modp4096"
	case ikecrypto.ECP256:
		return "ecp256"
	case ikecrypto.ECP384:
		return "ecp384"
	case ikecrypto.ECP521:
		return "ecp521"
	case ikecrypto.Curve25519:
		return "curve25519"
	}
	return fmt.Sprintf("dh%d", uint16(g))
}

// String renders the proposal in strongSwan's syntax, e.g. aes128-sha256-prfsha256-modp2048.
func (p Proposal) String() string {
	parts := []string{p.Encr.name(p.KeyBits)}
	if p.Integ != IntegNone {
		parts = append(parts, p.Integ.String())
	}
	return strings.Join(append(parts, p.PRF.String(), groupName(p.Group)), "-")
}

// Validate checks that the proposal is one this engine implements.
func (p Proposal) Validate() error {
	switch {
	case p.Encr == EncrAESCBC && (p.KeyBits == 128 || p.KeyBits == 192 || p.KeyBits == 256) && p.Integ != IntegNone:
	case p.Encr == EncrAESGCM16 && (p.KeyBits == 128 || p.KeyBits == 256) && p.Integ == IntegNone:
	case p.Encr == EncrChaCha20Poly1305 && p.KeyBits == 256 && p.Integ == IntegNone:
	default:
		return fmt.Errorf("IKE proposal %v: cipher must be aes128/192/256 with an integrity algorithm, or aes128gcm16, aes256gcm16, chacha20poly1305 without", p)
	}
	if h, _ := p.Integ.Hash(); p.Integ != IntegNone && h == 0 {
		return fmt.Errorf("IKE proposal %v: integrity algorithm %d is not supported (sha1, sha256, sha384, sha512)", p, p.Integ)
	}
	if p.PRF.Hash() == 0 {
		return fmt.Errorf("IKE proposal %v: PRF %d is not supported (prfsha1, prfsha256, prfsha384, prfsha512)", p, p.PRF)
	}
	if !p.Group.Valid() {
		return fmt.Errorf("IKE proposal %v: DH group %d is not supported (14, 15, 16, 19, 20, 21, 31)", p, p.Group)
	}
	return nil
}

// encKeyLen returns SK_e's length: the key, plus the 4-byte salt of the
// AEAD ciphers (RFC 5282 7.1, RFC 7634 2).
func encKeyLen(e Encr, bits int) int {
	if e.IsAEAD() {
		return bits/8 + 4
	}
	return bits / 8
}

func encrTransform(e Encr, bits int) Transform {
	t := Transform{Type: TransformEncr, ID: uint16(e)}
	if e != EncrChaCha20Poly1305 { // fixed key length: no attribute (RFC 7634 4)
		t.Attributes = []Attribute{{Type: AttrKeyLength, TV: true, Short: uint16(bits)}}
	}
	return t
}

// transforms returns the proposal's transforms for an SA payload.
func (p Proposal) transforms() []Transform {
	ts := []Transform{encrTransform(p.Encr, p.KeyBits)}
	if p.Integ != IntegNone {
		ts = append(ts, Transform{Type: TransformInteg, ID: uint16(p.Integ)})
	}
	return append(ts, Transform{Type: TransformPRF, ID: uint16(p.PRF)}, Transform{Type: TransformDH, ID: uint16(p.Group)})
}

// ikeSAPayload encodes our IKE proposals, one proposal each, with spi (empty
// in IKE_SA_INIT, the new SPI when rekeying).
func ikeSAPayload(ps []Proposal, spi []byte) *SA {
	sa := &SA{}
	for i, p := range ps {
		sa.Proposals = append(sa.Proposals, SAProposal{Number: uint8(i + 1), Protocol: ProtoIKE, SPI: spi, Transforms: p.transforms()})
	}
	return sa
}

// offered groups a peer proposal's transforms by type.
type offered map[TransformType][]Transform

func offeredOf(p SAProposal) offered {
	o := offered{}
	for _, t := range p.Transforms {
		o[t.Type] = append(o[t.Type], t)
	}
	return o
}

func (o offered) has(tt TransformType, id uint16, bits int) bool {
	for _, t := range o[tt] {
		if t.ID == id && (tt != TransformEncr || t.KeyLength() == bits || (bits == 256 && t.ID == uint16(EncrChaCha20Poly1305))) {
			return true
		}
	}
	return false
}

// hasNone reports whether a transform type is absent or offers NONE (0).
func (o offered) hasNone(tt TransformType) bool { return len(o[tt]) == 0 || o.has(tt, 0, 0) }

// selectIKE picks the first of ours that one of the peer's IKE proposals
// allows, and returns it with the proposal to answer.
func selectIKE(ours []Proposal, sa *SA) (Proposal, SAProposal, bool) {
	for _, p := range ours {
		for _, pp := range sa.Proposals {
			if pp.Protocol != ProtoIKE {
				continue
			}
			o := offeredOf(pp)
			integOK := o.has(TransformInteg, uint16(p.Integ), 0)
			if p.Integ == IntegNone {
				integOK = o.hasNone(TransformInteg)
			}
			if o.has(TransformEncr, uint16(p.Encr), p.KeyBits) && integOK && o.has(TransformPRF, uint16(p.PRF), 0) && o.has(TransformDH, uint16(p.Group), 0) {
				return p, SAProposal{Number: pp.Number, Protocol: ProtoIKE, SPI: pp.SPI, Transforms: p.transforms()}, true
			}
		}
	}
	return Proposal{}, SAProposal{}, false
}

// parseIKE reads the single proposal of a responder's SA payload.
func parseIKE(sa *SA) (Proposal, error) {
	if len(sa.Proposals) != 1 || sa.Proposals[0].Protocol != ProtoIKE {
		return Proposal{}, fmt.Errorf("the responder's SA payload must hold one IKE proposal, has %d", len(sa.Proposals))
	}
	var p Proposal
	for _, t := range sa.Proposals[0].Transforms {
		switch t.Type {
		case TransformEncr:
			p.Encr, p.KeyBits = Encr(t.ID), t.KeyLength()
			if p.Encr == EncrChaCha20Poly1305 {
				p.KeyBits = 256
			}
		case TransformInteg:
			p.Integ = Integ(t.ID)
		case TransformPRF:
			p.PRF = PRF(t.ID)
		case TransformDH:
			p.Group = ikecrypto.Group(t.ID)
		}
	}
	return p, p.Validate()
}

// offersString lists the peer's proposals for logs.
func offersString(sa *SA) string {
	if sa == nil {
		return "[]"
	}
	s := make([]string, len(sa.Proposals))
	for i, p := range sa.Proposals {
		s[i] = describeOffer(p)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// describeOffer renders a peer proposal in strongSwan's syntax, alternatives joined by "/".
func describeOffer(p SAProposal) string {
	o := offeredOf(p)
	var parts []string
	for _, tt := range []TransformType{TransformEncr, TransformInteg, TransformPRF, TransformDH} {
		var alts []string
		for _, t := range o[tt] {
			switch tt {
			case TransformEncr:
				bits := t.KeyLength()
				if Encr(t.ID) == EncrChaCha20Poly1305 {
					bits = 256
				}
				alts = append(alts, Encr(t.ID).name(bits))
			case TransformInteg:
				if s := Integ(t.ID).String(); s != "" {
					alts = append(alts, s)
				}
			case TransformPRF:
				alts = append(alts, PRF(t.ID).String())
			case TransformDH:
				if t.ID != 0 {
					alts = append(alts, groupName(ikecrypto.Group(t.ID)))
				}
			}
		}
		if len(alts) > 0 {
			parts = append(parts, strings.Join(alts, "/"))
		}
	}
	return strings.ToLower(p.Protocol.String()) + ":" + strings.Join(parts, "-")
}

// ESP integrity: the IKEv1 DOI values the ESP suites carry, as IKEv2 transforms.
func espInteg(a ikecrypto.ESPAuth) Integ {
	switch a {
	case ikecrypto.AuthHMACSHA1:
		return IntegHMACSHA1_96
	case ikecrypto.AuthHMACSHA256:
		return IntegHMACSHA256128
	case ikecrypto.AuthHMACSHA384:
		return IntegHMACSHA384192
	case ikecrypto.AuthHMACSHA512:
		return IntegHMACSHA512256
	}
	return IntegNone
}

func espTransforms(s ikecrypto.ESPSuite, pfs ikecrypto.Group) []Transform {
	ts := []Transform{encrTransform(Encr(s.Cipher), s.KeyBits)}
	if s.Auth != ikecrypto.AuthNone {
		ts = append(ts, Transform{Type: TransformInteg, ID: uint16(espInteg(s.Auth))})
	}
	if pfs != 0 {
		ts = append(ts, Transform{Type: TransformDH, ID: uint16(pfs)})
	}
	return append(ts, Transform{Type: TransformESN, ID: 0})
}

// espSAPayload encodes our ESP proposals with our inbound SPI.
func espSAPayload(ps []seam.ChildProposal, spi uint32, pfs ikecrypto.Group) *SA {
	sa := &SA{}
	spiB := binary.BigEndian.AppendUint32(nil, spi)
	for i, p := range ps {
		sa.Proposals = append(sa.Proposals, SAProposal{Number: uint8(i + 1), Protocol: ProtoESP, SPI: spiB, Transforms: espTransforms(p.Suite, pfs)})
	}
	return sa
}

// selectESP picks the first of our proposals the peer offers. pfs is the
// group we require (0: none); in IKE_AUTH (inAuth) DH transforms are ignored
// (RFC 7296 1.2). It returns our proposal, the peer's SPI and the reply.
func selectESP(ours []seam.ChildProposal, pfs ikecrypto.Group, inAuth bool, sa *SA) (seam.ChildProposal, uint32, SAProposal, bool) {
	for _, p := range ours {
		for _, pp := range sa.Proposals {
			if pp.Protocol != ProtoESP || len(pp.SPI) != 4 {
				continue
			}
			o := offeredOf(pp)
			integ := espInteg(p.Suite.Auth)
			integOK := o.has(TransformInteg, uint16(integ), 0)
			if integ == IntegNone {
				integOK = o.hasNone(TransformInteg)
			}
			dhOK := inAuth || (pfs == 0 && o.hasNone(TransformDH)) || (pfs != 0 && o.has(TransformDH, uint16(pfs), 0))
			if o.has(TransformEncr, uint16(p.Suite.Cipher), p.Suite.KeyBits) && integOK && dhOK && o.hasNone(TransformESN) {
				g := pfs
				if inAuth {
					g = 0
				}
				return p, binary.BigEndian.Uint32(pp.SPI), SAProposal{Number: pp.Number, Protocol: ProtoESP, Transforms: espTransforms(p.Suite, g)}, true
			}
		}
	}
	return seam.ChildProposal{}, 0, SAProposal{}, false
}

// parseESP reads the responder's chosen ESP proposal.
func parseESP(sa *SA, ours []seam.ChildProposal) (seam.ChildProposal, uint32, error) {
	if len(sa.Proposals) != 1 || sa.Proposals[0].Protocol != ProtoESP || len(sa.Proposals[0].SPI) != 4 {
		return seam.ChildProposal{}, 0, fmt.Errorf("the responder's SA payload must hold one ESP proposal with a 4-byte SPI")
	}
	pp := sa.Proposals[0]
	var s ikecrypto.ESPSuite
	for _, t := range pp.Transforms {
		switch t.Type {
		case TransformEncr:
			s.Cipher, s.KeyBits = ikecrypto.ESPCipher(t.ID), t.KeyLength()
			if Encr(t.ID) == EncrChaCha20Poly1305 {
				s.KeyBits = 256
			}
		case TransformInteg:
			for _, a := range []ikecrypto.ESPAuth{ikecrypto.AuthHMACSHA1, ikecrypto.AuthHMACSHA256, ikecrypto.AuthHMACSHA384, ikecrypto.AuthHMACSHA512} {
				if uint16(espInteg(a)) == t.ID {
					s.Auth = a
				}
			}
		}
	}
	for _, p := range ours {
		if p.Suite == s {
			return p, binary.BigEndian.Uint32(pp.SPI), nil
		}
	}
	return seam.ChildProposal{}, 0, fmt.Errorf("the responder chose %s, which we did not offer", describeOffer(pp))
}

func childOffers(ps []seam.ChildProposal, pfs ikecrypto.Group) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = "esp:" + p.Suite.String()
		if pfs != 0 {
			s[i] += "-" + groupName(pfs)
		}
	}
	return "[" + strings.Join(s, " ") + "]"
}

func ikeOffers(ps []Proposal) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = "ike:" + p.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// ParseProposal reads an IKE proposal in strongSwan's syntax
// (aes128-sha256-modp2048, aes256gcm16-prfsha384-ecp384,
// chacha20poly1305-prfsha256-curve25519). Without a prf keyword, the PRF
// follows the integrity algorithm; an AEAD proposal then needs one.
func ParseProposal(s string) (Proposal, error) {
	p := Proposal{Lifetime: 8 * time.Hour}
	for _, f := range strings.Split(s, "-") {
		switch {
		case f == "aes128" || f == "aes192" || f == "aes256":
			p.Encr = EncrAESCBC
			fmt.Sscanf(f, "aes%d", &p.KeyBits)
		case f == "aes128gcm16" || f == "aes256gcm16":
			p.Encr = EncrAESGCM16
			fmt.Sscanf(f, "aes%dgcm16", &p.KeyBits)
		case f == "chacha20poly1305":
			p.Encr, p.KeyBits = EncrChaCha20Poly1305, 256
		case f == "sha1":
			p.Integ = IntegHMACSHA1_96
		case f == "sha256":
			p.Integ = IntegHMACSHA256128
		case f == "sha384":
			p.Integ = IntegHMACSHA384192
		case f == "sha512":
			p.Integ = IntegHMACSHA512256
		case strings.HasPrefix(f, "prf"):
			for _, x := range []PRF{PRFHMACSHA1, PRFHMACSHA256, PRFHMACSHA384, PRFHMACSHA512} {
				if x.String() == f {
					p.PRF = x
				}
			}
			if p.PRF == 0 {
				return p, fmt.Errorf("proposal %q: unknown PRF %q", s, f)
			}
		default:
			g, err := ParseGroup(f)
			if err != nil {
				return p, fmt.Errorf("proposal %q: %w", s, err)
			}
			p.Group = g
		}
	}
	if p.PRF == 0 {
		p.PRF = map[Integ]PRF{IntegHMACSHA1_96: PRFHMACSHA1, IntegHMACSHA256128: PRFHMACSHA256, IntegHMACSHA384192: PRFHMACSHA384, IntegHMACSHA512256: PRFHMACSHA512}[p.Integ]
	}
	return p, p.Validate()
}

// ParseGroup reads a strongSwan DH group keyword (modp2048, ecp256, curve25519, ...).
func ParseGroup(s string) (ikecrypto.Group, error) {
	for _, g := range []ikecrypto.Group{2, 5, 14, 15, 16, 19, 20, 21, 31} {
		if groupName(g) == s {
			return g, nil
		}
	}
	return 0, fmt.Errorf("unknown algorithm or DH group %q (modp2048, modp3072, modp4096, ecp256, ecp384, ecp521, curve25519)", s)
}

// ParseChildProposal reads an ESP proposal in strongSwan's syntax
// (aes128-sha256, aes256gcm16, chacha20poly1305, with an optional DH group
// for PFS).
func ParseChildProposal(s string) (seam.ChildProposal, ikecrypto.Group, error) {
	c := seam.ChildProposal{Lifetime: time.Hour}
	var pfs ikecrypto.Group
	for _, f := range strings.Split(s, "-") {
		switch {
		case f == "aes128" || f == "aes192" || f == "aes256":
			c.Suite.Cipher = ikecrypto.ESPAESCBC
			fmt.Sscanf(f, "aes%d", &c.Suite.KeyBits)
		case f == "aes128gcm16" || f == "aes256gcm16":
			c.Suite.Cipher = ikecrypto.ESPAESGCM16
			fmt.Sscanf(f, "aes%dgcm16", &c.Suite.KeyBits)
		case f == "chacha20poly1305":
			c.Suite.Cipher, c.Suite.KeyBits = ikecrypto.ESPChaCha20Poly1305, 256
		case f == "sha1":
			c.Suite.Auth = ikecrypto.AuthHMACSHA1
		case f == "sha256":
			c.Suite.Auth = ikecrypto.AuthHMACSHA256
		case f == "sha384":
			c.Suite.Auth = ikecrypto.AuthHMACSHA384
		case f == "sha512":
			c.Suite.Auth = ikecrypto.AuthHMACSHA512
		default:
			g, err := ParseGroup(f)
			if err != nil {
				return c, 0, fmt.Errorf("ESP proposal %q: %w", s, err)
			}
			pfs = g
		}
	}
	return c, pfs, c.Suite.Validate()
}
