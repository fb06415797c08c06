// Package netnstest gives a test its own network namespace: freshly made
// and uniquely named, with a netlink handle into it, a descriptor for
// nftables.WithNetNSFd, and helpers to run commands in it through
// `ip netns exec`. Everything is removed in t.Cleanup.
//
// Only tests import it. It imports nothing else of Palisade's, so that the
// tests of any package can use it.
package netnstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NS is one test's network namespace.
type NS struct {
	// Name is the namespace's name under /run/netns, for `ip -n` and
	// `ip netns exec`.
	Name string
	// Handle is a netlink handle in the namespace.
	Handle *netlink.Handle
	// NsHandle is an open descriptor of the namespace.
	NsHandle netns.NsHandle
}

var seq atomic.Uint32

// New makes a fresh network namespace for t. The calling goroutine's
// thread stays in its own namespace. New skips the test when it does not
// run as root, or when the kernel refuses namespaces (a container without
// CAP_SYS_ADMIN).
func New(t testing.TB) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	name := uniqueName(t.Name())
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("reading the current network namespace: %v", err)
	}
	defer orig.Close()
	// NewNamed moves the thread into the new namespace; move it back.
	ns, err := netns.NewNamed(name)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, errors.ErrUnsupported) {
			t.Skipf("cannot create a network namespace: %v", err)
		}
		t.Fatalf("creating network namespace %s: %v", name, err)
	}
	if err := netns.Set(orig); err != nil {
		// The thread is stuck in the new namespace: let it die with the
		// goroutine rather than serve another.
		runtime.LockOSThread()
		ns.Close()
		netns.DeleteNamed(name)
		t.Fatalf("returning to the original network namespace: %v", err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		netns.DeleteNamed(name)
		t.Fatalf("netlink handle in %s: %v", name, err)
	}
	t.Cleanup(func() {
		h.Close()
		ns.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("removing network namespace %s: %v", name, err)
		}
	})
	return &NS{Name: name, Handle: h, NsHandle: ns}
}

// uniqueName is a namespace name no other test (of this process or of
// another package's test binary running beside it) uses.
func uniqueName(test string) string {
	test = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, test)
	if len(test) > 32 {
		test = test[:32]
	}
	return fmt.Sprintf("pal-%d-%d-%s", os.Getpid(), seq.Add(1), test)
}

// Fd is the namespace's descriptor, for nftables.WithNetNSFd.
func (ns *NS) Fd() int { return int(ns.NsHandle) }

// Enter locks the calling goroutine to its thread and moves the thread into
// the namespace, so that sockets it opens belong there (they stay there
// whichever goroutine uses them later). t.Cleanup moves it back and
// unlocks it; a thread that cannot go back stays locked and dies with the
// goroutine.
func (ns *NS) Enter(t testing.TB) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("reading the current network namespace: %v", err)
	}
	if err := netns.Set(ns.NsHandle); err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		t.Fatalf("entering network namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		err := netns.Set(orig)
		orig.Close()
		if err != nil {
			t.Errorf("leaving network namespace %s: %v", ns.Name, err)
			return
		}
		runtime.UnlockOSThread()
	})
}

// LinkUp sets the namespace's link name up, e.g. "lo".
func (ns *NS) LinkUp(t testing.TB, name string) {
	t.Helper()
	l, err := ns.Handle.LinkByName(name)
	if err == nil {
		err = ns.Handle.LinkSetUp(l)
	}
	if err != nil {
		t.Fatalf("setting %s up in %s: %v", name, ns.Name, err)
	}
}

// Command returns the command name with args, to run in the namespace
// through `ip netns exec`.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Run runs name with args in the namespace and returns its combined output;
// it fails the test if the command fails.
func (ns *NS) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s %s: %v\n%s", ns.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// IP runs `ip -n <namespace> args...` and returns its combined output; it
// fails the test if ip fails.
func (ns *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.Name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
	return string(out)
}
