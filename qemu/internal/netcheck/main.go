// Command netcheck is a test init that exercises the boot path below the firmware: it loads the board's
// modules with drivers/kmod, names the ports ge-0/0/N with drivers/ports, assigns addresses from the kernel
// command line, and answers UDP echo on port 7777, so the VM tests can check wires and host nets.
//
// Kernel arguments:
//
//	netcheck.addr=ge-0/0/0,10.0.0.1/24   (repeatable) an address for a port
//	netcheck.probe=10.0.0.2              send UDP echo to this address until it answers, and say so
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/drivers/kmod"
	"github.com/palisade/palisade/drivers/ports"
)

func main() {
	if err := run(); err != nil {
		fmt.Printf("netcheck: FAILED: %v\n", err)
	}
	select {} // PID 1 must not exit; the harness kills the machine
}

func run() error {
	for _, m := range []struct{ src, dst, fstype string }{{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"}} {
		os.MkdirAll(m.dst, 0o755)
		if err := syscall.Mount(m.src, m.dst, m.fstype, 0, ""); err != nil && err != syscall.EBUSY {
			return fmt.Errorf("mounting %s: %w", m.dst, err)
		}
	}
	name, err := os.ReadFile("/etc/palisade/board")
	if err != nil {
		return fmt.Errorf("reading board: %w", err)
	}
	b, err := board.Lookup(strings.TrimSpace(string(name)))
	if err != nil {
		return err
	}
	ctx := context.Background()
	start := time.Now()
	results, err := kmod.Loader{}.LoadAll(ctx, b.Modules)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Printf("netcheck: module %s: %v\n", r.Name, r.Err)
		}
	}
	fmt.Printf("netcheck: modules: %d requested, %d failed, %v\n", len(results), failed, time.Since(start).Round(time.Millisecond))

	nics, err := ports.Discover("/sys")
	if err != nil {
		return err
	}
	assigned := ports.Assign(nics, b.Ports)
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	if err := ports.Setup(h, assigned); err != nil {
		fmt.Printf("netcheck: ports: %v\n", err)
	}
	for _, p := range assigned {
		fmt.Printf("netcheck: port %s = %s (%s %s %s)\n", p.Junos, p.Kernel, p.NIC.Name, p.NIC.Driver, p.NIC.MAC)
	}
	go ports.WatchCarrier(ctx, ports.WatchOptions{}, func(e ports.CarrierEvent) { fmt.Printf("netcheck: %v\n", e) })
	if lo, err := h.LinkByName("lo"); err == nil {
		h.LinkSetUp(lo)
	}

	cmdline, _ := os.ReadFile("/proc/cmdline")
	var probe string
	for _, arg := range strings.Fields(string(cmdline)) {
		if v, ok := strings.CutPrefix(arg, "netcheck.addr="); ok {
			port, cidr, _ := strings.Cut(v, ",")
			if err := addAddr(h, port, cidr); err != nil {
				fmt.Printf("netcheck: %v\n", err)
			}
		}
		if v, ok := strings.CutPrefix(arg, "netcheck.probe="); ok {
			probe = v
		}
	}
	pc, err := net.ListenPacket("udp4", ":7777")
	if err != nil {
		return fmt.Errorf("udp echo: %w", err)
	}
	go echo(pc)
	fmt.Println("netcheck: ready")
	if probe != "" {
		fmt.Println(probeEcho(probe))
	}
	return nil
}

func addAddr(h *netlink.Handle, port, cidr string) error {
	link, err := h.LinkByName(ports.KernelName(port))
	if err != nil {
		return fmt.Errorf("address %s on %s: %w", cidr, port, err)
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("address %s on %s: %w", cidr, port, err)
	}
	if err := h.AddrAdd(link, a); err != nil {
		return fmt.Errorf("address %s on %s: %w", cidr, port, err)
	}
	fmt.Printf("netcheck: %s has %s\n", port, cidr)
	return nil
}

func echo(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(buf[:n], from)
	}
}

func probeEcho(addr string) string {
	conn, err := net.Dial("udp4", net.JoinHostPort(addr, "7777"))
	if err != nil {
		return fmt.Sprintf("netcheck: probe %s failed: %v", addr, err)
	}
	defer conn.Close()
	buf := make([]byte, 64)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		conn.Write([]byte("probe"))
		conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := conn.Read(buf); err == nil && string(buf[:n]) == "probe" {
			return fmt.Sprintf("netcheck: probe %s ok", addr)
		}
	}
	return fmt.Sprintf("netcheck: probe %s failed: no answer", addr)
}
