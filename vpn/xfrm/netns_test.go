package xfrm

import (
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/palisade/palisade/drivers/netnstest"
)

// newNS moves the test's goroutine, locked to its thread, into a fresh
// network namespace, and returns a handle into it. Everything is undone in
// t.Cleanup.
func newNS(t *testing.T) (*netlink.Handle, netns.NsHandle) {
	t.Helper()
	ns := netnstest.New(t)
	ns.Enter(t)
	ns.LinkUp(t, "lo")
	return ns.Handle, ns.NsHandle
}
