package initd

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/qemu"
	"github.com/palisade/palisade/tools/cfgdisk"
)

// cmd types a line at a prompt and returns the output up to the next
// prompt ending in suffix (">" operational, "#" configuration).
func cmd(t *testing.T, g *qemu.Guest, host, suffix, line string) string {
	t.Helper()
	g.Send(line)
	return expect(t, g, time.Minute, regexp.QuoteMeta("root@"+host+suffix+" "))
}

func bootBox(t *testing.T, disk string, timeout time.Duration) *qemu.Guest {
	t.Helper()
	b, k, i := vmBoard(t, "qemu-x86_64")
	lab := qemu.StartT(t, qemu.Topology{Boxes: []qemu.Box{{Name: "box", Board: b, Kernel: k, Initramfs: i, ConfigDisk: disk, NICs: 2, Timeout: timeout}}})
	return lab.Guest("box")
}

// TestVMConsole drives the serial console as an SRX user would: paste the
// seed, commit, look, survive a reboot, and have an unconfirmed commit roll
// back by itself.
func TestVMConsole(t *testing.T) {
	vmBoard(t, "qemu-x86_64")
	disk := filepath.Join(t.TempDir(), "empty.img")
	if err := cfgdisk.Build(&config.Config{}, disk, time.Now()); err != nil {
		t.Fatal(err)
	}
	seed, err := os.ReadFile("testdata/srx1.set")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("paste and commit", func(t *testing.T) {
		g := bootBox(t, disk, 6*time.Minute)
		login(t, g, "palisade")
		cmd(t, g, "palisade", "#", "configure")
		for _, l := range strings.Split(string(seed), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				cmd(t, g, "palisade", "#", l)
			}
		}
		out := cmd(t, g, "palisade", "#", "set security zones security-zone trust interfaces xe-1/0/0.0")
		if !strings.Contains(out, "xe-1/0/0.0") || !strings.Contains(out, "error") {
			t.Errorf("a bad set line should give an error naming it:\n%s", out)
		}
		out = cmd(t, g, "palisade", "#", "show | compare")
		if strings.Contains(out, "xe-1/0/0") {
			t.Errorf("the failed set changed the candidate:\n%s", out)
		}
		g.Send("commit and-quit")
		expect(t, g, 2*time.Minute, `commit complete`)
		expect(t, g, time.Minute, regexp.QuoteMeta("root@SRX1> "))
		out = cmd(t, g, "SRX1", ">", "show security policies")
		for _, p := range []string{"Policy: VPN-OUT", "Policy: default-permit", "Policy: VPN-IN"} {
			if !strings.Contains(out, p) {
				t.Errorf("show security policies lacks %s:\n%s", p, out)
			}
		}
		g.Send("request system reboot")
		expect(t, g, 30*time.Second, `\[yes,no\]`)
		g.Send("yes")
		select {
		case <-g.Exited():
		case <-time.After(2 * time.Minute):
			t.Fatal("the guest did not reboot (QEMU runs with -no-reboot, so it should have exited)")
		}
	})

	t.Run("after reboot", func(t *testing.T) {
		g := bootBox(t, disk, 6*time.Minute)
		expect(t, g, 3*time.Minute, `configuration applied: host SRX1`)
		login(t, g, "SRX1")
		out := cmd(t, g, "SRX1", ">", "show configuration | display set | match policies")
		if !strings.Contains(out, "policy VPN-IN then permit tunnel ipsec-vpn VPN-to-Host2") {
			t.Errorf("the committed configuration did not survive the reboot:\n%s", out)
		}
		cmd(t, g, "SRX1", "#", "configure")
		cmd(t, g, "SRX1", "#", "set system host-name TRIAL")
		g.Send("commit confirmed 1")
		expect(t, g, time.Minute, `commit confirmed will be automatically rolled back in 1 minutes? unless confirmed`)
		expect(t, g, time.Minute, regexp.QuoteMeta("root@TRIAL# "))
		start := time.Now()
		expect(t, g, 3*time.Minute, `Commit was not confirmed; automatic rollback complete`)
		t.Logf("rolled back %.0f s after the confirmed commit", time.Since(start).Seconds())
		// The prompt names the host of the running configuration again.
		cmd(t, g, "SRX1", ">", "exit")
		out = cmd(t, g, "SRX1", ">", "show configuration system")
		if !strings.Contains(out, "host-name SRX1") {
			t.Errorf("after the rollback the host name is not SRX1:\n%s", out)
		}
	})
}

// TestVMPowerLoss kills the guest at random moments while it commits, again
// and again; every boot after that must run either the configuration before
// the interrupted commit or the one after, never a broken one.
func TestVMPowerLoss(t *testing.T) {
	vmBoard(t, "qemu-x86_64")
	disk := filepath.Join(t.TempDir(), "pl.img")
	c, _, err := config.Parse("h0", "set system host-name h0\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfgdisk.Build(c, disk, time.Now()); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	committed := 0 // the last commit the console confirmed
	host := "h0"
	// boot starts the guest and checks it runs the last confirmed
	// configuration or the one whose commit was cut.
	boot := func(round int) *qemu.Guest {
		g := bootBox(t, disk, 5*time.Minute)
		// Up to the end of the line: the serial console may deliver "h1"
		// of "h13" first, and \d+ would take the prefix.
		out := expect(t, g, 3*time.Minute, `configuration applied: host h(\d+)\r?\n`)
		if strings.Contains(out, "not usable") {
			t.Fatalf("round %d: a stored configuration was broken:\n%s", round, out)
		}
		m := regexp.MustCompile(`configuration applied: host h(\d+)\r?\n`).FindStringSubmatch(out)
		got, _ := strconv.Atoi(m[1])
		if got != committed && got != committed+1 {
			t.Fatalf("round %d: booted with h%d, want h%d or h%d", round, got, committed, committed+1)
		}
		committed, host = got, "h"+m[1]
		return g
	}
	attempts := 0
	for round := 0; attempts < 20; round++ {
		g := boot(round)
		login(t, g, host)
		cmd(t, g, host, "#", "configure")
		// Up to 3 commits; the last one is cut by a kill after a random delay.
		n := 1 + rng.IntN(3)
		for i := range n {
			attempts++
			next := "h" + strconv.Itoa(committed+1)
			cmd(t, g, host, "#", "set system host-name "+next)
			g.Send("commit")
			if i == n-1 {
				time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
				break
			}
			expect(t, g, time.Minute, `commit complete`)
			committed, host = committed+1, next
			expect(t, g, time.Minute, regexp.QuoteMeta("root@"+host+"# "))
		}
		// Power off: QEMU is killed with whatever the guest had written.
		g.Kill()
		t.Logf("round %d: killed during commit %d (attempt %d)", round, committed+1, attempts)
	}
	boot(-1).Kill()
}
