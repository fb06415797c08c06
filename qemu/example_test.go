package qemu_test

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/qemu"
)

// Two boxes wired port to port, box a's ge-0/0/0 in a host namespace "lan" (root needed for host nets).
// In a test, qemu.StartT(t, topo) does the same and closes the lab in t.Cleanup.
func ExampleStart() {
	b, _ := board.Lookup("qemu-x86_64")
	k, i := qemu.ImagePaths("out", b.Name) // after `make image`
	topo := qemu.Topology{
		Boxes: []qemu.Box{
			{Name: "a", Board: b, Kernel: k, Initramfs: i, ConfigDisk: "out/a.img"},
			{Name: "b", Board: b, Kernel: k, Initramfs: i},
		},
		Wires: []qemu.Wire{{A: qemu.Endpoint{Box: "a", Port: 1}, B: qemu.Endpoint{Box: "b", Port: 1}}},
		HostNets: []qemu.HostNet{{Netns: "lan", To: qemu.Endpoint{Box: "a", Port: 0},
			Addrs: []string{"10.100.11.10/24"}, Gateway: "10.100.11.1"}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lab, err := qemu.Start(ctx, topo)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lab.Close()
	a := lab.Guest("a")
	if _, err := a.Expect(ctx, regexp.MustCompile(`login: `)); err != nil {
		fmt.Println(err)
		return
	}
	a.Send("root")
	out, err := lab.Exec(ctx, "lan", "ping", "-c", "1", "10.100.11.1")
	fmt.Println(out, err)
}
