package xfrm

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/palisade/palisade/vpn/ike/ikecrypto"
	"github.com/vishvananda/netlink"
)

// ReplayWindow is the anti-replay window of every state, as on the SRX.
const ReplayWindow = 64

// NATTPort is the UDP port of NAT traversal (RFC 3948).
const NATTPort = 4500

// Selector is a tunnel policy's proxy-id seen from the local side: traffic
// from Local to Remote, with an IP protocol (0 for any) and ports (0 for any).
type Selector struct {
	Local, Remote         netip.Prefix
	Protocol              uint8
	LocalPort, RemotePort uint16
}

func (s Selector) String() string {
	return fmt.Sprintf("%v->%v proto %d ports %d->%d", s.Local, s.Remote, s.Protocol, s.LocalPort, s.RemotePort)
}

// Policy is one tunnel policy: its selector, the two gateway addresses of
// the tunnel, and the reqid that ties the kernel policies to their states.
type Policy struct {
	Selector       Selector
	LocalGateway   netip.Addr
	RemoteGateway  netip.Addr
	Reqid          uint32
	PriorityOffset int // lower wins; added to the computed priority
}

// SA is one direction of a negotiated ESP SA pair.
type SA struct {
	Src, Dst netip.Addr // outer addresses: Src sends, Dst receives
	SPI      uint32
	Reqid    uint32
	Suite    ikecrypto.ESPSuite
	EncKey   []byte // for GCM, key then 4-byte salt
	AuthKey  []byte
	// Encap is set when NAT traversal applies: ESP in UDP between these ports.
	Encap *Encap
	// Lifetimes; zero means none. The kernel sends a soft expire event at the
	// soft limits and deletes the state at the hard ones.
	SoftBytes, HardBytes     uint64
	SoftSeconds, HardSeconds uint64
}

// Encap is UDP encapsulation of ESP (RFC 3948).
type Encap struct{ SrcPort, DstPort uint16 }

// basePriority matches the range strongSwan uses for tunnel policies; more
// specific selectors get lower (stronger) priorities.
const basePriority = 2000

func ipNet(p netip.Prefix) *net.IPNet {
	p = p.Masked()
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// CompilePolicies returns the out, in and fwd kernel policies of a tunnel
// policy. Packets from Local to Remote leave through the tunnel; packets from
// Remote to Local must have arrived through it, whether for this host (in) or
// forwarded (fwd).
func CompilePolicies(p Policy) ([]netlink.XfrmPolicy, error) {
	s := p.Selector
	if !s.Local.IsValid() || !s.Remote.IsValid() || s.Local.Addr().Is4() != s.Remote.Addr().Is4() {
		return nil, fmt.Errorf("compiling tunnel policy %v: local and remote prefixes must be valid and of the same family", s)
	}
	if !p.LocalGateway.IsValid() || !p.RemoteGateway.IsValid() {
		return nil, fmt.Errorf("compiling tunnel policy %v: gateway addresses missing", s)
	}
	if p.Reqid == 0 {
		return nil, fmt.Errorf("compiling tunnel policy %v: reqid 0 is reserved", s)
	}
	prio := basePriority - s.Local.Bits() - s.Remote.Bits() + p.PriorityOffset
	if s.LocalPort != 0 || s.RemotePort != 0 || s.Protocol != 0 {
		prio--
	}
	tmpl := func(src, dst netip.Addr) []netlink.XfrmPolicyTmpl {
		return []netlink.XfrmPolicyTmpl{{
			Src: src.AsSlice(), Dst: dst.AsSlice(), Proto: netlink.XFRM_PROTO_ESP,
			Mode: netlink.XFRM_MODE_TUNNEL, Reqid: int(p.Reqid),
		}}
	}
	out := netlink.XfrmPolicy{
		Src: ipNet(s.Local), Dst: ipNet(s.Remote), Proto: netlink.Proto(s.Protocol),
		SrcPort: int(s.LocalPort), DstPort: int(s.RemotePort),
		Dir: netlink.XFRM_DIR_OUT, Priority: prio, Tmpls: tmpl(p.LocalGateway, p.RemoteGateway),
	}
	in := netlink.XfrmPolicy{
		Src: ipNet(s.Remote), Dst: ipNet(s.Local), Proto: netlink.Proto(s.Protocol),
		SrcPort: int(s.RemotePort), DstPort: int(s.LocalPort),
		Dir: netlink.XFRM_DIR_IN, Priority: prio, Tmpls: tmpl(p.RemoteGateway, p.LocalGateway),
	}
	fwd := in
	fwd.Dir = netlink.XFRM_DIR_FWD
	return []netlink.XfrmPolicy{out, in, fwd}, nil
}

// kernelAlgs returns the kernel's names for an ESP suite.
func kernelAlgs(s ikecrypto.ESPSuite) (crypt, auth string, err error) {
	if err := s.Validate(); err != nil {
		return "", "", err
	}
	switch s.Cipher {
	case ikecrypto.ESPAESCBC:
		crypt = "cbc(aes)"
	case ikecrypto.ESP3DES:
		crypt = "cbc(des3_ede)"
	case ikecrypto.ESPAESGCM16:
		return "rfc4106(gcm(aes))", "", nil
	case ikecrypto.ESPChaCha20Poly1305:
		return "rfc7539esp(chacha20,poly1305)", "", nil
	}
	auth = map[ikecrypto.ESPAuth]string{
		ikecrypto.AuthHMACSHA1:   "hmac(sha1)",
		ikecrypto.AuthHMACSHA256: "hmac(sha256)",
		ikecrypto.AuthHMACSHA384: "hmac(sha384)",
		ikecrypto.AuthHMACSHA512: "hmac(sha512)",
	}[s.Auth]
	return crypt, auth, nil
}

// CompileState returns the kernel state of one SA: tunnel mode ESP with a
// replay window of 64 and, under NAT traversal, ESP-in-UDP encapsulation.
func CompileState(sa SA) (netlink.XfrmState, error) {
	crypt, auth, err := kernelAlgs(sa.Suite)
	if err != nil {
		return netlink.XfrmState{}, fmt.Errorf("compiling SA %08x: %w", sa.SPI, err)
	}
	if len(sa.EncKey) != sa.Suite.EncKeyLen() || len(sa.AuthKey) != sa.Suite.Auth.KeyLen() {
		return netlink.XfrmState{}, fmt.Errorf("compiling SA %08x: keys are %d+%d bytes, %v needs %d+%d",
			sa.SPI, len(sa.EncKey), len(sa.AuthKey), sa.Suite, sa.Suite.EncKeyLen(), sa.Suite.Auth.KeyLen())
	}
	if !sa.Src.IsValid() || !sa.Dst.IsValid() || sa.SPI == 0 {
		return netlink.XfrmState{}, fmt.Errorf("compiling SA %08x: addresses or SPI missing", sa.SPI)
	}
	st := netlink.XfrmState{
		Src: sa.Src.AsSlice(), Dst: sa.Dst.AsSlice(), Proto: netlink.XFRM_PROTO_ESP, Mode: netlink.XFRM_MODE_TUNNEL,
		Spi: int(sa.SPI), Reqid: int(sa.Reqid), ReplayWindow: ReplayWindow,
		// Zero limits are infinite in netlink's encoding.
		Limits: netlink.XfrmStateLimits{
			ByteSoft: sa.SoftBytes, ByteHard: sa.HardBytes, TimeSoft: sa.SoftSeconds, TimeHard: sa.HardSeconds,
		},
	}
	if sa.Suite.IsAEAD() {
		st.Aead = &netlink.XfrmStateAlgo{Name: crypt, Key: clone(sa.EncKey), ICVLen: sa.Suite.ICVBits()}
	} else {
		st.Crypt = &netlink.XfrmStateAlgo{Name: crypt, Key: clone(sa.EncKey)}
		st.Auth = &netlink.XfrmStateAlgo{Name: auth, Key: clone(sa.AuthKey), TruncateLen: sa.Suite.Auth.TruncBits()}
	}
	if sa.Encap != nil {
		st.Encap = &netlink.XfrmStateEncap{
			Type: netlink.XFRM_ENCAP_ESPINUDP, SrcPort: int(sa.Encap.SrcPort), DstPort: int(sa.Encap.DstPort),
			OriginalAddress: net.IPv4zero,
		}
	}
	return st, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
