package qemu

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/board"
)

func testBox(t *testing.T, name string) Box {
	t.Helper()
	b, err := board.Lookup("qemu-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k, i := filepath.Join(dir, "kernel"), filepath.Join(dir, "initramfs.cpio.gz")
	for _, f := range []string{k, i} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Box{Name: name, Board: b, Kernel: k, Initramfs: i}
}

func TestPlanTopology(t *testing.T) {
	a, b := testBox(t, "a"), testBox(t, "b")
	b.NICs = 3
	p, err := planTopology(Topology{
		Boxes:    []Box{a, b},
		Wires:    []Wire{{A: Endpoint{"a", 2}, B: Endpoint{"b", 0}}},
		HostNets: []HostNet{{Netns: "lan", To: Endpoint{"a", 0}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := p.ports["a"], p.ports["b"]
	if len(pa) != 3 || len(pb) != 3 {
		t.Fatalf("ports: a has %d, b has %d; want 3 and 3", len(pa), len(pb))
	}
	if pa[0].kind != "tap" || pa[1].kind != "" || pa[2].kind != "udp" || pb[0].kind != "udp" {
		t.Errorf("port kinds a=%+v b=%+v", pa, pb)
	}
	if pa[2].local != pb[0].remote || pa[2].remote != pb[0].local || pa[2].local == pa[2].remote {
		t.Errorf("wire ends do not pair: a2=%+v b0=%+v", pa[2], pb[0])
	}
	if tap := pa[0].tap; len(tap) > 15 || tap != p.hostNets[0].tap {
		t.Errorf("tap name %q: want at most 15 bytes and recorded in the host net", tap)
	}
}

func TestPlanTopologyErrors(t *testing.T) {
	a := testBox(t, "a")
	hw, _ := board.Lookup("pcengines-apu2")
	for _, c := range []struct {
		topo Topology
		want string
	}{
		{Topology{}, "no boxes"},
		{Topology{Boxes: []Box{a, a}}, "used twice"},
		{Topology{Boxes: []Box{{Name: "x", Board: hw}}}, "not a QEMU board"},
		{Topology{Boxes: []Box{{Name: "x", Board: a.Board, Kernel: "/nonexistent", Initramfs: a.Initramfs}}}, "make image BOARD=qemu-x86_64"},
		{Topology{Boxes: []Box{a}, Wires: []Wire{{A: Endpoint{"a", 0}, B: Endpoint{"c", 0}}}}, `no box "c"`},
		{Topology{Boxes: []Box{a}, Wires: []Wire{{A: Endpoint{"a", 0}, B: Endpoint{"a", 0}}}}, "connected twice"},
		{Topology{Boxes: []Box{a}, Wires: []Wire{{A: Endpoint{"a", 0}, B: Endpoint{"a", 99}}}}, "out of range"},
		{Topology{Boxes: []Box{a}, HostNets: []HostNet{{To: Endpoint{"a", 0}}}}, "no namespace name"},
	} {
		_, err := planTopology(c.topo)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("planTopology(%+v) = %v, want an error containing %q", c.topo, err, c.want)
		}
	}
}

func TestQEMUArgs(t *testing.T) {
	box := testBox(t, "a")
	box.ConfigDisk = "/tmp/cfg.img"
	box.KernelArgs = "x=1"
	args := strings.Join(qemuArgs(box, 2, []netdev{{kind: "tap", tap: "pqt0"}, {}, {kind: "udp", local: 1000, remote: 1001}}, socketConsole("/s", "/l")), " ")
	for _, want := range []string{
		"-M q35 -cpu max",
		"-no-reboot",
		"-append console=ttyS0,115200 panic=-1 no_timer_check quiet x=1",
		"-chardev socket,id=c0,path=/s,server=on,wait=on,logfile=/l -serial chardev:c0",
		"-drive file=/tmp/cfg.img,format=raw,if=none,id=cfg0 -device virtio-blk-pci,drive=cfg0,addr=0xa",
		"-netdev tap,id=n0,ifname=pqt0,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=52:54:00:00:02:00,addr=0x10,romfile=",
		"-netdev socket,id=n1,udp=127.0.0.1:9,localaddr=127.0.0.1:0 -device virtio-net-pci,netdev=n1,mac=52:54:00:00:02:01,addr=0x11,romfile=",
		"-netdev socket,id=n2,udp=127.0.0.1:1001,localaddr=127.0.0.1:1000 -device virtio-net-pci,netdev=n2,mac=52:54:00:00:02:02,addr=0x12,romfile=",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("args lack %q:\n%s", want, args)
		}
	}
	arm, _ := board.Lookup("qemu-arm64")
	box.Board = arm
	if args := strings.Join(qemuArgs(box, 0, nil, stdioConsole()), " "); !strings.Contains(args, "-M virt -cpu cortex-a57") ||
		!strings.Contains(args, "console=ttyAMA0") || !strings.Contains(args, "-serial mon:stdio") {
		t.Errorf("arm64 args: %s", args)
	}
}

func TestShellQuote(t *testing.T) {
	got := ShellQuote([]string{"qemu", "-append", "console=ttyS0 quiet", "it's", ""})
	if want := `qemu -append 'console=ttyS0 quiet' 'it'\''s' ''`; got != want {
		t.Errorf("ShellQuote = %s, want %s", got, want)
	}
}

func TestConsoleExpect(t *testing.T) {
	guest, harness := net.Pipe()
	c := newConsole(harness)
	defer guest.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() {
		guest.Write([]byte("booting\nlogin: "))
		time.Sleep(10 * time.Millisecond)
		guest.Write([]byte("root\r\nroot@srx1> "))
	}()
	out, err := c.expect(ctx, regexp.MustCompile(`login: `))
	if err != nil || out != "booting\nlogin: " {
		t.Fatalf("expect login = %q, %v", out, err)
	}
	out, err = c.expect(ctx, regexp.MustCompile(`root@(\w+)> `))
	if err != nil || out != "root\r\nroot@srx1> " {
		t.Fatalf("expect prompt = %q, %v", out, err)
	}
	// The cursor moved past the prompt: the old prompt does not match again.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := c.expect(short, regexp.MustCompile(`root@`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expect after the cursor = %v, want a deadline error", err)
	}
	// Send goes to the guest.
	go c.write([]byte("show\r"))
	buf := make([]byte, 16)
	n, _ := guest.Read(buf)
	if string(buf[:n]) != "show\r" {
		t.Errorf("guest read %q", buf[:n])
	}
	guest.Close()
	if _, err := c.expect(ctx, regexp.MustCompile(`never`)); err == nil || !strings.Contains(err.Error(), "QEMU exited") {
		t.Errorf("expect after close = %v, want QEMU exited", err)
	}
}
