package vpn

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/ikev1"
	"github.com/palisade/palisade/vpn/ike/isakmp"
)

func ikeCipher(s string) (ikecrypto.Cipher, error) {
	switch s {
	case "3des-cbc":
		return ikecrypto.Cipher{Alg: ikecrypto.TripleDES, KeyBits: 192}, nil
	case "aes-128-cbc":
		return ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 128}, nil
	case "aes-192-cbc":
		return ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 192}, nil
	case "aes-256-cbc":
		return ikecrypto.Cipher{Alg: ikecrypto.AESCBC, KeyBits: 256}, nil
	}
	return ikecrypto.Cipher{}, fmt.Errorf("encryption-algorithm %q is not supported for IKEv1 (3des-cbc, aes-128-cbc, aes-192-cbc, aes-256-cbc)", s)
}

func ikeHash(s string) (ikecrypto.HashAlg, error) {
	switch s {
	case "sha1":
		return ikecrypto.SHA1, nil
	case "sha-256":
		return ikecrypto.SHA256, nil
	case "sha-384":
		return ikecrypto.SHA384, nil
	case "sha-512":
		return ikecrypto.SHA512, nil
	}
	return 0, fmt.Errorf("authentication-algorithm %q is not supported (sha1, sha-256, sha-384, sha-512)", s)
}

func dhGroup(s string) (ikecrypto.Group, error) {
	var n int
	// Group 31 (curve25519) exists for IKEv2 only (RFC 8031).
	if _, err := fmt.Sscanf(s, "group%d", &n); err == nil && ikecrypto.Group(n).Valid() && n != int(ikecrypto.Curve25519) && s == fmt.Sprintf("group%d", n) {
		return ikecrypto.Group(n), nil
	}
	return 0, fmt.Errorf("dh-group %q is not supported (group2, group5, group14, group15, group16, group19, group20, group21)", s)
}

func espSuite(enc, auth string) (ikecrypto.ESPSuite, error) {
	var s ikecrypto.ESPSuite
	switch enc {
	case "3des-cbc":
		s.Cipher, s.KeyBits = ikecrypto.ESP3DES, 192
	case "aes-128-cbc", "aes-192-cbc", "aes-256-cbc":
		s.Cipher = ikecrypto.ESPAESCBC
		fmt.Sscanf(enc, "aes-%d-cbc", &s.KeyBits)
	case "aes-128-gcm", "aes-256-gcm":
		s.Cipher = ikecrypto.ESPAESGCM16
		fmt.Sscanf(enc, "aes-%d-gcm", &s.KeyBits)
	default:
		return s, fmt.Errorf("encryption-algorithm %q is not supported (3des-cbc, aes-128-cbc, aes-192-cbc, aes-256-cbc, aes-128-gcm, aes-256-gcm)", enc)
	}
	switch auth {
	case "":
	case "hmac-sha1-96":
		s.Auth = ikecrypto.AuthHMACSHA1
	case "hmac-sha-256-128":
		s.Auth = ikecrypto.AuthHMACSHA256
	case "hmac-sha-384-192":
		s.Auth = ikecrypto.AuthHMACSHA384
	case "hmac-sha-512-256":
		s.Auth = ikecrypto.AuthHMACSHA512
	default:
		return s, fmt.Errorf("authentication-algorithm %q is not supported (hmac-sha1-96, hmac-sha-256-128, hmac-sha-384-192, hmac-sha-512-256)", auth)
	}
	if s.IsAEAD() && s.Auth != ikecrypto.AuthNone {
		return s, fmt.Errorf("authentication-algorithm %s cannot go with %s, which authenticates by itself", auth, enc)
	}
	if !s.IsAEAD() && s.Auth == ikecrypto.AuthNone {
		return s, fmt.Errorf("encryption-algorithm %s needs an authentication-algorithm", enc)
	}
	return s, nil
}

// compile turns gateways and tunnels into the engine's peer configurations,
// grouped by local address. reqid gives each tunnel policy a stable reqid.
func compile(gws []Gateway, tuns []Tunnel, reqid func(policy string) uint32) (map[string][]ikev1.PeerConfig, error) {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	peers := map[string]*ikev1.PeerConfig{}
	var order []string
	for _, g := range gws {
		if g.Version != "" && g.Version != "v1-only" {
			bad("ike gateway %s: version %s is not implemented yet (v1-only)", g.Name, g.Version)
			continue
		}
		if !g.LocalAddr.IsValid() || !g.RemoteAddr.IsValid() {
			bad("ike gateway %s: local and remote addresses are required", g.Name)
			continue
		}
		if len(g.PSK) == 0 {
			bad("ike gateway %s: a pre-shared key is required", g.Name)
			continue
		}
		pc := &ikev1.PeerConfig{Name: g.Name, Local: g.LocalAddr, Remote: g.RemoteAddr, PSK: g.PSK,
			DPDInterval: g.DPDInterval, DPDThreshold: g.DPDThreshold}
		var err1, err2 error
		pc.LocalID, err1 = identity(g.LocalIdentity)
		pc.RemoteID, err2 = identity(g.RemoteIdentity)
		if err := firstErr(err1, err2); err != nil {
			bad("ike gateway %s: %v", g.Name, err)
			continue
		}
		for _, p := range g.Proposals {
			c, err1 := ikeCipher(p.Encryption)
			h, err2 := ikeHash(p.Authentication)
			d, err3 := dhGroup(p.DHGroup)
			if err := firstErr(err1, err2, err3); err != nil {
				bad("ike proposal %s: %v", p.Name, err)
				continue
			}
			lt := p.Lifetime
			if lt == 0 {
				lt = 8 * time.Hour
			}
			pc.Proposals = append(pc.Proposals, ikev1.Proposal{Cipher: c, Hash: h, Group: d, Lifetime: lt})
		}
		if len(pc.Proposals) == 0 {
			bad("ike gateway %s: no usable proposal", g.Name)
		}
		peers[g.Name] = pc
		order = append(order, g.Name)
	}
	for _, t := range tuns {
		pc := peers[t.Gateway]
		if pc == nil {
			bad("ipsec vpn %s (policy %s): gateway %q is not defined", t.VPNName, t.PolicyName, t.Gateway)
			continue
		}
		if !t.Local.IsValid() || !t.Remote.IsValid() || t.Local.Addr().Is4() != t.Remote.Addr().Is4() {
			bad("ipsec vpn %s (policy %s): source and destination prefixes must be valid and of one family", t.VPNName, t.PolicyName)
			continue
		}
		cc := ikev1.ChildConfig{Name: t.VPNName, Policy: t.PolicyName, Reqid: reqid(t.PolicyName),
			Local: t.Local.Masked(), Remote: t.Remote.Masked(), Protocol: t.Protocol, LocalPort: t.LocalPort, RemotePort: t.RemotePort,
			Immediately: t.Immediately}
		if t.PFSGroup != "" {
			g, err := dhGroup(t.PFSGroup)
			if err != nil {
				bad("ipsec vpn %s: perfect-forward-secrecy: %v", t.VPNName, err)
				continue
			}
			cc.PFS = g
		}
		for _, p := range t.Proposals {
			s, err := espSuite(p.Encryption, p.Authentication)
			if err != nil {
				bad("ipsec proposal %s: %v", p.Name, err)
				continue
			}
			lt := p.Lifetime
			if lt == 0 {
				lt = time.Hour
			}
			cc.Proposals = append(cc.Proposals, ikev1.ChildProposal{Suite: s, Lifetime: lt, LifetimeKB: p.LifetimeKB})
		}
		if len(cc.Proposals) == 0 {
			bad("ipsec vpn %s: no usable proposal", t.VPNName)
		}
		pc.Children = append(pc.Children, cc)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("vpn configuration: %s", strings.Join(errs, "; "))
	}
	out := map[string][]ikev1.PeerConfig{}
	for _, name := range order {
		pc := peers[name]
		k := pc.Local.String()
		out[k] = append(out[k], *pc)
	}
	return out, nil
}

func identity(id *Identity) (*isakmp.Identification, error) {
	if id == nil {
		return nil, nil
	}
	switch id.Kind {
	case "inet":
		a, err := netip.ParseAddr(id.Value)
		if err != nil {
			return nil, fmt.Errorf("identity inet %q: %w", id.Value, err)
		}
		return isakmp.IDAddr(a, 0, 0), nil
	case "hostname":
		return isakmp.IDName(isakmp.IDFQDN, id.Value), nil
	case "user-at-hostname":
		return isakmp.IDName(isakmp.IDUserFQDN, id.Value), nil
	}
	return nil, fmt.Errorf("identity kind %q is not supported (inet, hostname, user-at-hostname)", id.Kind)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
