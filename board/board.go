// Package board describes the boards Palisade runs on, as data: architecture, the pinned Debian kernel, the
// serial console, the kernel modules to load in order, and which kernel NICs become the ports ge-0/0/N.
//
// The init reads the board name from /etc/palisade/board (written by the image builder) and calls Lookup.
// The image builder (package image) reads the same values on the host to fetch the kernel and pick modules.
package board

import (
	"fmt"
	"slices"
	"strings"
)

// Board is one board's definition. The zero value is not a valid board; use Lookup or All.
type Board struct {
	// Name is the board's identifier, used in `make image BOARD=Name` and /etc/palisade/board.
	Name string
	// Arch is the Go architecture: "amd64" or "arm64". It is also Debian's architecture name.
	Arch string
	// Console is the serial console device without /dev/, e.g. "ttyS0". The CLI runs there.
	Console string
	// Baud is the console's speed (8N1).
	Baud int

	// Kernel is the pinned Debian kernel package.
	Kernel Kernel

	// Modules are loaded in this order at boot, each with its dependencies from modules.dep first.
	// Names use underscores, as the kernel reports them (the file may be named with dashes).
	// A module that fails to load is logged and boot goes on.
	Modules []string

	// Ports says which kernel NICs become ge-0/0/0, ge-0/0/1, ...: the rules are taken in order, and the
	// NICs each rule matches are numbered in the order of their sysfs device path (PCI slot order on PCI).
	Ports []PortRule

	// Format is how the image is delivered to the board.
	Format ImageFormat

	// QEMU is set for boards that are QEMU machines, nil for hardware.
	QEMU *QEMU

	// Tested is true when the board has been booted (in QEMU or on hardware) by the tests; false for
	// hardware definitions that have not been tried yet.
	Tested bool
	// Notes says what is known to be missing or unverified, for untested boards.
	Notes string
}

// Kernel pins the Debian kernel image package of a board.
type Kernel struct {
	// Package is the versioned binary package, e.g. "linux-image-6.1.0-56-amd64".
	Package string
	// Version is the Debian version of Package, e.g. "6.1.192-2".
	Version string
	// SHA256 is the hex checksum of the .deb file.
	SHA256 string
	// Meta is the package that always depends on the current kernel, e.g. "linux-image-amd64". When the
	// pinned version is no longer served, the image builder falls back to what Meta resolves to.
	Meta string
	// Release is `uname -r` of the pinned kernel, e.g. "6.1.0-56-amd64" (the directory under /lib/modules).
	Release string
}

// PortRule matches kernel NICs by driver, optionally narrowed to device paths containing a substring.
type PortRule struct {
	// Driver is the kernel driver bound to the NIC's device: the base name of /sys/class/net/IF/device/driver,
	// e.g. "virtio_net", "igb", "rk_gmac-dwmac".
	Driver string
	// DevicePath, when not empty, must occur in the resolved /sys/class/net/IF/device path, e.g.
	// "fe300000.ethernet", to pin one port to one physical device.
	DevicePath string
}

// ImageFormat names how a board boots the image.
type ImageFormat string

// The image formats.
const (
	// FormatKernelInitramfs is a kernel and a gzip'd cpio initramfs, loaded by QEMU or a boot loader.
	FormatKernelInitramfs ImageFormat = "kernel+initramfs"
)

// QEMU is how a QEMU board is emulated.
type QEMU struct {
	// Binary is the emulator, e.g. "qemu-system-x86_64".
	Binary string
	// Machine is the -M value, e.g. "q35".
	Machine string
	// CPU is the -cpu value.
	CPU string
	// NICDevice is the -device model for a NIC, e.g. "virtio-net-pci".
	NICDevice string
	// DiskDevice is the -device model for the config disk, e.g. "virtio-blk-pci".
	DiskDevice string
	// PVH makes the image's kernel the uncompressed vmlinux, which QEMU boots directly through the PVH
	// entry point (x86 only; the kernel has CONFIG_PVH). It skips the kernel's self-decompression, which
	// under emulation takes seconds.
	PVH bool
}

// Module groups shared by boards; functions so that every board gets its own slice.
// Order matters: crc32c_generic must be there before nf_tables (through libcrc32c) asks for a crc32c
// implementation, because the kernel's own module requests fail (there is no modprobe).

// storageModules: the PALISADE config filesystem is ext4 on a virtio disk (or a board's own block device).
// crc32c_generic comes first: ext4 metadata checksums and nf_tables (through libcrc32c) both look up "crc32c".
func storageModules() []string { return []string{"crc32c_generic", "crc16", "mbcache", "jbd2", "ext4"} }

// espModules: the EFI system partition holding the A/B firmware slots is FAT (vfat, with the kernel's default
// codepage 437 and iocharset ascii), and softdog enforces a trial boot's deadline (firmware/software).
func espModules() []string { return []string{"vfat", "nls_cp437", "nls_ascii", "softdog"} }

// nftModules: nftables with conntrack, reject, log, limits, named counters (objref) and IPsec matching.
// nft_counter, nft_exthdr (TCP MSS), rt, range, lookup and the set backends are built into nf_tables in this
// kernel. nft_log needs a logger backend: nf_log_syslog. A missing expression module shows as ENOENT when
// the ruleset is applied.
func nftModules() []string {
	return []string{
		"nft_ct",
		"nf_conntrack_netlink", // sessions for show/clear security flow session, session-close events
		"nft_reject_inet", "nft_reject_ipv4", "nft_reject_ipv6",
		"nft_log", "nf_log_syslog",
		"nft_limit",
		"nft_objref",
		"nft_xfrm",
	}
}

// ipsecModules: IPsec ESP: AES-GCM (gcm ctr ghash_generic seqiv), AES-CBC + HMAC (authenc echainiv), and drbg, without
// which adding an XFRM state fails with ENOENT. sha512_generic for HMAC-SHA384/512. jitterentropy_rng (drbg's
// seed source) needs sha3_generic first: it asks for "sha3-256-generic", which modules.dep does not list.
func ipsecModules() []string {
	return []string{
		"xfrm_user", "esp4",
		"gcm", "ctr", "ghash_generic", "seqiv",
		"authenc", "echainiv",
		"sha512_generic",
		"sha3_generic", "jitterentropy_rng", "drbg",
	}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// boards returns fresh values every call, so callers may modify what they get.
func boards() []Board {
	const (
		amd64Pkg = "linux-image-6.1.0-56-amd64"
		arm64Pkg = "linux-image-6.1.0-56-arm64"
		version  = "6.1.192-2"
	)
	amd64Kernel := Kernel{
		Package: amd64Pkg,
		Version: version,
		SHA256:  "a86e2049672f52354c4536a089203b6c82639420424d31c91cf31a181fd4d8f1",
		Meta:    "linux-image-amd64",
		Release: "6.1.0-56-amd64",
	}
	arm64Kernel := Kernel{
		Package: arm64Pkg,
		Version: version,
		SHA256:  "6f4ed2d1cb9106bc977c2b1960008f175e2eed5740340634b7894e65ef5acc82",
		Meta:    "linux-image-arm64",
		Release: "6.1.0-56-arm64",
	}
	return []Board{
		{
			Name:    "qemu-x86_64",
			Arch:    "amd64",
			Console: "ttyS0",
			Baud:    115200,
			Kernel:  amd64Kernel,
			Modules: concat(
				[]string{"virtio_pci", "virtio_net", "e1000", "virtio_blk", "virtio_rng"},
				storageModules(),
				espModules(),
				nftModules(),
				ipsecModules(),
				[]string{"aesni_intel", "ghash_clmulni_intel"},
			),
			Ports:  []PortRule{{Driver: "virtio_net"}, {Driver: "e1000"}},
			Format: FormatKernelInitramfs,
			QEMU: &QEMU{
				Binary:     "qemu-system-x86_64",
				Machine:    "q35",
				CPU:        "max",
				NICDevice:  "virtio-net-pci",
				DiskDevice: "virtio-blk-pci",
				PVH:        true,
			},
			Tested: true,
		},
		{
			Name:    "qemu-arm64",
			Arch:    "arm64",
			Console: "ttyAMA0",
			Baud:    115200,
			Kernel:  arm64Kernel,
			Modules: concat(
				[]string{"virtio_pci", "virtio_net", "virtio_blk", "virtio_rng"},
				storageModules(),
				espModules(),
				nftModules(),
				ipsecModules(),
				[]string{"aes_ce_blk", "ghash_ce"},
			),
			Ports:  []PortRule{{Driver: "virtio_net"}},
			Format: FormatKernelInitramfs,
			QEMU: &QEMU{
				Binary: "qemu-system-aarch64",
				// -cpu max is 3-4x slower under emulation than cortex-a57.
				Machine:    "virt",
				CPU:        "cortex-a57",
				NICDevice:  "virtio-net-pci",
				DiskDevice: "virtio-blk-pci",
			},
			Tested: true,
		},
		{
			Name:    "pcengines-apu2",
			Arch:    "amd64",
			Console: "ttyS0",
			Baud:    115200,
			Kernel:  amd64Kernel,
			Modules: concat(
				// Three Intel i210 ports; mSATA/SD for the config partition.
				[]string{"igb", "ahci", "sd_mod", "sdhci_pci", "mmc_block"},
				storageModules(),
				espModules(),
				nftModules(),
				ipsecModules(),
				[]string{"aesni_intel", "ghash_clmulni_intel"},
			),
			// The ports labelled 1..3 on the case are the i210s at PCI 01:00.0, 02:00.0, 03:00.0.
			Ports:  []PortRule{{Driver: "igb"}},
			Format: FormatKernelInitramfs,
			Tested: false,
			Notes:  "not yet booted on hardware; needs a boot loader (coreboot SeaBIOS + syslinux) on the mSATA disk",
		},
		{
			Name:    "nanopi-r4s",
			Arch:    "arm64",
			Console: "ttyS2",
			Baud:    1500000,
			Kernel:  arm64Kernel,
			Modules: concat(
				// RK3399: WAN is the SoC's GMAC (stmmac/dwmac-rk), LAN is an RTL8111 on PCIe; config on microSD.
				[]string{"dwmac_rk", "r8169", "pcie_rockchip_host", "dw_mmc_rockchip", "mmc_block"},
				storageModules(),
				espModules(),
				nftModules(),
				ipsecModules(),
				[]string{"aes_ce_blk", "ghash_ce"},
			),
			Ports: []PortRule{
				{Driver: "rk_gmac-dwmac", DevicePath: "fe300000.ethernet"},
				{Driver: "r8169"},
			},
			Format: FormatKernelInitramfs,
			Tested: false,
			Notes:  "not yet booted on hardware; needs U-Boot and the rk3399-nanopi-r4s.dtb from the kernel package",
		},
	}
}

// All returns every board, QEMU boards first. The result is a fresh copy.
func All() []Board {
	return boards()
}

// Names returns the names of all boards, in the order of All.
func Names() []string {
	var names []string
	for _, b := range boards() {
		names = append(names, b.Name)
	}
	return names
}

// Lookup returns the board called name. The error lists the valid names.
func Lookup(name string) (Board, error) {
	all := boards()
	i := slices.IndexFunc(all, func(b Board) bool { return b.Name == name })
	if i < 0 {
		return Board{}, fmt.Errorf("unknown board %q (valid boards: %s)", name, strings.Join(Names(), ", "))
	}
	return all[i], nil
}

// KernelArgs returns the kernel command line that puts the console on the board's serial port and makes a
// kernel panic end the machine instead of hanging.
//
// An x86 QEMU board also skips the kernel's IO-APIC timer check (no_timer_check): under emulation on a busy
// host the guest can miss the ticks the check counts, and the kernel panics at boot with "IO-APIC + timer
// doesn't work!" (seen in make test while the host was loaded). The check is for broken hardware timers,
// which QEMU's are not; hardware boards keep it.
func (b Board) KernelArgs() string {
	args := fmt.Sprintf("console=%s,%d panic=-1", b.Console, b.Baud)
	if b.QEMU != nil && b.Arch == "amd64" {
		args += " no_timer_check"
	}
	return args
}
