package xfrm

import (
	"errors"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// newNS moves the test's goroutine, locked to its thread, into a fresh
// network namespace, and returns a handle into it. Everything is undone in
// t.Cleanup; the namespace is unnamed, so nothing collides.
func newNS(t *testing.T) (*netlink.Handle, netns.NsHandle) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Skipf("cannot read the current network namespace: %v", err)
	}
	ns, err := netns.New()
	if err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skip(err)
		}
		t.Skipf("cannot create a network namespace (needs root): %v", err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		netns.Set(orig)
		orig.Close()
		ns.Close()
		runtime.UnlockOSThread()
	})
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("bringing up lo: %v", err)
	}
	return h, ns
}
