package seedlab

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/qemu"
)

func TestVMExplore(t *testing.T) {
	if os.Getenv("PALISADE_EXPLORE") != "1" {
		t.Skip()
	}
	b, _ := board.Lookup("qemu-x86_64")
	k, i := qemu.ImagePaths("../../out", b.Name)
	ctx := context.Background()
	t0 := time.Now()
	l, err := Start(ctx, Options{Board: b, Kernel: k, Initramfs: i, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Logf("logged in after %v", time.Since(t0))
	for range 90 {
		o1, _ := l.SRX1.Run(ctx, "show security ike security-associations")
		o2, _ := l.SRX2.Run(ctx, "show security ike security-associations")
		t.Logf("%v\n%s%s", time.Since(t0), o1, o2)
		if strings.Contains(o1, " UP ") && strings.Contains(o2, " UP ") {
			break
		}
		time.Sleep(time.Second)
	}
	o, err := l.QEMU.Exec(ctx, "host1", "ping", "-c", "3", "-W", "2", "10.100.22.10")
	t.Logf("%s %v", o, err)
	t1 := time.Now()
	out, err := l.SRX2.Ask(ctx, "request system reboot", regexp.MustCompile(`\[yes,no\] \(no\) `), "yes")
	t.Logf("%q %v", out, err)
	werr := l.SRX2.Guest().Wait(ctx)
	t.Logf("srx2 exited after %v: %v\n%s", time.Since(t1), werr, l.SRX2.Guest().Output())
	if _, err := l.QEMU.Restart(ctx, "srx2"); err != nil {
		t.Fatal(err)
	}
	if err := l.SRX2.Login(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("srx2 logged in after %v", time.Since(t1))
	for range 120 {
		o1, _ := l.SRX1.Run(ctx, "show security ike security-associations")
		o2, _ := l.SRX2.Run(ctx, "show security ike security-associations")
		po, perr := l.QEMU.Exec(ctx, "host1", "ping", "-c", "1", "-W", "1", "10.100.22.10")
		t.Logf("%v\n%s%s ping %v", time.Since(t1), o1, o2, perr)
		_ = po
		if strings.Contains(o1, " UP ") && strings.Contains(o2, " UP ") && perr == nil {
			break
		}
		time.Sleep(time.Second)
	}
	for _, r := range l.Routers() {
		out, err := r.Transcript(ctx, "show security ike security-associations", "show security ipsec security-associations")
		t.Logf("%s\n%v", out, err)
	}
	t.Logf("raw srx2:\n%s", l.SRX2.Guest().Output())
	t.Logf("raw srx1:\n%s", l.SRX1.Guest().Output())
	t.Logf("total %v", time.Since(t0))
}
