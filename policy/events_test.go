package policy

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// joinable is a fake ctnetlink socket (nltest's) that accepts joining a
// multicast group.
type joinable struct{ *netlink.Conn }

func (joinable) JoinGroup(uint32) error { return nil }

// TestWatchSkipsBadEvents feeds the watcher, through a fake ctnetlink
// socket, a message that does not decode, a lost-events error (ENOBUFS) and
// good sessions around them: the bad ones are reported and the good ones
// after them still arrive.
func TestWatchSkipsBadEvents(t *testing.T) {
	sess := func(port uint16) Session {
		return Session{Proto: 6, Mark: 7,
			In:  Tuple{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: port, DstPort: 80},
			Out: Tuple{Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1"), SrcPort: 80, DstPort: port}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msg := func(b []byte) []netlink.Message { return []netlink.Message{{Data: b}} }
	script := []func() ([]netlink.Message, error){
		func() ([]netlink.Message, error) { return msg(encodeSession(t, sess(1000))), nil },
		func() ([]netlink.Message, error) { return msg([]byte{2, 0}), nil }, // shorter than nfgenmsg
		func() ([]netlink.Message, error) { return nil, unix.ENOBUFS },
		func() ([]netlink.Message, error) { return nil, unix.ENOBUFS },
		func() ([]netlink.Message, error) { return nil, unix.ENOBUFS },
		func() ([]netlink.Message, error) { return msg(encodeSession(t, sess(1001))), nil },
	}
	step := 0
	c := joinable{nltest.Dial(func([]netlink.Message) ([]netlink.Message, error) {
		if step < len(script) {
			step++
			return script[step-1]()
		}
		cancel()
		return nil, nil
	})}
	defer c.Close()
	var got []uint16
	var skipped []string
	done := make(chan error, 1)
	go func() {
		done <- watchClosed(ctx, c, func(s Session) { got = append(got, s.In.SrcPort) },
			func(err error) { skipped = append(skipped, err.Error()) })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end when its context did")
	}
	if len(got) != 2 || got[0] != 1000 || got[1] != 1001 {
		t.Errorf("sessions %v, want the two good ones (1000, 1001)", got)
	}
	// A burst of three overflows is two lines: the first, then the count.
	if len(skipped) != 3 || !strings.Contains(skipped[0], "decoding conntrack event (2 bytes)") ||
		!strings.Contains(skipped[1], "conntrack events lost") || !strings.Contains(skipped[2], "overflowed 2 more times") {
		t.Errorf("skipped %q, want the short message, the first overflow, and the count of the others", skipped)
	}
}
