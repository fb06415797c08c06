package qemu

import "github.com/palisade/palisade/board"

// SeedLab is the seed's two-site lab (../shared/seed/LAB.md) for board b: boxes "srx1" and "srx2" booting
// kernel and initramfs with the given config disks, and host namespaces "host1" (10.100.11.10 behind srx1
// ge-0/0/0), "host2" (10.100.22.10 behind srx2 ge-0/0/0) and "inet", the Internet between both routers'
// ge-0/0/1, which also routes to both host networks (so a broken tunnel policy would leak in clear).
func SeedLab(b board.Board, kernel, initramfs, srx1Disk, srx2Disk string) Topology {
	box := func(name, disk string) Box {
		return Box{Name: name, Board: b, Kernel: kernel, Initramfs: initramfs, ConfigDisk: disk, NICs: 2}
	}
	return Topology{
		Boxes: []Box{box("srx1", srx1Disk), box("srx2", srx2Disk)},
		HostNets: []HostNet{
			{Netns: "host1", To: Endpoint{"srx1", 0}, IfName: "eth0", Addrs: []string{"10.100.11.10/24"}, Gateway: "10.100.11.1"},
			{Netns: "host2", To: Endpoint{"srx2", 0}, IfName: "eth0", Addrs: []string{"10.100.22.10/24"}, Gateway: "10.100.22.1"},
			{Netns: "inet", To: Endpoint{"srx1", 1}, IfName: "to-srx1", Addrs: []string{"172.16.13.2/24"},
				Routes: []string{"10.100.11.0/24 via 172.16.13.1"}},
			{Netns: "inet", To: Endpoint{"srx2", 1}, IfName: "to-srx2", Addrs: []string{"172.16.23.2/24"},
				Routes: []string{"10.100.22.0/24 via 172.16.23.1"}},
		},
		Routers: []string{"inet"},
	}
}
