package policy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nfnlgrpConntrackDestroy is the multicast group of ended sessions
// (NFNLGRP_CONNTRACK_DESTROY).
const nfnlgrpConntrackDestroy = 3

// WatchClosedSessions calls fn for each session the kernel ends, until ctx
// is done; it is how `then log session-close` is implemented, as nftables
// sees no packet when a session times out. c must be a ctnetlink socket
// (DialConntrack) used for nothing else. Sessions created before the call
// may not be reported: with net.netfilter.nf_conntrack_events=2 (the
// default) the kernel only tracks events of sessions that began while
// someone listened.
//
// An event that does not decode, and events the kernel dropped because the
// socket's buffer was full (ENOBUFS, under heavy session churn), are passed
// to skipped (if not nil) and the watch goes on: one bad event must not end
// the session-close log.
func WatchClosedSessions(ctx context.Context, c *netlink.Conn, fn func(Session), skipped func(error)) error {
	return watchClosed(ctx, c, fn, skipped)
}

// eventSource is what the watch needs of a ctnetlink socket; *netlink.Conn
// is one, and tests pass a fake.
type eventSource interface {
	JoinGroup(group uint32) error
	Receive() ([]netlink.Message, error)
	SetReadDeadline(t time.Time) error
}

func watchClosed(ctx context.Context, c eventSource, fn func(Session), skipped func(error)) error {
	skip := func(err error) {
		if skipped != nil {
			skipped(err)
		}
	}
	if err := c.JoinGroup(nfnlgrpConntrackDestroy); err != nil {
		return fmt.Errorf("joining conntrack destroy events: %w", err)
	}
	stop := make(chan struct{})
	defer close(stop)
	lost := 0 // overflows in the current burst
	go func() {
		select {
		case <-ctx.Done():
			c.SetReadDeadline(time.Now()) // wakes Receive below
		case <-stop:
		}
	}()
	for {
		msgs, err := c.Receive()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var oe *netlink.OpError
			if errors.As(err, &oe) && oe.Timeout() {
				continue
			}
			if errors.Is(err, unix.ENOBUFS) {
				// Overflows come in bursts under heavy churn: the first is
				// reported at once, the rest of the burst as one count when
				// events flow again, so the log does not flood too.
				if lost++; lost == 1 {
					skip(fmt.Errorf("conntrack events lost: the kernel's queue overflowed: %w", err))
				}
				continue
			}
			return fmt.Errorf("reading conntrack events: %w", err)
		}
		if lost > 1 {
			skip(fmt.Errorf("conntrack events lost: the kernel's queue overflowed %d more times", lost-1))
		}
		lost = 0
		for _, m := range msgs {
			s, err := decodeSession(m.Data)
			if err != nil {
				skip(fmt.Errorf("decoding conntrack event (%d bytes): %w", len(m.Data), err))
				continue
			}
			fn(s)
		}
	}
}

// SessionCloseLog returns the log line for a closed session if the policy
// that created it has `then log session-close`.
func SessionCloseLog(s Session, c *Compiled) (string, bool) {
	p, ok := c.PolicyByMark(s.Mark)
	if !ok || !p.LogClose {
		return "", false
	}
	from, to := zonesOf(p)
	return fmt.Sprintf("RT_FLOW_SESSION_CLOSE: session closed: %s/%d->%s/%d %s policy %s/%d from-zone %s to-zone %s packets %d/%d bytes %d/%d",
		s.In.Src, s.In.SrcPort, s.In.Dst, s.In.DstPort, ProtocolName(s.Proto), p.Name, p.Index, from, to,
		s.InPackets, s.OutPackets, s.InBytes, s.OutBytes), true
}
