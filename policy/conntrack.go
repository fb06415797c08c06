package policy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Session is one conntrack entry, the kernel's record of a flow session.
// Packets and bytes are zero unless net.netfilter.nf_conntrack_acct=1 was
// set in the namespace before the session started.
type Session struct {
	ID      uint32
	Mark    uint32 // PolicyID.Mark of the policy that permitted it; 0: none
	Proto   uint8
	Timeout uint32 // seconds left
	// In is the tuple of the initiating direction, Out the reply's.
	In, Out                   Tuple
	InPackets, InBytes        uint64
	OutPackets, OutBytes      uint64
	InInterface, OutInterface string // Junos names, if the caller knows them
}

// Tuple is one direction of a session. For ICMP both ports hold the ICMP
// identifier, as an SRX shows it.
type Tuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// ctnetlink message types and attributes (linux/netfilter/nfnetlink_conntrack.h).
const (
	nfnlSubsysCtnetlink = 1
	ctMsgGet            = 1
	ctMsgDelete         = 2

	ctaTupleOrig     = 1
	ctaTupleReply    = 2
	ctaTimeout       = 7
	ctaMark          = 8
	ctaCountersOrig  = 9
	ctaCountersReply = 10
	ctaID            = 12

	ctaTupleIP    = 1
	ctaTupleProto = 2
	ctaIPv4Src    = 1
	ctaIPv4Dst    = 2
	ctaIPv6Src    = 3
	ctaIPv6Dst    = 4

	ctaProtoNum      = 1
	ctaProtoSrcPort  = 2
	ctaProtoDstPort  = 3
	ctaProtoICMPID   = 4
	ctaProtoICMPv6ID = 7

	ctaCountersPackets = 1
	ctaCountersBytes   = 2
)

// DialConntrack opens a ctnetlink socket in the network namespace netnsFd
// (negative: the caller's own).
func DialConntrack(netnsFd int) (*netlink.Conn, error) {
	cfg := &netlink.Config{}
	if netnsFd >= 0 {
		cfg.NetNS = netnsFd
	}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening ctnetlink socket: %w", err)
	}
	return c, nil
}

// nfgenmsg is the netfilter header: family, version 0, resource id 0.
func nfgenmsg(family uint8) []byte { return []byte{family, unix.NFNETLINK_V0, 0, 0} }

// Sessions lists every conntrack entry of the namespace c was opened in.
func Sessions(c *netlink.Conn) ([]Session, error) {
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(nfnlSubsysCtnetlink<<8 | ctMsgGet), Flags: netlink.Request | netlink.Dump},
		Data:   nfgenmsg(unix.AF_UNSPEC),
	})
	if err != nil {
		return nil, fmt.Errorf("dumping conntrack sessions: %w", err)
	}
	out := make([]Session, 0, len(msgs))
	for _, m := range msgs {
		s, err := decodeSession(m.Data)
		if err != nil {
			return nil, fmt.Errorf("decoding conntrack session: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// ClearSessions deletes every conntrack entry of the namespace, as
// `clear security flow session` does on an SRX.
func ClearSessions(c *netlink.Conn) error {
	_, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(nfnlSubsysCtnetlink<<8 | ctMsgDelete), Flags: netlink.Request | netlink.Acknowledge},
		Data:   nfgenmsg(unix.AF_UNSPEC),
	})
	if err != nil {
		return fmt.Errorf("flushing conntrack sessions: %w", err)
	}
	return nil
}

func decodeSession(b []byte) (Session, error) {
	var s Session
	if len(b) < 4 {
		return s, errors.New("short message")
	}
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		return s, err
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case ctaTupleOrig:
			ad.Nested(func(n *netlink.AttributeDecoder) error { return decodeTuple(n, &s.In, &s.Proto) })
		case ctaTupleReply:
			ad.Nested(func(n *netlink.AttributeDecoder) error { return decodeTuple(n, &s.Out, &s.Proto) })
		case ctaTimeout:
			s.Timeout = ad.Uint32()
		case ctaMark:
			s.Mark = ad.Uint32()
		case ctaID:
			s.ID = ad.Uint32()
		case ctaCountersOrig:
			ad.Nested(func(n *netlink.AttributeDecoder) error { return decodeCounters(n, &s.InPackets, &s.InBytes) })
		case ctaCountersReply:
			ad.Nested(func(n *netlink.AttributeDecoder) error { return decodeCounters(n, &s.OutPackets, &s.OutBytes) })
		}
	}
	// A message that fails part way has filled some fields; the caller must not take them for a session.
	if err := ad.Err(); err != nil {
		return Session{}, err
	}
	return s, nil
}

func decodeTuple(ad *netlink.AttributeDecoder, t *Tuple, proto *uint8) error {
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case ctaTupleIP:
			ad.Nested(func(n *netlink.AttributeDecoder) error {
				for n.Next() {
					a, ok := netip.AddrFromSlice(n.Bytes())
					if !ok {
						return fmt.Errorf("bad address of %d bytes", len(n.Bytes()))
					}
					switch n.Type() {
					case ctaIPv4Src, ctaIPv6Src:
						t.Src = a
					case ctaIPv4Dst, ctaIPv6Dst:
						t.Dst = a
					}
				}
				return n.Err()
			})
		case ctaTupleProto:
			ad.Nested(func(n *netlink.AttributeDecoder) error {
				n.ByteOrder = binary.BigEndian
				for n.Next() {
					switch n.Type() {
					case ctaProtoNum:
						*proto = n.Uint8()
					case ctaProtoSrcPort:
						t.SrcPort = n.Uint16()
					case ctaProtoDstPort:
						t.DstPort = n.Uint16()
					case ctaProtoICMPID, ctaProtoICMPv6ID:
						t.SrcPort = n.Uint16()
						t.DstPort = t.SrcPort
					}
				}
				return n.Err()
			})
		}
	}
	return ad.Err()
}

func decodeCounters(ad *netlink.AttributeDecoder, packets, bytes *uint64) error {
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case ctaCountersPackets:
			*packets = ad.Uint64()
		case ctaCountersBytes:
			*bytes = ad.Uint64()
		}
	}
	return ad.Err()
}
