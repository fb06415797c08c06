package vpn

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/palisade/palisade/vpn/ike/ikev1"
	"github.com/palisade/palisade/vpn/ike/ikev2"
	"github.com/palisade/palisade/vpn/ike/isakmp"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// Lifetimes of proposals given as plain values without one: Junos's, as
// the configuration model defines them.
const (
	defaultIKELifetime   = config.DefaultIKELifetime * time.Second
	defaultIPsecLifetime = config.DefaultIPsecLifetime * time.Second
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

func espSuite(enc, auth string, v2 bool) (ikecrypto.ESPSuite, error) {
	var s ikecrypto.ESPSuite
	switch {
	case enc == "chacha20-poly1305" && v2: // RFC 7634 has no IKEv1 transform
		s.Cipher, s.KeyBits = ikecrypto.ESPChaCha20Poly1305, 256
	case enc == "3des-cbc":
		s.Cipher, s.KeyBits = ikecrypto.ESP3DES, 192
	case enc == "aes-128-cbc" || enc == "aes-192-cbc" || enc == "aes-256-cbc":
		s.Cipher = ikecrypto.ESPAESCBC
		fmt.Sscanf(enc, "aes-%d-cbc", &s.KeyBits)
	case enc == "aes-128-gcm" || enc == "aes-256-gcm":
		s.Cipher = ikecrypto.ESPAESGCM16
		fmt.Sscanf(enc, "aes-%d-gcm", &s.KeyBits)
	default:
		if v2 {
			return s, fmt.Errorf("encryption-algorithm %q is not supported (3des-cbc, aes-128-cbc, aes-192-cbc, aes-256-cbc, aes-128-gcm, aes-256-gcm, chacha20-poly1305)", enc)
		}
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
		return s, fmt.Errorf("authentication-algorithm %s cannot go with %v, which authenticates by itself", auth, s)
	}
	if !s.IsAEAD() && s.Auth == ikecrypto.AuthNone {
		return s, fmt.Errorf("encryption-algorithm %v needs an authentication-algorithm", s)
	}
	return s, nil
}

// compiled is the configuration as the engines take it, grouped by local
// address: IKEv1 gateways for the IKEv1 engine, v2-only ones for IKEv2.
type compiled struct {
	v1 map[string][]ikev1.PeerConfig
	v2 map[string][]ikev2.PeerConfig
}

// addrs returns every local address with a gateway of either version.
func (c compiled) addrs() map[string]bool {
	m := map[string]bool{}
	for a := range c.v1 {
		m[a] = true
	}
	for a := range c.v2 {
		m[a] = true
	}
	return m
}

// tunnel is what Reconcile needs of each tunnel to install its policies.
type tunnel struct {
	cfg           seam.ChildConfig
	local, remote netip.Addr
}

func (c compiled) tunnels() []tunnel {
	var out []tunnel
	for _, ps := range c.v1 {
		for _, p := range ps {
			for _, cc := range p.Children {
				out = append(out, tunnel{cc, p.Local, p.Remote})
			}
		}
	}
	for _, ps := range c.v2 {
		for _, p := range ps {
			for _, cc := range p.Children {
				out = append(out, tunnel{cc, p.Local, p.Remote})
			}
		}
	}
	return out
}

// compile turns gateways and tunnels into the engines' peer configurations,
// grouped by local address. reqid gives each tunnel policy a stable reqid.
func compile(gws []Gateway, tuns []Tunnel, reqid func(policy string) uint32) (compiled, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	peers := map[string]*ikev1.PeerConfig{}
	v2peers := map[string]*ikev2.PeerConfig{}
	var order []string
	for _, g := range gws {
		if g.Version == "v2-only" {
			if pc := compileV2(g, bad); pc != nil {
				v2peers[g.Name] = pc
				order = append(order, g.Name)
			}
			continue
		}
		if g.Version != "" && g.Version != "v1-only" {
			bad("ike gateway %s: version %s is not supported (v1-only, v2-only)", g.Name, g.Version)
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
				lt = defaultIKELifetime
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
		pc, pc2 := peers[t.Gateway], v2peers[t.Gateway]
		if pc == nil && pc2 == nil {
			bad("ipsec vpn %s (policy %s): gateway %q is not defined", t.VPNName, t.PolicyName, t.Gateway)
			continue
		}
		if !t.Local.IsValid() || !t.Remote.IsValid() || t.Local.Addr().Is4() != t.Remote.Addr().Is4() {
			bad("ipsec vpn %s (policy %s): source and destination prefixes must be valid and of one family", t.VPNName, t.PolicyName)
			continue
		}
		cc := seam.ChildConfig{Name: t.VPNName, Policy: t.PolicyName, Reqid: reqid(t.PolicyName),
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
			s, err := espSuite(p.Encryption, p.Authentication, pc2 != nil)
			if err != nil {
				bad("ipsec proposal %s: %v", p.Name, err)
				continue
			}
			lt := p.Lifetime
			if lt == 0 {
				lt = defaultIPsecLifetime
			}
			cc.Proposals = append(cc.Proposals, seam.ChildProposal{Suite: s, Lifetime: lt, LifetimeKB: p.LifetimeKB})
		}
		if len(cc.Proposals) == 0 {
			bad("ipsec vpn %s: no usable proposal", t.VPNName)
		}
		if pc2 != nil {
			pc2.Children = append(pc2.Children, cc)
			continue
		}
		pc.Children = append(pc.Children, cc)
	}
	if len(errs) > 0 {
		return compiled{}, fmt.Errorf("vpn configuration: %w", errors.Join(errs...))
	}
	out := compiled{v1: map[string][]ikev1.PeerConfig{}, v2: map[string][]ikev2.PeerConfig{}}
	for _, name := range order {
		if pc := peers[name]; pc != nil {
			k := pc.Local.String()
			out.v1[k] = append(out.v1[k], *pc)
			continue
		}
		pc := v2peers[name]
		k := pc.Local.String()
		out.v2[k] = append(out.v2[k], *pc)
	}
	return out, nil
}

// compileV2 turns a v2-only gateway into the IKEv2 engine's configuration.
func compileV2(g Gateway, bad func(string, ...any)) *ikev2.PeerConfig {
	if !g.LocalAddr.IsValid() || !g.RemoteAddr.IsValid() {
		bad("ike gateway %s: local and remote addresses are required", g.Name)
		return nil
	}
	if len(g.PSK) == 0 {
		bad("ike gateway %s: a pre-shared key is required", g.Name)
		return nil
	}
	pc := &ikev2.PeerConfig{Name: g.Name, Local: g.LocalAddr, Remote: g.RemoteAddr, PSK: g.PSK,
		DPDInterval: g.DPDInterval, DPDThreshold: g.DPDThreshold}
	var err1, err2 error
	pc.LocalID, err1 = identityV2(g.LocalIdentity)
	pc.RemoteID, err2 = identityV2(g.RemoteIdentity)
	if err := firstErr(err1, err2); err != nil {
		bad("ike gateway %s: %v", g.Name, err)
		return nil
	}
	for _, p := range g.Proposals {
		x, err := ikev2Proposal(p)
		if err != nil {
			bad("ike proposal %s: %v", p.Name, err)
			continue
		}
		pc.Proposals = append(pc.Proposals, x)
	}
	if len(pc.Proposals) == 0 {
		bad("ike gateway %s: no usable proposal", g.Name)
	}
	return pc
}

// ikev2Proposal maps a Junos IKE proposal onto IKEv2 transforms. The
// authentication algorithm gives both integrity and PRF; with an AEAD
// cipher it gives the PRF only (default hmac-sha-256).
func ikev2Proposal(p IKEProposal) (ikev2.Proposal, error) {
	x := ikev2.Proposal{Lifetime: p.Lifetime}
	if x.Lifetime == 0 {
		x.Lifetime = defaultIKELifetime
	}
	switch p.Encryption {
	case "aes-128-cbc", "aes-192-cbc", "aes-256-cbc":
		x.Encr = ikev2.EncrAESCBC
		fmt.Sscanf(p.Encryption, "aes-%d-cbc", &x.KeyBits)
	case "aes-128-gcm", "aes-256-gcm":
		x.Encr = ikev2.EncrAESGCM16
		fmt.Sscanf(p.Encryption, "aes-%d-gcm", &x.KeyBits)
	case "chacha20-poly1305":
		x.Encr, x.KeyBits = ikev2.EncrChaCha20Poly1305, 256
	default:
		return x, fmt.Errorf("encryption-algorithm %q is not supported for IKEv2 (aes-128-cbc, aes-192-cbc, aes-256-cbc, aes-128-gcm, aes-256-gcm, chacha20-poly1305)", p.Encryption)
	}
	auth := p.Authentication
	if auth == "" && x.Encr.IsAEAD() {
		auth = "sha-256"
	}
	integ, prf := map[string]ikev2.Integ{"sha1": ikev2.IntegHMACSHA1_96, "sha-256": ikev2.IntegHMACSHA256128, "sha-384": ikev2.IntegHMACSHA384192, "sha-512": ikev2.IntegHMACSHA512256}[auth],
		map[string]ikev2.PRF{"sha1": ikev2.PRFHMACSHA1, "sha-256": ikev2.PRFHMACSHA256, "sha-384": ikev2.PRFHMACSHA384, "sha-512": ikev2.PRFHMACSHA512}[auth]
	if prf == 0 {
		return x, fmt.Errorf("authentication-algorithm %q is not supported (sha1, sha-256, sha-384, sha-512)", p.Authentication)
	}
	x.PRF = prf
	if !x.Encr.IsAEAD() {
		x.Integ = integ
	}
	var n int
	if _, err := fmt.Sscanf(p.DHGroup, "group%d", &n); err != nil || p.DHGroup != fmt.Sprintf("group%d", n) || n < 14 || !ikecrypto.Group(n).Valid() {
		return x, fmt.Errorf("dh-group %q is not supported for IKEv2 (group14, group15, group16, group19, group20, group21, group31)", p.DHGroup)
	}
	x.Group = ikecrypto.Group(n)
	return x, x.Validate()
}

func identityV2(id *Identity) (*ikev2.ID, error) {
	if id == nil {
		return nil, nil
	}
	switch id.Kind {
	case "inet":
		a, err := netip.ParseAddr(id.Value)
		if err != nil {
			return nil, fmt.Errorf("identity inet %q: %w", id.Value, err)
		}
		return ikev2.IDAddr(a), nil
	case "hostname":
		return ikev2.IDName(ikev2.IDFQDN, id.Value), nil
	case "user-at-hostname":
		return ikev2.IDName(ikev2.IDRFC822, id.Value), nil
	}
	return nil, fmt.Errorf("identity kind %q is not supported (inet, hostname, user-at-hostname)", id.Kind)
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
