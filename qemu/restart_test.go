package qemu

import (
	"os"
	"strings"
	"testing"
)

// A restarted box gets its host nets' TAPs as inherited file descriptors: the N-th open TAP is fd 3+N
// in QEMU, in port order, whatever the other ports are.
func TestExtraFilesNumbersTAPs(t *testing.T) {
	a, b := os.NewFile(100, "a"), os.NewFile(101, "b")
	ports := []netdev{{kind: "tapfd", file: a}, {kind: "udp", local: 1, remote: 2}, {}, {kind: "tapfd", file: b}}
	files := extraFiles(ports)
	if len(files) != 2 || files[0] != a || files[1] != b {
		t.Fatalf("got files %v, want [a b]", files)
	}
	if ports[0].fd != 3 || ports[3].fd != 4 {
		t.Errorf("got fds %d and %d, want 3 and 4", ports[0].fd, ports[3].fd)
	}
	args := strings.Join(qemuArgs(testBox(t, "r"), 0, ports, nil), " ")
	for _, want := range []string{"-netdev tap,id=n0,fd=3 ", "-netdev tap,id=n3,fd=4 "} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU arguments lack %q:\n%s", want, args)
		}
	}
}
