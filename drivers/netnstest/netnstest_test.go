package netnstest

import (
	"net"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

func TestNew(t *testing.T) {
	a, b := New(t), New(t)
	if a.Name == b.Name {
		t.Fatalf("two namespaces named %s", a.Name)
	}
	if a.NsHandle.Equal(b.NsHandle) {
		t.Fatal("two calls gave the same namespace")
	}
	self, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	if self.Equal(a.NsHandle) {
		t.Fatal("New left the thread in the new namespace")
	}
	a.LinkUp(t, "lo")
	if out := a.IP(t, "link", "show", "lo"); !strings.Contains(out, "UP") {
		t.Errorf("ip link show lo: got %q, want it UP", out)
	}
	if out := b.Run(t, "ip", "link", "show", "lo"); strings.Contains(out, ",UP") {
		t.Errorf("lo of the other namespace: got %q, want it down", out)
	}
	if _, err := b.Command("false").CombinedOutput(); err == nil {
		t.Error("Command(false): got nil error")
	}
}

func TestEnter(t *testing.T) {
	ns := New(t)
	ns.LinkUp(t, "lo")
	t.Run("inside", func(t *testing.T) {
		ns.Enter(t)
		cur, err := netns.Get()
		if err != nil {
			t.Fatal(err)
		}
		defer cur.Close()
		if !cur.Equal(ns.NsHandle) {
			t.Fatal("Enter: the thread is not in the namespace")
		}
		// Port 1 is free in a fresh namespace whatever the host runs.
		l, err := net.Listen("tcp", "127.0.0.1:1")
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
	})
	cur, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if cur.Equal(ns.NsHandle) {
		t.Error("after the subtest: still in the namespace")
	}
}
