package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// A Stmt is one nftables statement of a rule: a match or an action. Each
// kind knows its nft text and the kernel expressions that mean the same,
// so the ruleset that Apply loads and the text that `nft -f` would load
// cannot drift apart. Set references are by name; the applier resolves them
// to the set of the same batch.
type Stmt interface {
	// Text is the statement in nft syntax.
	Text() string
	exprs(sets setResolver) []expr.Any
}

// setResolver gives the batch-local ID of a named set.
type setResolver func(name string) uint32

// Registers as nft uses them: reg 1 holds 16 bytes, reg 2 the next 16.
const (
	reg1 = unix.NFT_REG_1
	reg2 = unix.NFT_REG_2
)

// Kernel keys that x/sys does not name yet.
const (
	metaKeySecpath = expr.MetaKey(0x19) // NFT_META_SECPATH: packet was decrypted by XFRM
	rtKeyXfrm      = expr.RtKey(4)      // NFT_RT_XFRM: route leads into an XFRM bundle
	objCounter     = 1                  // NFT_OBJECT_COUNTER
)

// Dir selects the source or destination field of a match.
type Dir int

const (
	Src Dir = iota
	Dst
)

func (d Dir) word() string {
	if d == Src {
		return "s"
	}
	return "d"
}

// ifname pads an interface name as the kernel compares it (IFNAMSIZ).
func ifname(n string) []byte {
	b := make([]byte, 16)
	copy(b, n)
	return b
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `'`) + `"`
}

// IIFName matches the input interface: `iifname "ge-0-0-0"`.
type IIFName struct{ Name string }

func (s IIFName) Text() string { return "iifname " + quote(s.Name) }
func (s IIFName) exprs(setResolver) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: ifname(s.Name)},
	}
}

// IfNameSet matches the input or output interface against a named set:
// `iifname @if_1`, or with Not `iifname != @if_1`.
type IfNameSet struct {
	Dir Dir // Src: iifname, Dst: oifname
	Set string
	Not bool
}

func (s IfNameSet) Text() string {
	op := " @"
	if s.Not {
		op = " != @"
	}
	return map[Dir]string{Src: "iifname", Dst: "oifname"}[s.Dir] + op + s.Set
}
func (s IfNameSet) exprs(sets setResolver) []expr.Any {
	key := expr.MetaKeyIIFNAME
	if s.Dir == Dst {
		key = expr.MetaKeyOIFNAME
	}
	return []expr.Any{
		&expr.Meta{Key: key, Register: reg1},
		&expr.Lookup{SourceRegister: reg1, SetName: s.Set, SetID: sets(s.Set), Invert: s.Not},
	}
}

// CtState matches conntrack states: `ct state established,related`.
type CtState struct{ States []string } // new, established, related, invalid

var ctStateBits = map[string]uint32{
	"invalid": expr.CtStateBitINVALID, "established": expr.CtStateBitESTABLISHED,
	"related": expr.CtStateBitRELATED, "new": expr.CtStateBitNEW,
}

func (s CtState) Text() string { return "ct state " + strings.Join(s.States, ",") }
func (s CtState) exprs(setResolver) []expr.Any {
	var bits uint32
	for _, st := range s.States {
		bits |= ctStateBits[st]
	}
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)},
	}
}

// protoNames are the names nft prints for IP protocols.
var protoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah", 58: "ipv6-icmp", 89: "ospf", 132: "sctp"}

func protoText(p uint8) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return fmt.Sprint(p)
}

// L4Proto matches the transport protocol: `meta l4proto tcp`.
type L4Proto struct{ Proto uint8 }

func (s L4Proto) Text() string { return "meta l4proto " + protoText(s.Proto) }
func (s L4Proto) exprs(setResolver) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{s.Proto}},
	}
}

// nfproto is the family check nft adds before an `ip`/`ip6` match in an
// inet table: `meta nfproto ipv4`.
func nfproto(v6 bool) []expr.Any {
	p := byte(unix.NFPROTO_IPV4)
	if v6 {
		p = unix.NFPROTO_IPV6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{p}},
	}
}

// addrField loads the source or destination address of the family into reg 1.
func addrField(d Dir, v6 bool) *expr.Payload {
	off, n := uint32(12), uint32(4)
	if v6 {
		off, n = 8, 16
	}
	if d == Dst {
		off += n
	}
	return &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}
}

func family(v6 bool) string {
	if v6 {
		return "ip6"
	}
	return "ip"
}

// Addr matches one prefix: `ip saddr 10.0.0.0/24`.
type Addr struct {
	Dir    Dir
	Prefix netip.Prefix
}

func (s Addr) Text() string {
	p := s.Prefix.Masked()
	v := p.String()
	if p.IsSingleIP() {
		v = p.Addr().String()
	}
	return family(p.Addr().Is6()) + " " + s.Dir.word() + "addr " + v
}
func (s Addr) exprs(setResolver) []expr.Any {
	p := s.Prefix.Masked()
	v6 := p.Addr().Is6()
	out := append(nfproto(v6), addrField(s.Dir, v6))
	data := p.Addr().AsSlice()
	if !p.IsSingleIP() {
		mask := make([]byte, len(data))
		for i := 0; i < p.Bits(); i++ {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		out = append(out, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: uint32(len(data)),
			Mask: mask, Xor: make([]byte, len(data))})
	}
	return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: data})
}

// AddrSet matches an address against a named interval set: `ip saddr @a4_1`.
type AddrSet struct {
	Dir Dir
	V6  bool
	Set string
}

func (s AddrSet) Text() string { return family(s.V6) + " " + s.Dir.word() + "addr @" + s.Set }
func (s AddrSet) exprs(sets setResolver) []expr.Any {
	return append(nfproto(s.V6), addrField(s.Dir, s.V6),
		&expr.Lookup{SourceRegister: reg1, SetName: s.Set, SetID: sets(s.Set)})
}

// Family matches the IP version only: `meta nfproto ipv4`.
type Family struct{ V6 bool }

func (s Family) Text() string {
	if s.V6 {
		return "meta nfproto ipv6"
	}
	return "meta nfproto ipv4"
}
func (s Family) exprs(setResolver) []expr.Any { return nfproto(s.V6) }

// Port matches a transport port or port range: `th dport 1000-2000`. It
// needs an L4Proto match of a protocol with ports before it.
type Port struct {
	Dir    Dir
	Lo, Hi uint16
}

func (s Port) Text() string {
	if s.Lo == s.Hi {
		return fmt.Sprintf("th %sport %d", s.Dir.word(), s.Lo)
	}
	return fmt.Sprintf("th %sport %d-%d", s.Dir.word(), s.Lo, s.Hi)
}
func (s Port) exprs(setResolver) []expr.Any {
	off := uint32(0)
	if s.Dir == Dst {
		off = 2
	}
	out := []expr.Any{&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2}}
	if s.Lo == s.Hi {
		return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.BigEndian.PutUint16(s.Lo)})
	}
	return append(out, &expr.Range{Op: expr.CmpOpEq, Register: reg1,
		FromData: binaryutil.BigEndian.PutUint16(s.Lo), ToData: binaryutil.BigEndian.PutUint16(s.Hi)})
}

// ICMPType matches the type byte of ICMP or ICMPv6 (the first byte of the
// transport header): `icmp type 8`. It needs an L4Proto match before it.
type ICMPType struct {
	V6     bool
	Lo, Hi uint8
}

func (s ICMPType) Text() string {
	w := "icmp"
	if s.V6 {
		w = "icmpv6"
	}
	if s.Lo == s.Hi {
		return fmt.Sprintf("%s type %d", w, s.Lo)
	}
	return fmt.Sprintf("%s type %d-%d", w, s.Lo, s.Hi)
}
func (s ICMPType) exprs(setResolver) []expr.Any {
	out := []expr.Any{&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1}}
	if s.Lo == s.Hi {
		return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{s.Lo}})
	}
	return append(out, &expr.Range{Op: expr.CmpOpEq, Register: reg1, FromData: []byte{s.Lo}, ToData: []byte{s.Hi}})
}

// IPsecIn matches packets that XFRM decrypted: `meta ipsec exists`.
type IPsecIn struct{}

func (IPsecIn) Text() string { return "meta ipsec exists" }
func (IPsecIn) exprs(setResolver) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: metaKeySecpath, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{1}},
	}
}

// IPsecOut matches packets whose route leads into an XFRM bundle, that is
// packets that will leave ESP-encapsulated: `rt ipsec exists`. In the
// forward hook the XFRM policy lookup has already happened.
type IPsecOut struct{}

func (IPsecOut) Text() string { return "rt ipsec exists" }
func (IPsecOut) exprs(setResolver) []expr.Any {
	return []expr.Any{
		&expr.Rt{Key: rtKeyXfrm, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{1}},
	}
}

// TCPSyn matches SYN and SYN/ACK segments: `tcp flags & (syn | rst) == syn`.
// It needs `meta l4proto tcp` before it.
type TCPSyn struct{}

func (TCPSyn) Text() string { return "tcp flags & (syn | rst) == syn" }
func (TCPSyn) exprs(setResolver) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 1, Mask: []byte{0x06}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{0x02}},
	}
}

// mssOption addresses the 2-byte value of TCP option 2 (maximum segment size).
func mssOption() expr.Exthdr {
	return expr.Exthdr{Op: expr.ExthdrOpTcpopt, Type: 2, Offset: 2, Len: 2}
}

// MSSAbove matches SYNs announcing an MSS above N:
// `tcp option maxseg size > 1350`.
type MSSAbove struct{ MSS uint16 }

func (s MSSAbove) Text() string { return fmt.Sprintf("tcp option maxseg size > %d", s.MSS) }
func (s MSSAbove) exprs(setResolver) []expr.Any {
	e := mssOption()
	e.DestRegister = reg1
	return []expr.Any{&e, &expr.Cmp{Op: expr.CmpOpGt, Register: reg1, Data: binaryutil.BigEndian.PutUint16(s.MSS)}}
}

// SetMSS rewrites the MSS option (the kernel fixes the checksum):
// `tcp option maxseg size set 1350`.
type SetMSS struct{ MSS uint16 }

func (s SetMSS) Text() string { return fmt.Sprintf("tcp option maxseg size set %d", s.MSS) }
func (s SetMSS) exprs(setResolver) []expr.Any {
	e := mssOption()
	e.SourceRegister = reg1
	return []expr.Any{&expr.Immediate{Register: reg1, Data: binaryutil.BigEndian.PutUint16(s.MSS)}, &e}
}

// CounterRef counts into a named counter object: `counter name "p1"`.
type CounterRef struct{ Name string }

func (s CounterRef) Text() string { return "counter name " + quote(s.Name) }
func (s CounterRef) exprs(setResolver) []expr.Any {
	return []expr.Any{&expr.Objref{Type: objCounter, Name: s.Name}}
}

// Log writes a kernel log line with a prefix: `log prefix "..."`.
type Log struct{ Prefix string }

func (s Log) Text() string { return "log prefix " + quote(s.Prefix) }
func (s Log) exprs(setResolver) []expr.Any {
	return []expr.Any{&expr.Log{Key: 1 << unix.NFTA_LOG_PREFIX, Data: []byte(s.Prefix)}}
}

// SetCtMark stores a value in the connection's mark, so the session keeps
// the policy that created it: `ct mark set 0x00000005`.
type SetCtMark struct{ Mark uint32 }

func (s SetCtMark) Text() string { return fmt.Sprintf("ct mark set 0x%08x", s.Mark) }
func (s SetCtMark) exprs(setResolver) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: reg1, Data: binaryutil.NativeEndian.PutUint32(s.Mark)},
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg1, SourceRegister: true},
	}
}

// Verdict ends the rule: `accept`, `drop`, `jump pair_1`.
type Verdict struct {
	Kind  string // accept, drop, return, jump, goto
	Chain string // for jump and goto
}

var verdictKinds = map[string]expr.VerdictKind{
	"accept": expr.VerdictAccept, "drop": expr.VerdictDrop, "return": expr.VerdictReturn,
	"jump": expr.VerdictJump, "goto": expr.VerdictGoto,
}

func (s Verdict) Text() string {
	if s.Chain != "" {
		return s.Kind + " " + s.Chain
	}
	return s.Kind
}
func (s Verdict) verdict() *expr.Verdict {
	return &expr.Verdict{Kind: verdictKinds[s.Kind], Chain: s.Chain}
}
func (s Verdict) exprs(setResolver) []expr.Any {
	return []expr.Any{s.verdict()}
}

// RejectTCPReset answers with a TCP RST: `reject with tcp reset`. It needs
// `meta l4proto tcp` before it.
type RejectTCPReset struct{}

func (RejectTCPReset) Text() string { return "reject with tcp reset" }
func (RejectTCPReset) exprs(setResolver) []expr.Any {
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}
}

// RejectICMP answers with ICMP (or ICMPv6) destination unreachable,
// administratively prohibited, as an SRX does for non-TCP:
// `reject with icmpx admin-prohibited`.
type RejectICMP struct{}

func (RejectICMP) Text() string { return "reject with icmpx admin-prohibited" }
func (RejectICMP) exprs(setResolver) []expr.Any {
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED}}
}

// IfPairVmap jumps by the (input, output) interface pair:
// `iifname . oifname vmap @zone_pairs`.
type IfPairVmap struct{ Map string }

func (s IfPairVmap) Text() string { return "iifname . oifname vmap @" + s.Map }
func (s IfPairVmap) exprs(sets setResolver) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: reg2},
		&expr.Lookup{SourceRegister: reg1, DestRegister: 0, IsDestRegSet: true, SetName: s.Map, SetID: sets(s.Map)},
	}
}

// IfVmap jumps by the input interface: `iifname vmap @host_inbound`.
type IfVmap struct{ Map string }

func (s IfVmap) Text() string { return "iifname vmap @" + s.Map }
func (s IfVmap) exprs(sets setResolver) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1},
		&expr.Lookup{SourceRegister: reg1, DestRegister: 0, IsDestRegSet: true, SetName: s.Map, SetID: sets(s.Map)},
	}
}
