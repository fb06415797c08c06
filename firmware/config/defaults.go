package config

import (
	"fmt"
	"strconv"
	"strings"
)

// This file is the one place where the defaults of unset attributes and the
// members of the proposal sets are written down. `palisade-cfg show
// --defaults` prints DefaultsText.
//
// Junos documents the proposal sets; where it leaves a custom proposal's
// algorithms unset (the seed's `ike proposal standard` sets only the
// authentication method, and its `ipsec proposal standard` sets nothing),
// Palisade picks safe modern values that strongSwan and Junos both speak:
// AES-256-CBC with SHA-256 and DH group 14 for IKE, AES-256-CBC with
// HMAC-SHA-256-128 for ESP. Lifetimes follow Junos: 28800 s for IKE, 3600 s
// for IPsec, no kilobyte limit.

// Defaults of unset attributes.
const (
	DefaultIKEAuthMethod       = "pre-shared-keys"
	DefaultIKEDHGroup          = "group14"
	DefaultIKEAuthAlgorithm    = "sha-256"
	DefaultIKEEncryption       = "aes-256-cbc"
	DefaultIKELifetime         = 28800
	DefaultIKEMode             = "main"
	DefaultIPsecProtocol       = "esp"
	DefaultIPsecAuthAlgorithm  = "hmac-sha-256-128"
	DefaultIPsecEncryption     = "aes-256-cbc"
	DefaultIPsecLifetime       = 3600
	DefaultEstablishTunnels    = "on-traffic"
	DefaultDFBit               = "clear"
	DefaultDPDInterval         = 10
	DefaultDPDThreshold        = 5
	DefaultDPDMode             = "optimized"
	DefaultNATKeepalive        = 20
	DefaultRoutePreference     = 5
	DefaultTCPTimeout          = 1800
	DefaultUDPTimeout          = 60
	DefaultICMPTimeout         = 60
	DefaultOtherTimeout        = 1800
	DefaultSSHPort             = 22
	DefaultPolicyAction        = "deny-all"
	DefaultSyslogSeverity      = "any"
	DefaultIKEVersion          = "v1-only"
	DefaultIPsecReplayWindow   = 64
	DefaultIKERetransmits      = 5
	DefaultIKERetransmitSecond = 2
)

// IKEAlgorithms is one phase-1 proposal with every default filled in.
type IKEAlgorithms struct {
	Name            string
	AuthMethod      string // pre-shared-keys
	DHGroup         int    // 2, 5, 14, ...
	Hash            string // sha1, sha-256, sha-384, sha-512
	Encryption      string // aes-256-cbc, ...
	LifetimeSeconds int
}

// IPsecAlgorithms is one phase-2 proposal with every default filled in.
type IPsecAlgorithms struct {
	Name              string
	Protocol          string // esp
	Auth              string // hmac-sha-256-128; empty for AEAD ciphers
	Encryption        string // aes-256-cbc, aes-128-gcm, ...
	LifetimeSeconds   int
	LifetimeKilobytes int // 0: unlimited
	PFSGroup          int // from the ipsec policy; 0: no PFS
}

func (a IKEAlgorithms) String() string {
	return fmt.Sprintf("%s: %s group%d %s %s lifetime %ds", a.Name, a.AuthMethod, a.DHGroup, a.Encryption, a.Hash, a.LifetimeSeconds)
}

func (a IPsecAlgorithms) String() string {
	s := fmt.Sprintf("%s: %s %s", a.Name, a.Protocol, a.Encryption)
	if a.Auth != "" {
		s += " " + a.Auth
	}
	s += fmt.Sprintf(" lifetime %ds", a.LifetimeSeconds)
	if a.LifetimeKilobytes > 0 {
		s += fmt.Sprintf("/%dkB", a.LifetimeKilobytes)
	}
	if a.PFSGroup > 0 {
		s += fmt.Sprintf(" pfs group%d", a.PFSGroup)
	}
	return s
}

// IsAEAD reports whether an encryption algorithm carries its own integrity.
func IsAEAD(enc string) bool {
	return strings.Contains(enc, "gcm") || enc == "chacha20-poly1305"
}

// GroupNumber turns "group14" into 14.
func GroupNumber(g string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(g, "group"))
	return n
}

// ikeProposalSets lists the Junos IKE proposal sets Palisade implements.
// Junos's basic and compatible sets use DES and MD5, which Palisade does not
// implement; suiteb and prime sets use certificates.
func ikeProposalSet(name string) ([]IKEAlgorithms, error) {
	switch name {
	case "standard":
		return []IKEAlgorithms{
			{Name: "pre-g2-aes128-sha", AuthMethod: "pre-shared-keys", DHGroup: 2, Hash: "sha1", Encryption: "aes-128-cbc", LifetimeSeconds: DefaultIKELifetime},
			{Name: "pre-g2-3des-sha", AuthMethod: "pre-shared-keys", DHGroup: 2, Hash: "sha1", Encryption: "3des-cbc", LifetimeSeconds: DefaultIKELifetime},
		}, nil
	case "compatible":
		return []IKEAlgorithms{
			{Name: "pre-g2-3des-sha", AuthMethod: "pre-shared-keys", DHGroup: 2, Hash: "sha1", Encryption: "3des-cbc", LifetimeSeconds: DefaultIKELifetime},
		}, nil
	}
	return nil, fmt.Errorf("proposal-set %s is not implemented (it needs DES, MD5 or certificates); use proposal-set standard or named proposals", name)
}

func ipsecProposalSet(name string) ([]IPsecAlgorithms, error) {
	switch name {
	case "standard":
		return []IPsecAlgorithms{
			{Name: "g2-esp-aes128-sha", Protocol: "esp", Auth: "hmac-sha1-96", Encryption: "aes-128-cbc", LifetimeSeconds: DefaultIPsecLifetime, PFSGroup: 2},
			{Name: "g2-esp-3des-sha", Protocol: "esp", Auth: "hmac-sha1-96", Encryption: "3des-cbc", LifetimeSeconds: DefaultIPsecLifetime, PFSGroup: 2},
		}, nil
	case "compatible":
		return []IPsecAlgorithms{
			{Name: "esp-3des-sha", Protocol: "esp", Auth: "hmac-sha1-96", Encryption: "3des-cbc", LifetimeSeconds: DefaultIPsecLifetime},
		}, nil
	}
	return nil, fmt.Errorf("proposal-set %s is not implemented (it needs DES, MD5 or certificates); use proposal-set standard or named proposals", name)
}

// IKEProposals returns the phase-1 proposals of an IKE policy, in order,
// with defaults filled in.
func (c *Config) IKEProposals(policy string) ([]IKEAlgorithms, error) {
	ike := c.ike()
	pol := findByName(ike.Policies, func(p IKEPolicy) string { return p.Name }, policy)
	if pol == nil {
		return nil, fmt.Errorf("ike policy %s is not defined", policy)
	}
	if pol.ProposalSet != "" {
		return ikeProposalSet(pol.ProposalSet)
	}
	var out []IKEAlgorithms
	for _, name := range pol.Proposals {
		p := findByName(ike.Proposals, func(p IKEProposal) string { return p.Name }, name)
		if p == nil {
			return nil, fmt.Errorf("ike proposal %s is not defined", name)
		}
		a := IKEAlgorithms{
			Name:            p.Name,
			AuthMethod:      or(p.AuthenticationMethod, DefaultIKEAuthMethod),
			DHGroup:         GroupNumber(or(p.DHGroup, DefaultIKEDHGroup)),
			Hash:            or(p.AuthenticationAlgorithm, DefaultIKEAuthAlgorithm),
			Encryption:      or(p.EncryptionAlgorithm, DefaultIKEEncryption),
			LifetimeSeconds: atoiOr(p.LifetimeSeconds, DefaultIKELifetime),
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ike policy %s has no proposals", policy)
	}
	return out, nil
}

// IPsecProposals returns the phase-2 proposals of an IPsec policy, in order,
// with defaults and the policy's PFS group filled in.
func (c *Config) IPsecProposals(policy string) ([]IPsecAlgorithms, error) {
	ipsec := c.ipsec()
	pol := findByName(ipsec.Policies, func(p IPsecPolicy) string { return p.Name }, policy)
	if pol == nil {
		return nil, fmt.Errorf("ipsec policy %s is not defined", policy)
	}
	pfs := -1 // -1: as the proposal set says
	if pol.PerfectForwardSecrecy != nil && pol.PerfectForwardSecrecy.Keys != "" {
		pfs = GroupNumber(pol.PerfectForwardSecrecy.Keys)
	}
	var out []IPsecAlgorithms
	if pol.ProposalSet != "" {
		set, err := ipsecProposalSet(pol.ProposalSet)
		if err != nil {
			return nil, err
		}
		out = set
	} else {
		for _, name := range pol.Proposals {
			p := findByName(ipsec.Proposals, func(p IPsecProposal) string { return p.Name }, name)
			if p == nil {
				return nil, fmt.Errorf("ipsec proposal %s is not defined", name)
			}
			enc := or(p.EncryptionAlgorithm, DefaultIPsecEncryption)
			auth := or(p.AuthenticationAlgorithm, DefaultIPsecAuthAlgorithm)
			if IsAEAD(enc) {
				auth = ""
			}
			out = append(out, IPsecAlgorithms{
				Name:              p.Name,
				Protocol:          or(p.Protocol, DefaultIPsecProtocol),
				Auth:              auth,
				Encryption:        enc,
				LifetimeSeconds:   atoiOr(p.LifetimeSeconds, DefaultIPsecLifetime),
				LifetimeKilobytes: atoiOr(p.LifetimeKilobytes, 0),
			})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ipsec policy %s has no proposals", policy)
	}
	for i := range out {
		if pfs >= 0 {
			out[i].PFSGroup = pfs
		}
	}
	return out, nil
}

// Predefined applications an SRX user expects. Each is one term.
var predefined = map[string]Application{
	"junos-http":     {Name: "junos-http", Protocol: "tcp", DestinationPort: "80"},
	"junos-https":    {Name: "junos-https", Protocol: "tcp", DestinationPort: "443"},
	"junos-ssh":      {Name: "junos-ssh", Protocol: "tcp", DestinationPort: "22"},
	"junos-telnet":   {Name: "junos-telnet", Protocol: "tcp", DestinationPort: "23"},
	"junos-ftp":      {Name: "junos-ftp", Protocol: "tcp", DestinationPort: "21"},
	"junos-smtp":     {Name: "junos-smtp", Protocol: "tcp", DestinationPort: "25"},
	"junos-dns-udp":  {Name: "junos-dns-udp", Protocol: "udp", DestinationPort: "53"},
	"junos-dns-tcp":  {Name: "junos-dns-tcp", Protocol: "tcp", DestinationPort: "53"},
	"junos-ntp":      {Name: "junos-ntp", Protocol: "udp", DestinationPort: "123"},
	"junos-bgp":      {Name: "junos-bgp", Protocol: "tcp", DestinationPort: "179"},
	"junos-ike":      {Name: "junos-ike", Protocol: "udp", DestinationPort: "500"},
	"junos-ikenat":   {Name: "junos-ikenat", Protocol: "udp", DestinationPort: "4500"},
	"junos-syslog":   {Name: "junos-syslog", Protocol: "udp", DestinationPort: "514"},
	"junos-snmp-get": {Name: "junos-snmp-get", Protocol: "udp", DestinationPort: "161"},
	"junos-icmp-all": {Name: "junos-icmp-all", Protocol: "icmp"},
	"junos-ping":     {Name: "junos-ping", Protocol: "icmp", ICMPType: "8"},
	"junos-pingv6":   {Name: "junos-pingv6", Protocol: "58", ICMPType: "128"},
}

// PredefinedApplication returns a junos-* application.
func PredefinedApplication(name string) (Application, bool) {
	a, ok := predefined[name]
	return a, ok
}

// PredefinedApplicationNames lists the junos-* applications, sorted.
func PredefinedApplicationNames() []string {
	names := make([]string, 0, len(predefined))
	for n := range predefined {
		names = append(names, n)
	}
	sortStrings(names)
	return names
}

// DefaultsText documents every default and proposal set, for
// `palisade-cfg show --defaults`.
func DefaultsText() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# Defaults of unset attributes")
	w("security ike proposal: authentication-method %s, dh-group %s, authentication-algorithm %s, encryption-algorithm %s, lifetime-seconds %d",
		DefaultIKEAuthMethod, DefaultIKEDHGroup, DefaultIKEAuthAlgorithm, DefaultIKEEncryption, DefaultIKELifetime)
	w("security ike policy: mode %s", DefaultIKEMode)
	w("security ike gateway: version %s, dead-peer-detection interval %d threshold %d mode %s, nat-keepalive %d, local-identity inet <external-interface address>, remote-identity inet <address>",
		DefaultIKEVersion, DefaultDPDInterval, DefaultDPDThreshold, DefaultDPDMode, DefaultNATKeepalive)
	w("security ipsec proposal: protocol %s, authentication-algorithm %s (none for GCM and ChaCha20), encryption-algorithm %s, lifetime-seconds %d, lifetime-kilobytes unlimited",
		DefaultIPsecProtocol, DefaultIPsecAuthAlgorithm, DefaultIPsecEncryption, DefaultIPsecLifetime)
	w("security ipsec policy: no perfect-forward-secrecy (proposal-set standard: group2)")
	w("security ipsec vpn: establish-tunnels %s, df-bit %s, anti-replay window %d", DefaultEstablishTunnels, DefaultDFBit, DefaultIPsecReplayWindow)
	w("security policies: default-policy %s", DefaultPolicyAction)
	w("applications: inactivity-timeout tcp %d, udp %d, icmp %d, other %d seconds", DefaultTCPTimeout, DefaultUDPTimeout, DefaultICMPTimeout, DefaultOtherTimeout)
	w("routing-options static route: preference %d", DefaultRoutePreference)
	w("system services ssh: port %d", DefaultSSHPort)
	w("")
	w("# IKE proposal sets")
	for _, s := range []string{"standard", "compatible"} {
		set, _ := ikeProposalSet(s)
		for _, a := range set {
			w("proposal-set %s: %s", s, a)
		}
	}
	w("proposal-set basic, suiteb-gcm-128, suiteb-gcm-256, prime-128, prime-256: not implemented (DES, MD5 or certificates)")
	w("")
	w("# IPsec proposal sets")
	for _, s := range []string{"standard", "compatible"} {
		set, _ := ipsecProposalSet(s)
		for _, a := range set {
			w("proposal-set %s: %s", s, a)
		}
	}
	w("proposal-set basic, suiteb-gcm-128, suiteb-gcm-256, prime-128, prime-256: not implemented (DES, MD5 or certificates)")
	w("")
	w("# Predefined applications")
	for _, n := range PredefinedApplicationNames() {
		a := predefined[n]
		s := n + ": protocol " + a.Protocol
		if a.DestinationPort != "" {
			s += " destination-port " + a.DestinationPort
		}
		if a.ICMPType != "" {
			s += " icmp-type " + a.ICMPType
		}
		w("%s", s)
	}
	w("any: every protocol and port")
	return b.String()
}
