package ikev1

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/seam"
)

// FuzzHandleDatagram feeds arbitrary datagrams to an engine with an
// established tunnel, from the peer's address, on both ports: nothing may
// panic, and the tunnel must survive what does not authenticate.
func FuzzHandleDatagram(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0}, true)
	f.Add(make([]byte, 28), false)
	f.Add([]byte{0xff}, true)
	f.Fuzz(func(t *testing.T, data []byte, natt bool) {
		ca := peerCfg("GW-B", addrA, addrB, netA, netB, true)
		cb := peerCfg("GW-A", addrB, addrA, netB, netA, false)
		_, clock, a, b := pair(t, ca, cb)
		pump(t, clock, []*side{a, b}, time.Minute, installedBoth(a, b))
		ikes, _ := b.e.Status()
		if len(ikes) != 1 {
			t.Fatal("no IKE SA")
		}
		port := uint16(500)
		if natt {
			port = 4500
		}
		// Aim at the live SA: give the datagram its cookies when long enough.
		sa := b.e.sas[[8]byte(mustHex(ikes[0].InitiatorCookie))]
		if len(data) >= 28 && sa != nil {
			off := 0
			if natt {
				off = 4
				binary.BigEndian.PutUint32(data, 0)
			}
			if len(data) >= off+16 {
				copy(data[off:], sa.ci[:])
				copy(data[off+8:], sa.cr[:])
			}
		}
		b.e.HandleDatagram(seam.Datagram{Data: data, Local: netip.AddrPortFrom(addrB, port), Remote: netip.AddrPortFrom(addrA, port)})
		b.e.Tick()
		if len(b.inst.Installed()) != 1 {
			t.Fatalf("a forged datagram removed the tunnel")
		}
	})
}

func mustHex(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		var v byte
		for _, c := range s[2*i : 2*i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			default:
				v |= byte(c-'a') + 10
			}
		}
		b[i] = v
	}
	return b
}
