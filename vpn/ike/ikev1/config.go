package ikev1

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/isakmp"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// Proposal is one phase 1 proposal, authenticated by pre-shared key.
type Proposal struct {
	Cipher   ikecrypto.Cipher
	Hash     ikecrypto.HashAlg
	Group    ikecrypto.Group
	Lifetime time.Duration
}

func (p Proposal) String() string {
	return fmt.Sprintf("%v/%v/%v/%ds", p.Cipher, p.Hash, p.Group, int(p.Lifetime.Seconds()))
}

// PeerConfig is one IKE gateway.
type PeerConfig struct {
	Name      string
	Local     netip.Addr // our address on the external interface
	Remote    netip.Addr
	PSK       []byte
	Proposals []Proposal
	// DPDInterval is the idle time after which an R-U-THERE is sent (0: off);
	// DPDThreshold the number of unanswered ones that declare the peer dead.
	DPDInterval  time.Duration
	DPDThreshold int
	// LocalID is the identity we send (default: our address); RemoteID, if
	// set, is the one the peer must send.
	LocalID  *isakmp.Identification
	RemoteID *isakmp.Identification
	Children []seam.ChildConfig
}

// proxyID renders the child's proxy-id as local and remote identities.
func proxyID(c seam.ChildConfig) (local, remote *isakmp.Identification) {
	return isakmp.IDPrefix(c.Local, c.Protocol, c.LocalPort), isakmp.IDPrefix(c.Remote, c.Protocol, c.RemotePort)
}

func joinStrings[T fmt.Stringer](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// Phase 1 attribute types (RFC 2409 Appendix A).
const (
	attrEncryption = 1
	attrHash       = 2
	attrAuth       = 3
	attrGroup      = 4
	attrLifeType   = 11
	attrLifeDur    = 12
	attrKeyLength  = 14

	authPSK      = 1
	lifeSeconds  = 1
	lifeKilobyte = 2
	keyIKE       = 1
)

// IPsec DOI attribute types (RFC 2407 4.5).
const (
	attr2LifeType  = 1
	attr2LifeDur   = 2
	attr2Group     = 3
	attr2EncapMode = 4
	attr2Auth      = 5
	attr2KeyLength = 6

	encapTunnel    = 1
	encapUDPTunnel = 3 // RFC 3947
)

// phase1SA encodes our phase 1 proposals: one proposal, one transform each.
func phase1SA(ps []Proposal) *isakmp.SA {
	p := isakmp.Proposal{Number: 1, Protocol: isakmp.ProtoISAKMP}
	for i, x := range ps {
		attrs := []isakmp.Attribute{isakmp.NewAttribute(attrEncryption, uint64(x.Cipher.Alg))}
		if x.Cipher.Alg == ikecrypto.AESCBC {
			attrs = append(attrs, isakmp.NewAttribute(attrKeyLength, uint64(x.Cipher.KeyBits)))
		}
		attrs = append(attrs,
			isakmp.NewAttribute(attrHash, uint64(x.Hash)),
			isakmp.NewAttribute(attrAuth, authPSK),
			isakmp.NewAttribute(attrGroup, uint64(x.Group)),
			isakmp.NewAttribute(attrLifeType, lifeSeconds),
			isakmp.NewAttribute(attrLifeDur, uint64(x.Lifetime.Seconds())),
		)
		p.Transforms = append(p.Transforms, isakmp.Transform{Number: uint8(i + 1), ID: keyIKE, Attributes: attrs})
	}
	return &isakmp.SA{DOI: isakmp.DOIIPsec, Situation: isakmp.SituationIdentityOnly, Proposals: []isakmp.Proposal{p}}
}

// Lifetimes beyond these are refused, as is zero: no peer means them, and
// seconds beyond 292 years overflow time.Duration (an 8-byte 0xFFFF...
// became a negative lifetime, so keys never expired).
const (
	maxLifetime   = 5 * 365 * 24 * time.Hour
	maxLifetimeKB = 1 << 40 // 1 PiB
)

// lifeValue checks a life duration attribute's value for its life type.
func lifeValue(lifeType, v uint64) error {
	switch {
	case lifeType == lifeSeconds && (v == 0 || v > uint64(maxLifetime/time.Second)):
		return fmt.Errorf("life duration of %d seconds, want 1 to %d", v, uint64(maxLifetime/time.Second))
	case lifeType == lifeKilobyte && (v == 0 || v > maxLifetimeKB):
		return fmt.Errorf("life duration of %d kilobytes, want 1 to %d", v, uint64(maxLifetimeKB))
	}
	return nil
}

// parsePhase1Transform reads a phase 1 transform; ok is false for anything
// we cannot use (not PSK, unknown attribute values), refused says why when
// the peer sent an absurd lifetime.
func parsePhase1Transform(t isakmp.Transform) (p Proposal, ok bool, refused error) {
	if t.ID != keyIKE {
		return p, false, nil
	}
	auth := uint64(0)
	lifeType := uint64(0)
	for _, a := range t.Attributes {
		v, vok := a.Uint()
		if !vok {
			return p, false, nil
		}
		switch a.Type {
		case attrEncryption:
			p.Cipher.Alg = ikecrypto.CipherAlg(v)
		case attrKeyLength:
			p.Cipher.KeyBits = int(v)
		case attrHash:
			p.Hash = ikecrypto.HashAlg(v)
		case attrAuth:
			auth = v
		case attrGroup:
			p.Group = ikecrypto.Group(v)
		case attrLifeType:
			lifeType = v
		case attrLifeDur:
			if err := lifeValue(lifeType, v); err != nil {
				return p, false, fmt.Errorf("phase 1 transform %d: %w", t.Number, err)
			}
			if lifeType == lifeSeconds {
				p.Lifetime = time.Duration(v) * time.Second
			}
		}
	}
	if p.Cipher.Alg == ikecrypto.TripleDES && p.Cipher.KeyBits == 0 {
		p.Cipher.KeyBits = 192
	}
	return p, auth == authPSK && p.Cipher.Validate() == nil && p.Hash.Valid() && p.Group.Valid(), nil
}

// phase1Offers lists what an SA payload offers, for logs and selection;
// refused joins the reasons transforms were refused for absurd lifetimes.
func phase1Offers(sa *isakmp.SA) (offers []Proposal, transforms []isakmp.Transform, refused error) {
	var errs []error
	for _, pr := range sa.Proposals {
		if pr.Protocol != isakmp.ProtoISAKMP {
			continue
		}
		for _, t := range pr.Transforms {
			p, ok, err := parsePhase1Transform(t)
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				offers = append(offers, p)
				transforms = append(transforms, t)
			}
		}
	}
	return offers, transforms, errors.Join(errs...)
}

func samePhase1(a, b Proposal) bool {
	return a.Cipher == b.Cipher && a.Hash == b.Hash && a.Group == b.Group
}

// phase2SA encodes our phase 2 proposals with our inbound SPI.
func phase2SA(ps []seam.ChildProposal, spi uint32, pfs ikecrypto.Group, natt bool) *isakmp.SA {
	pr := isakmp.Proposal{Number: 1, Protocol: isakmp.ProtoESP, SPI: spiBytes(spi)}
	mode := uint64(encapTunnel)
	if natt {
		mode = encapUDPTunnel
	}
	for i, x := range ps {
		attrs := []isakmp.Attribute{
			isakmp.NewAttribute(attr2LifeType, lifeSeconds),
			isakmp.NewAttribute(attr2LifeDur, uint64(x.Lifetime.Seconds())),
		}
		if x.LifetimeKB != 0 {
			attrs = append(attrs, isakmp.NewAttribute(attr2LifeType, lifeKilobyte), isakmp.NewAttribute(attr2LifeDur, x.LifetimeKB))
		}
		if pfs != 0 {
			attrs = append(attrs, isakmp.NewAttribute(attr2Group, uint64(pfs)))
		}
		attrs = append(attrs, isakmp.NewAttribute(attr2EncapMode, mode))
		if x.Suite.Auth != ikecrypto.AuthNone {
			attrs = append(attrs, isakmp.NewAttribute(attr2Auth, uint64(x.Suite.Auth)))
		}
		if x.Suite.Cipher != ikecrypto.ESP3DES {
			attrs = append(attrs, isakmp.NewAttribute(attr2KeyLength, uint64(x.Suite.KeyBits)))
		}
		pr.Transforms = append(pr.Transforms, isakmp.Transform{Number: uint8(i + 1), ID: uint8(x.Suite.Cipher), Attributes: attrs})
	}
	return &isakmp.SA{DOI: isakmp.DOIIPsec, Situation: isakmp.SituationIdentityOnly, Proposals: []isakmp.Proposal{pr}}
}

// childOffer is one parsed phase 2 transform.
type childOffer struct {
	seam.ChildProposal
	pfs   ikecrypto.Group
	mode  uint64
	spi   uint32
	trans isakmp.Transform
}

func (o childOffer) String() string {
	s := o.ChildProposal.String()
	if o.pfs != 0 {
		s += "/pfs-" + o.pfs.String()
	}
	return s
}

// parsePhase2 lists the usable offers of an SA payload; refused joins the
// reasons transforms were refused for absurd lifetimes.
func parsePhase2(sa *isakmp.SA) (out []childOffer, refused error) {
	var errs []error
	for _, pr := range sa.Proposals {
		if pr.Protocol != isakmp.ProtoESP || len(pr.SPI) != 4 {
			continue
		}
		for _, t := range pr.Transforms {
			o := childOffer{spi: spiFrom(pr.SPI), trans: t}
			o.Suite.Cipher = ikecrypto.ESPCipher(t.ID)
			lifeType := uint64(0)
			ok := true
			for _, a := range t.Attributes {
				v, vok := a.Uint()
				if !vok {
					ok = false
					break
				}
				switch a.Type {
				case attr2LifeType:
					lifeType = v
				case attr2LifeDur:
					if err := lifeValue(lifeType, v); err != nil {
						errs = append(errs, fmt.Errorf("phase 2 transform %d: %w", t.Number, err))
						ok = false
					} else if lifeType == lifeSeconds {
						o.Lifetime = time.Duration(v) * time.Second
					} else if lifeType == lifeKilobyte {
						o.LifetimeKB = v
					}
				case attr2Group:
					o.pfs = ikecrypto.Group(v)
				case attr2EncapMode:
					o.mode = v
				case attr2Auth:
					o.Suite.Auth = ikecrypto.ESPAuth(v)
				case attr2KeyLength:
					o.Suite.KeyBits = int(v)
				}
			}
			if o.Suite.Cipher == ikecrypto.ESP3DES {
				o.Suite.KeyBits = 192
			}
			if ok && o.Suite.Validate() == nil {
				out = append(out, o)
			}
		}
	}
	return out, errors.Join(errs...)
}

func spiBytes(s uint32) []byte { return []byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)} }

func spiFrom(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
