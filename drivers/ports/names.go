// Package ports finds a board's Ethernet ports, names them ge-0/0/N, brings them up and reports carrier
// changes.
//
// # Names
//
// Junos port names contain '/', which Linux does not allow in an interface name. The kernel name of a port
// is its Junos name with every '/' replaced by '-': ge-0/0/1 is the kernel link "ge-0-0-1". KernelName and
// JunosName convert between the two; everything user-facing (CLI, config, logs) uses the Junos name.
//
// # Numbering
//
// A board lists port rules (board.PortRule). The rules are taken in order; the NICs a rule matches are
// numbered in the order of their sysfs device path, which on PCI is slot order. On the QEMU boards the N-th
// virtio-net NIC in PCI slot order is ge-0/0/N.
package ports

import (
	"fmt"
	"regexp"
	"strings"
)

// Name returns the Junos name of port n on FPC 0, PIC 0: Name(2) = "ge-0/0/2".
func Name(n int) string { return fmt.Sprintf("ge-0/0/%d", n) }

// KernelName returns the Linux interface name of a Junos interface name: "ge-0/0/1" -> "ge-0-0-1".
// Names without '/' are returned unchanged.
func KernelName(junosName string) string {
	return strings.ReplaceAll(junosName, "/", "-")
}

var kernelPort = regexp.MustCompile(`^(ge|xe|et)-([0-9]+)-([0-9]+)-([0-9]+)$`)

// JunosName returns the Junos name of a kernel interface name made by KernelName: "ge-0-0-1" -> "ge-0/0/1",
// true. For a name that is not a port ("lo", "eth0") it returns the name unchanged and false.
func JunosName(kernelName string) (string, bool) {
	m := kernelPort.FindStringSubmatch(kernelName)
	if m == nil {
		return kernelName, false
	}
	return fmt.Sprintf("%s-%s/%s/%s", m[1], m[2], m[3], m[4]), true
}

// UnitKernelName returns the kernel link of a logical interface: unit 0 of a port is the port's link itself
// ("ge-0/0/1.0" or "ge-0/0/1" -> "ge-0-0-1"). Other units would be VLAN sub-interfaces, which are not
// implemented. Linux limits link names to 15 bytes.
func UnitKernelName(unit string) (string, error) {
	name, u, ok := strings.Cut(unit, ".")
	if ok && u != "0" {
		return "", fmt.Errorf("interface %s: only unit 0 is implemented", unit)
	}
	k := KernelName(name)
	if len(k) > 15 {
		return "", fmt.Errorf("interface %s: kernel name %s is longer than 15 bytes", unit, k)
	}
	return k, nil
}

// UnitName returns the logical interface (unit 0) carried by a kernel link: "ge-0-0-1" -> "ge-0/0/1.0".
// Links that are not ports are returned unchanged.
func UnitName(kernelName string) string {
	if j, ok := JunosName(kernelName); ok {
		return j + ".0"
	}
	return kernelName
}
