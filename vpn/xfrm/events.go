package xfrm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Event is a kernel XFRM event: an Acquire (traffic hit an out policy with no
// state) or an Expire (a state reached a soft or hard limit).
type Event interface{ isEvent() }

// Acquire asks for an SA for traffic matching a policy.
type Acquire struct {
	PolicyIndex uint32
	Selector    Selector // the policy's selector, seen as local->remote
	Dst         netip.Addr
}

// Expire reports a state reaching a lifetime limit.
type Expire struct {
	ID    StateID
	Reqid uint32
	Hard  bool
}

func (Acquire) isEvent() {}
func (Expire) isEvent()  {}

// Layout of struct xfrm_user_acquire and xfrm_user_expire (linux/xfrm.h).
const (
	offAcquireID       = 0
	offAcquirePolicy   = nl.SizeofXfrmId + nl.SizeofXfrmAddress + nl.SizeofXfrmSelector
	offPolicyIndex     = nl.SizeofXfrmSelector + nl.SizeofXfrmLifetimeCfg + nl.SizeofXfrmLifetimeCur + 4
	minAcquireLen      = offAcquirePolicy + offPolicyIndex + 4
	offExpireHard      = nl.SizeofXfrmUsersaInfo
	receivePollTimeout = 200 * time.Millisecond
)

// Subscribe delivers acquire and expire events of the namespace ns to ch
// until ctx is done. It returns once subscribed; the receiving goroutine ends
// with ctx and closes ch.
func Subscribe(ctx context.Context, ns netns.NsHandle, ch chan<- Event) error {
	s, err := nl.SubscribeAt(ns, netns.None(), unix.NETLINK_XFRM, nl.XFRMNLGRP_ACQUIRE, nl.XFRMNLGRP_EXPIRE)
	if err != nil {
		return fmt.Errorf("subscribing to XFRM events: %w", err)
	}
	// A blocked receive is not woken by Close, so poll with a timeout.
	tv := unix.NsecToTimeval(receivePollTimeout.Nanoseconds())
	if err := s.SetReceiveTimeout(&tv); err != nil {
		s.Close()
		return fmt.Errorf("subscribing to XFRM events: %w", err)
	}
	go func() {
		defer close(ch)
		defer s.Close()
		for ctx.Err() == nil {
			msgs, _, err := s.Receive()
			if err != nil {
				if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.EWOULDBLOCK) {
					continue
				}
				return
			}
			for _, m := range msgs {
				ev, ok := parseEvent(m.Header.Type, m.Data)
				if !ok {
					continue
				}
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return nil
}

func parseEvent(t uint16, b []byte) (Event, bool) {
	switch t {
	case nl.XFRM_MSG_ACQUIRE:
		if len(b) < minAcquireLen {
			return nil, false
		}
		id := nl.DeserializeXfrmId(b[offAcquireID:])
		sel := nl.DeserializeXfrmSelector(b[offAcquirePolicy:])
		// The kernel refuses policies with other selectors, so it never sends them; decoded, they
		// came out as IPv4 selectors with invalid prefixes.
		if !knownFamily(sel.Family) || int(sel.PrefixlenS) > addrBits(sel.Family) || int(sel.PrefixlenD) > addrBits(sel.Family) {
			return nil, false
		}
		return Acquire{
			PolicyIndex: binary.NativeEndian.Uint32(b[offAcquirePolicy+offPolicyIndex:]),
			Selector:    selectorFrom(sel),
			Dst:         addrFrom(&id.Daddr, sel.Family),
		}, true
	case nl.XFRM_MSG_EXPIRE:
		if len(b) < offExpireHard+1 {
			return nil, false
		}
		info := nl.DeserializeXfrmUsersaInfo(b)
		if !knownFamily(info.Family) {
			return nil, false
		}
		return Expire{
			ID:    StateID{Dst: addrFrom(&info.Id.Daddr, info.Family), SPI: nl.Swap32(info.Id.Spi)},
			Reqid: info.Reqid,
			Hard:  b[offExpireHard] != 0,
		}, true
	}
	return nil, false
}

func knownFamily(f uint16) bool { return f == unix.AF_INET || f == unix.AF_INET6 }

func addrBits(family uint16) int {
	if family == unix.AF_INET6 {
		return 128
	}
	return 32
}

func addrFrom(a *nl.XfrmAddress, family uint16) netip.Addr {
	if family == unix.AF_INET6 {
		return netip.AddrFrom16(*a)
	}
	return netip.AddrFrom4([4]byte(a[:4]))
}

func selectorFrom(s *nl.XfrmSelector) Selector {
	src, dst := addrFrom(&s.Saddr, s.Family), addrFrom(&s.Daddr, s.Family)
	return Selector{
		Local:      netip.PrefixFrom(src, int(s.PrefixlenS)),
		Remote:     netip.PrefixFrom(dst, int(s.PrefixlenD)),
		Protocol:   s.Proto,
		LocalPort:  nl.Swap16(s.Sport),
		RemotePort: nl.Swap16(s.Dport),
	}
}
