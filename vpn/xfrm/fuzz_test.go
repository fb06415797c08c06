package xfrm

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// selFamilyOffset is where family is in struct xfrm_selector.
const selFamilyOffset = 2*nl.SizeofXfrmAddress + 8

func xfrmAddr(a netip.Addr) nl.XfrmAddress {
	var x nl.XfrmAddress
	copy(x[:], a.AsSlice())
	return x
}

func family(a netip.Addr) uint16 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// encodeEvent is the message the kernel sends for ev: a struct xfrm_user_acquire or xfrm_user_expire,
// with the fields parseEvent does not read left zero.
func encodeEvent(ev Event) (uint16, []byte) {
	switch ev := ev.(type) {
	case Acquire:
		s := ev.Selector
		id := nl.XfrmId{Daddr: xfrmAddr(ev.Dst)}
		pol := nl.XfrmUserpolicyInfo{Sel: nl.XfrmSelector{
			Saddr: xfrmAddr(s.Local.Addr()), Daddr: xfrmAddr(s.Remote.Addr()),
			Sport: nl.Swap16(s.LocalPort), Dport: nl.Swap16(s.RemotePort), Family: family(s.Local.Addr()),
			PrefixlenS: uint8(s.Local.Bits()), PrefixlenD: uint8(s.Remote.Bits()), Proto: s.Protocol,
		}, Index: ev.PolicyIndex}
		b := make([]byte, minAcquireLen+16) // aalgos, ealgos, calgos, seq
		copy(b[offAcquireID:], id.Serialize())
		copy(b[offAcquirePolicy:], pol.Serialize())
		return nl.XFRM_MSG_ACQUIRE, b
	case Expire:
		e := nl.XfrmUserExpire{XfrmUsersaInfo: nl.XfrmUsersaInfo{
			Id:     nl.XfrmId{Daddr: xfrmAddr(ev.ID.Dst), Spi: nl.Swap32(ev.ID.SPI), Proto: unix.IPPROTO_ESP},
			Reqid:  ev.Reqid,
			Family: family(ev.ID.Dst),
		}}
		if ev.Hard {
			e.Hard = 1
		}
		return nl.XFRM_MSG_EXPIRE, e.Serialize()
	}
	panic("unknown event")
}

// validAddr reports whether a is an address of the family p's selector has.
func validAddr(a netip.Addr, p netip.Prefix) bool { return a.IsValid() && a.Is4() == p.Addr().Is4() }

// FuzzParseEvent feeds XFRM netlink messages to parseEvent, as Subscribe receives them. An event it
// returns holds valid addresses and prefixes of one family, and encodes to a message that parses to the
// same event.
func FuzzParseEvent(f *testing.F) {
	for _, ev := range []Event{
		Acquire{PolicyIndex: 0x208, Dst: netip.MustParseAddr("10.9.0.2"), Selector: Selector{
			Local: netip.MustParsePrefix("10.9.0.1/32"), Remote: netip.MustParsePrefix("10.9.0.2/32"), Protocol: 17, RemotePort: 9999}},
		Acquire{PolicyIndex: 1, Dst: netip.MustParseAddr("2001:db8::2"), Selector: Selector{
			Local: netip.MustParsePrefix("2001:db8:1::/48"), Remote: netip.MustParsePrefix("2001:db8:2::/48")}},
		Expire{ID: StateID{Dst: netip.MustParseAddr("192.0.2.1"), SPI: 0xc0ffee01}, Reqid: 42, Hard: true},
		Expire{ID: StateID{Dst: netip.MustParseAddr("2001:db8::1"), SPI: 0x100}, Reqid: 7},
	} {
		typ, b := encodeEvent(ev)
		f.Add(typ, b)
		f.Add(typ, b[:len(b)-1])
	}
	typ, b := encodeEvent(Acquire{Dst: netip.MustParseAddr("10.0.0.1"), Selector: Selector{
		Local: netip.MustParsePrefix("10.0.0.0/8"), Remote: netip.MustParsePrefix("10.0.0.0/8")}})
	binary.NativeEndian.PutUint16(b[offAcquirePolicy+selFamilyOffset:], unix.AF_UNSPEC)
	f.Add(typ, b)
	f.Add(uint16(nl.XFRM_MSG_NEWSA), make([]byte, 512))
	f.Fuzz(func(t *testing.T, typ uint16, b []byte) {
		ev, ok := parseEvent(typ, b)
		if ok != (ev != nil) {
			t.Fatalf("parseEvent = %#v, %v", ev, ok)
		}
		switch ev := ev.(type) {
		case nil:
			return
		case Acquire:
			s := ev.Selector
			fam := binary.NativeEndian.Uint16(b[offAcquirePolicy+selFamilyOffset:])
			if !s.Local.IsValid() || !s.Remote.IsValid() || !validAddr(s.Remote.Addr(), s.Local) || !validAddr(ev.Dst, s.Local) || fam != family(s.Local.Addr()) {
				t.Fatalf("acquire %+v from selector family %d", ev, fam)
			}
		case Expire:
			if fam := nl.DeserializeXfrmUsersaInfo(b).Family; !ev.ID.Dst.IsValid() || fam != family(ev.ID.Dst) {
				t.Fatalf("expire %+v", ev)
			}
		}
		again, ok := parseEvent(encodeEvent(ev))
		if !ok || !reflect.DeepEqual(again, ev) {
			t.Fatalf("round trip of %+v: %+v, %v", ev, again, ok)
		}
	})
}
