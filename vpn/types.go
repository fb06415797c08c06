package vpn

import (
	"net/netip"
	"time"
)

// IKEProposal is a phase 1 proposal in Junos terms.
type IKEProposal struct {
	Name string
	// Encryption: 3des-cbc (v1), aes-128-cbc, aes-192-cbc, aes-256-cbc;
	// v2-only also aes-128-gcm, aes-256-gcm, chacha20-poly1305.
	Encryption string
	// Authentication: sha1, sha-256, sha-384, sha-512. For IKEv2 it gives
	// integrity and PRF; with an AEAD cipher only the PRF (empty: sha-256).
	Authentication string
	// DHGroup: group2, group5 (v1), group14, group15, group16, group19,
	// group20, group21; v2-only also group31 (curve25519).
	DHGroup  string
	Lifetime time.Duration
}

// IPsecProposal is a phase 2 (ESP) proposal in Junos terms.
type IPsecProposal struct {
	Name           string
	Encryption     string // 3des-cbc, aes-128-cbc, aes-192-cbc, aes-256-cbc, aes-128-gcm, aes-256-gcm; chacha20-poly1305 with v2-only
	Authentication string // hmac-sha1-96, hmac-sha-256-128, hmac-sha-384-192, hmac-sha-512-256; empty for GCM
	Lifetime       time.Duration
	LifetimeKB     uint64 // 0: none
}

// Gateway is an IKE gateway (`security ike gateway`).
type Gateway struct {
	Name       string
	LocalAddr  netip.Addr // the external interface's address
	RemoteAddr netip.Addr
	PSK        []byte
	Proposals  []IKEProposal
	Version    string // "v1-only" (IKEv1, also when empty) or "v2-only" (IKEv2)
	// DPDInterval and DPDThreshold configure dead peer detection; zero interval turns it off.
	DPDInterval  time.Duration
	DPDThreshold int
	// LocalIdentity is sent instead of LocalAddr; RemoteIdentity, if set,
	// must be what the peer sends.
	LocalIdentity  *Identity
	RemoteIdentity *Identity
}

// Identity is an IKE identity as `local-identity` / `remote-identity` give it.
type Identity struct {
	Kind  string // inet, hostname, user-at-hostname
	Value string
}

// Tunnel is one tunnel policy (`then permit tunnel ipsec-vpn V`) with the VPN it names.
type Tunnel struct {
	VPNName    string
	PolicyName string
	Gateway    string // the VPN's IKE gateway
	Local      netip.Prefix
	Remote     netip.Prefix
	Protocol   uint8 // IP protocol of the policy's application, 0 for any
	LocalPort  uint16
	RemotePort uint16
	Proposals  []IPsecProposal
	PFSGroup   string // empty: no PFS
	// Immediately is `establish-tunnels immediately`; otherwise the tunnel is
	// negotiated when traffic hits its policy.
	Immediately bool
}
