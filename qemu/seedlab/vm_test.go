package seedlab

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/qemu"
)

// startLab boots the lab for a test, or skips when this machine cannot, and
// closes it (with the consoles' tails on failure) when the test ends. mod
// adjusts the options (nil: the seed as it is).
func startLab(t *testing.T, mod func(Options) (Options, error)) *Lab {
	t.Helper()
	if os.Getenv("PALISADE_VM") != "1" {
		t.Skip("VM test: set PALISADE_VM=1 (make test-vm) to boot the seed lab in QEMU")
	}
	b, err := board.Lookup("qemu-x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath(b.QEMU.Binary); err != nil {
		t.Skipf("VM test: %s not installed (make deps)", b.QEMU.Binary)
	}
	if os.Geteuid() != 0 {
		t.Skip("VM test: the seed lab needs root for its network namespaces and TAP devices")
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("VM test: the seed lab's checks need tcpdump (make deps)")
	}
	k, i := qemu.ImagePaths("../../out", b.Name)
	for _, f := range []string{k, i} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s: build the image first (make image BOARD=%s): %v", f, b.Name, err)
		}
	}
	o := Options{Board: b, Kernel: k, Initramfs: i, Dir: t.TempDir(), GuestTimeout: 10 * time.Minute}
	if mod != nil {
		if o, err = mod(o); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lab, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range lab.Routers() {
				t.Logf("console of %s (log %s):\n%s", r.Host, r.Guest().LogFile(), tailLines(cleanConsole(r.Guest().Output()), 60))
			}
		}
		if err := lab.Close(); err != nil {
			t.Errorf("closing the lab: %v", err)
		}
	})
	return lab
}

// runChecks runs every check, logging passes and failing the test for each
// failure with its evidence.
func runChecks(ctx context.Context, t *testing.T, lab *Lab) {
	t.Helper()
	for _, r := range lab.RunChecks(ctx) {
		if r.Pass {
			t.Logf("%v [%v]", r, r.Took.Round(100*time.Millisecond))
			continue
		}
		t.Errorf("%v\n%s", r, r.Evidence)
	}
}

// TestVMSeedLab boots the seed's two-site lab from the image `make image` built (out/qemu-x86_64) and
// asserts every Verification step of the example; then it reboots SRX2 and measures how long the tunnel
// takes to come back by itself. It runs with PALISADE_VM=1 (make test-vm), as root.
func TestVMSeedLab(t *testing.T) {
	start := time.Now()
	lab := startLab(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t.Logf("both routers at the CLI prompt after %v", time.Since(start).Round(100*time.Millisecond))
	took, err := lab.WaitTunnel(ctx, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("IKE SA UP on both %v after login (%v after start)", took.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))

	runChecks(ctx, t, lab)
	labTime := time.Since(start)
	t.Logf("the lab (boot, tunnel, all checks) took %v", labTime.Round(100*time.Millisecond))

	t.Run("SRX2 reboots", func(t *testing.T) {
		rec, err := lab.Reboot(ctx, lab.SRX2, 4*time.Minute)
		if rec.LostAnswers > 0 {
			t.Errorf("CLI: the answer \"yes\" to \"Reboot the system ?\" was typed after the question appeared and not acted on, %d times (firmware/cli: input typed while a command runs goes to the Ctrl-C watcher, not to the question):\n%s",
				rec.LostAnswers, rec.Evidence)
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, rec.Evidence)
		}
		t.Logf("%v", rec)
		t.Logf("%s", rec.Evidence)
		// The tunnel is back by itself; everything else must be too.
		for _, c := range Checks()[:4] {
			if r := c.Run(ctx, lab); !r.Pass {
				t.Errorf("after the reboot: check %s (%s): %s\n%s", c.ID, c.Name, r.Summary, r.Evidence)
			}
		}
	})
	t.Logf("lab %v; with the reboot scenario %v", labTime.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
}

// TestVMSeedLabIKEv2: the same lab and checks with both gateways on
// `version v2-only` (issue 8): Palisade runs policy-based VPNs over IKEv2 with
// the same configuration and XFRM plumbing.
func TestVMSeedLabIKEv2(t *testing.T) {
	start := time.Now()
	lab := startLab(t, IKEv2Options)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := lab.WaitTunnel(ctx, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	runChecks(ctx, t, lab)
	t.Logf("the IKEv2 lab (boot, tunnel, all checks) took %v", time.Since(start).Round(100*time.Millisecond))
}
