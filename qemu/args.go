package qemu

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// netdev is what one port of a box is plugged into.
type netdev struct {
	kind string // "" (unplugged), "udp" (a wire), "tap" (a host net), "tapfd" (a host net, restarted)
	// udp: this side's and the peer's 127.0.0.1 ports
	local, remote int
	// tap: the TAP device in the host namespace
	tap string
	// tapfd: an open TAP (see openTAP), passed to QEMU as file descriptor fd
	file *os.File
	fd   int
}

// NIC and disk PCI slots. Fixed slots make ge-0/0/N independent of the order of the other devices.
const (
	firstNICSlot = 0x10
	diskSlot     = 0x0a
	rngSlot      = 0x0b
	bootDiskSlot = 0x09                // Box.EFI's disk
	maxPorts     = 0x1e - firstNICSlot // q35 keeps 0x1f for the LPC bridge
)

// socketConsole puts the serial console on a unix socket that QEMU waits on, and logs it to log.
func socketConsole(sock, log string) []string {
	return []string{
		"-chardev", fmt.Sprintf("socket,id=c0,path=%s,server=on,wait=on,logfile=%s", sock, log),
		"-serial", "chardev:c0",
	}
}

// stdioConsole puts the serial console on the terminal, multiplexed with the monitor: Ctrl-A X quits.
func stdioConsole() []string {
	return []string{"-serial", "mon:stdio"}
}

// InteractiveCommand returns the command line (binary first) that boots box with its console on the
// terminal (Ctrl-A X quits QEMU) and box.NICs unconnected ports. It is what `make run` executes, and a
// starting point for your own QEMU command lines.
func InteractiveCommand(box Box) []string {
	ports := make([]netdev, box.NICs)
	return append([]string{box.Board.QEMU.Binary}, qemuArgs(box, 0, ports, stdioConsole())...)
}

// qemuArgs returns the QEMU command line (without the binary) of box with the given ports and console.
func qemuArgs(box Box, index int, ports []netdev, console []string) []string {
	q := box.Board.QEMU
	mem := box.MemoryMB
	if mem == 0 {
		mem = 512
	}
	kargs := box.Board.KernelArgs()
	if !box.Verbose {
		kargs += " quiet"
	}
	if box.KernelArgs != "" {
		kargs += " " + box.KernelArgs
	}
	args := []string{
		"-M", q.Machine, "-cpu", q.CPU, "-smp", "1", "-m", fmt.Sprint(mem),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
	}
	args = append(args, console...)
	if box.EFI != nil {
		args = append(args, box.EFI.args(q)...)
	} else {
		args = append(args, "-kernel", box.Kernel, "-initrd", box.Initramfs, "-append", kargs)
	}
	args = append(args,
		// Entropy for IKE nonces and the kernel's RNG, so getrandom does not wait.
		"-object", "rng-random,id=rng0,filename=/dev/urandom",
		"-device", fmt.Sprintf("virtio-rng-pci,rng=rng0,addr=%#x", rngSlot),
	)
	if box.ConfigDisk != "" {
		args = append(args,
			"-drive", fmt.Sprintf("file=%s,format=raw,if=none,id=cfg0", box.ConfigDisk),
			"-device", fmt.Sprintf("%s,drive=cfg0,addr=%#x", q.DiskDevice, diskSlot))
	}
	for n, p := range ports {
		id := fmt.Sprintf("n%d", n)
		switch p.kind {
		case "udp":
			args = append(args, "-netdev", fmt.Sprintf("socket,id=%s,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d", id, p.remote, p.local))
		case "tap":
			args = append(args, "-netdev", fmt.Sprintf("tap,id=%s,ifname=%s,script=no,downscript=no", id, p.tap))
		case "tapfd":
			args = append(args, "-netdev", fmt.Sprintf("tap,id=%s,fd=%d", id, p.fd))
		default:
			// Unplugged: a UDP socket sending to the discard port. (An empty hub makes QEMU warn.)
			args = append(args, "-netdev", fmt.Sprintf("socket,id=%s,udp=127.0.0.1:9,localaddr=127.0.0.1:0", id))
		}
		if slices.Contains(box.Unplugged, n) {
			// An empty hot-plug slot where the NIC would sit, so that the NIC, once plugged (see
			// plugCommand), sorts as port n.
			args = append(args, "-device", fmt.Sprintf("pcie-root-port,id=%s,chassis=%d,addr=%#x", rootPort(n), n+1, firstNICSlot+n))
			continue
		}
		args = append(args, "-device", fmt.Sprintf("%s,netdev=%s,mac=%s,addr=%#x,romfile=", q.NICDevice, id, mac(index, n), firstNICSlot+n))
	}
	return args
}

func rootPort(n int) string { return fmt.Sprintf("rp%d", n) }

// plugArguments are the arguments of the QMP device_add that plugs port n's NIC into its root port.
func plugArguments(box Box, index, n int) map[string]any {
	return map[string]any{"driver": box.Board.QEMU.NICDevice, "netdev": fmt.Sprintf("n%d", n), "mac": mac(index, n),
		"bus": rootPort(n), "id": fmt.Sprintf("nic%d", n), "romfile": ""}
}

// mac is the address of port n of the index-th box: locally administered, stable across runs.
func mac(index, n int) string {
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", (index>>8)&0xff, index&0xff, n)
}

// ShellQuote renders args for a log line a person can paste into a shell.
func ShellQuote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " '\"\\$`!*?;&|<>()") {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}
