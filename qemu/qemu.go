// Package qemu boots Palisade images under QEMU: one box, or a topology of boxes wired to each other and
// to host network namespaces. It is the harness of the boot and end-to-end tests and of `make run`.
//
// A Topology is data: Boxes (each a board, an image and an optional config disk), Wires between two box
// ports, and HostNets that put a box port into a fresh host network namespace through a TAP device. Start
// boots it and returns a Lab; every guest's console is reachable through Guest.Expect and Guest.Send and is
// also kept in a log file. Lab.Close kills every QEMU and removes every TAP and namespace it made.
//
// Port N of a box is its N-th virtio-net NIC, at PCI slot 0x10+N, so the guest names it ge-0/0/N.
//
// Every guest ends by itself: QEMU runs with -no-reboot and the kernel with panic=-1, so a power-off, a
// reboot or a panic ends the process, and the harness kills it after Box.Timeout at the latest.
//
// Wires are UDP socket pairs on 127.0.0.1 (-netdev socket,udp=...,localaddr=...): no listener has to be
// started before its peer, and a box that is not up yet is a cable not yet plugged in. HostNets need root.
package qemu

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/palisade/palisade/board"
)

// Box is one guest.
type Box struct {
	// Name identifies the box in the topology, in logs and in error messages, e.g. "srx1".
	Name string
	// Board must be a QEMU board (Board.QEMU set).
	Board board.Board
	// Kernel and Initramfs are the image files; see ImagePaths.
	Kernel, Initramfs string
	// ConfigDisk, if set, is a raw disk image attached read-write as a virtio disk (the PALISADE
	// filesystem). Pass a copy if the test must not change the original.
	ConfigDisk string
	// NICs is the least number of ports to give the box, even if nothing is wired to them: ports without a
	// wire or host net are unplugged (their packets go nowhere). Wires and HostNets add ports as needed.
	NICs int
	// MemoryMB defaults to 512.
	MemoryMB int
	// KernelArgs are appended to the board's console and panic arguments.
	KernelArgs string
	// Verbose keeps the kernel's boot messages on the console; by default the kernel boots with "quiet".
	Verbose bool
	// Timeout kills QEMU after this long; 0 means 10 minutes.
	Timeout time.Duration
	// Unplugged lists ports whose NIC is not in the box at boot: its network backend is made (and wired
	// as planned) but the NIC sits behind an empty PCIe root port until Lab.Plug hot-plugs it, as a
	// field engineer would plug a card into a running box.
	Unplugged []int
	// EFI, if set, boots the box from a disk image under UEFI firmware instead of Kernel and Initramfs
	// (which are then unused, as are KernelArgs and Verbose: the image's loader entries carry them).
	EFI *EFI
}

// Endpoint is a port of a box: Port N is ge-0/0/N.
type Endpoint struct {
	Box  string
	Port int
}

func (e Endpoint) String() string { return fmt.Sprintf("%s ge-0/0/%d", e.Box, e.Port) }

// Wire connects two box ports like a cable.
type Wire struct {
	A, B Endpoint
}

// HostNet connects a box port to a host network namespace that the harness creates: a TAP device, named
// IfName inside the namespace, with Addrs assigned and, if set, a default route via Gateway.
type HostNet struct {
	// Netns is the logical name of the namespace; Lab.Netns returns the real (unique) name. Several
	// HostNets may share one namespace.
	Netns string
	// To is the box port at the other end.
	To Endpoint
	// IfName is the interface's name in the namespace; "" means "eth0" (or ethN when the namespace has
	// several links).
	IfName string
	// Addrs are CIDR addresses for the interface, e.g. "10.100.11.10/24".
	Addrs []string
	// Gateway, if set, becomes the namespace's default route.
	Gateway string
	// Routes are more routes in the namespace, in `ip route add` form: "10.100.22.0/24 via 172.16.23.1".
	// They are added after every host net is attached, so a gateway may be on another host net's link.
	Routes []string
}

// Topology is a set of boxes and the links between them.
type Topology struct {
	Boxes    []Box
	Wires    []Wire
	HostNets []HostNet
	// Routers are host net namespaces (logical names) that forward IPv4 between their links.
	Routers []string
	// Dir keeps console logs and copies of nothing else; "" means a new temporary directory that Close
	// removes. Tests pass t.TempDir() so logs survive until the test's own cleanup.
	Dir string
}

// ImagePaths returns where `make image` writes a board's kernel and initramfs under outDir ("out").
func ImagePaths(outDir, boardName string) (kernel, initramfs string) {
	return filepath.Join(outDir, boardName, "kernel"), filepath.Join(outDir, boardName, "initramfs.cpio.gz")
}
