package policy

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// encodeSession is the ctnetlink message the kernel sends for s (nfgenmsg and attributes), for seeds and
// round trips. Invalid addresses are left out, as decodeSession leaves them unset.
func encodeSession(t testing.TB, s Session) []byte {
	t.Helper()
	tuple := func(tp Tuple) func(*netlink.AttributeEncoder) error {
		return func(ae *netlink.AttributeEncoder) error {
			ae.Nested(ctaTupleIP, func(ae *netlink.AttributeEncoder) error {
				for _, a := range []struct {
					addr   netip.Addr
					v4, v6 uint16
				}{{tp.Src, ctaIPv4Src, ctaIPv6Src}, {tp.Dst, ctaIPv4Dst, ctaIPv6Dst}} {
					switch {
					case a.addr.Is4():
						ae.Bytes(a.v4, a.addr.AsSlice())
					case a.addr.Is6():
						ae.Bytes(a.v6, a.addr.AsSlice())
					}
				}
				return nil
			})
			ae.Nested(ctaTupleProto, func(ae *netlink.AttributeEncoder) error {
				ae.Uint8(ctaProtoNum, s.Proto)
				ae.Uint16(ctaProtoSrcPort, tp.SrcPort)
				ae.Uint16(ctaProtoDstPort, tp.DstPort)
				return nil
			})
			return nil
		}
	}
	counters := func(packets, bytes uint64) func(*netlink.AttributeEncoder) error {
		return func(ae *netlink.AttributeEncoder) error {
			ae.Uint64(ctaCountersPackets, packets)
			ae.Uint64(ctaCountersBytes, bytes)
			return nil
		}
	}
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.Nested(ctaTupleOrig, tuple(s.In))
	ae.Nested(ctaTupleReply, tuple(s.Out))
	ae.Uint32(ctaTimeout, s.Timeout)
	ae.Uint32(ctaMark, s.Mark)
	ae.Uint32(ctaID, s.ID)
	ae.Nested(ctaCountersOrig, counters(s.InPackets, s.InBytes))
	ae.Nested(ctaCountersReply, counters(s.OutPackets, s.OutBytes))
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return append(nfgenmsg(unix.AF_INET), b...)
}

// FuzzDecodeSession feeds ctnetlink messages to decodeSession, as WatchClosedSessions receives them from
// the kernel. A message decodes to a session or to an error, never both, and a session encodes to a
// message that decodes to the same session.
func FuzzDecodeSession(f *testing.F) {
	for _, s := range []Session{
		{ID: 7, Mark: 0x10002, Proto: 6, Timeout: 431999,
			In:        Tuple{Src: netip.MustParseAddr("10.1.0.2"), Dst: netip.MustParseAddr("192.0.2.1"), SrcPort: 40000, DstPort: 443},
			Out:       Tuple{Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.1"), SrcPort: 443, DstPort: 40000},
			InPackets: 10, InBytes: 1000, OutPackets: 8, OutBytes: 9000},
		{ID: 1, Proto: 58,
			In:  Tuple{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), SrcPort: 9, DstPort: 9},
			Out: Tuple{Src: netip.MustParseAddr("2001:db8::2"), Dst: netip.MustParseAddr("2001:db8::1"), SrcPort: 9, DstPort: 9}},
		{},
	} {
		b := encodeSession(f, s)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{2, 0, 0, 0})
	f.Add([]byte{2, 0})
	// An orig tuple whose address is 5 bytes long, after a timeout and a mark.
	f.Add([]byte{2, 0, 0, 0, 8, 0, 7, 0, 0, 0, 0, 60, 8, 0, 8, 0, 0, 0, 0, 1,
		20, 0, 1, 0x80, 16, 0, 1, 0x80, 9, 0, 1, 0, 10, 0, 0, 1, 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSession(b)
		if err != nil {
			if !reflect.DeepEqual(s, Session{}) {
				t.Fatalf("decodeSession returned %+v and an error: %v", s, err)
			}
			return
		}
		again, err := decodeSession(encodeSession(t, s))
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip of %+v: %+v, %v", s, again, err)
		}
	})
}
