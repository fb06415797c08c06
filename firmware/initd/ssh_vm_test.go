package initd

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/crypto/ssh"

	"github.com/palisade/palisade/qemu"
	"github.com/palisade/palisade/tools/cfgdisk"
)

// dialFrom opens a TCP connection from inside a network namespace; the
// socket stays in that namespace after the thread leaves it.
func dialFrom(ns, addr string, timeout time.Duration) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// The thread ends with the goroutine, never returning to the pool
		// in the wrong namespace.
		h, err := netns.GetFromName(ns)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			ch <- result{nil, err}
			return
		}
		c, err := net.DialTimeout("tcp", addr, timeout)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// TestVMSSHByZone: with `system services ssh`, root logs in over SSH from
// the trust zone (host-inbound all); from untrust (ike and ping only) the
// connection gets no answer.
func TestVMSSHByZone(t *testing.T) {
	b, k, i := vmBoard(t, "qemu-x86_64")
	c := seedConfig(t, "srx1.set")
	for _, l := range []string{"system services ssh", "system root-authentication plain-text-password lab-pass-1"} {
		if err := c.Set(strings.Fields(l)); err != nil {
			t.Fatal(err)
		}
	}
	disk := filepath.Join(t.TempDir(), "ssh.img")
	if err := cfgdisk.Build(c, disk, time.Now()); err != nil {
		t.Fatal(err)
	}
	lab := qemu.StartT(t, qemu.Topology{
		Boxes: []qemu.Box{{Name: "srx1", Board: b, Kernel: k, Initramfs: i, ConfigDisk: disk, NICs: 2, Timeout: 5 * time.Minute}},
		HostNets: []qemu.HostNet{
			{Netns: "host1", To: qemu.Endpoint{Box: "srx1", Port: 0}, Addrs: []string{"10.100.11.10/24"}, Gateway: "10.100.11.1"},
			{Netns: "inet", To: qemu.Endpoint{Box: "srx1", Port: 1}, Addrs: []string{"172.16.13.2/24"}},
		},
	})
	expect(t, lab.Guest("srx1"), 3*time.Minute, `configuration applied: host SRX1`)
	cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.Password("lab-pass-1")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 20 * time.Second}

	// The SSH service starts right after the commit, and an emulated guest
	// on a busy host may be slow to answer ARP, SYN or the SSH banner: each
	// attempt is bounded (ClientConfig.Timeout covers only the dial, so the
	// connection gets a deadline too: a guest that accepts and never answers
	// would otherwise hang the test) and retried for up to 2 minutes, each
	// failure logged.
	var out string
	var err error
	for deadline := time.Now().Add(2 * time.Minute); ; {
		out, err = sshRun(lab.Netns("host1"), "10.100.11.1:22", cfg, "show security zones")
		if err == nil || time.Now().After(deadline) {
			break
		}
		t.Logf("ssh from trust: %v (retrying)", err)
		time.Sleep(time.Second)
	}
	if err != nil {
		t.Fatalf("ssh from trust: %v", err)
	}
	if !strings.Contains(out, "Security zone: trust") {
		t.Errorf("show security zones over ssh:\n%s", out)
	}

	if c, err := dialFrom(lab.Netns("inet"), "172.16.13.1:22", 5*time.Second); err == nil {
		c.Close()
		t.Fatal("ssh from untrust connected; the zone does not allow ssh")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("from untrust: got %v, want a timeout (packets dropped, not refused)", err)
	}
}

// sshRun logs in from namespace ns and runs one command, within 30 s.
func sshRun(ns, addr string, cfg *ssh.ClientConfig, cmd string) (string, error) {
	conn, err := dialFrom(ns, addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", fmt.Errorf("session: %w", err)
	}
	var out bytes.Buffer
	sess.Stdout = &out
	if err := sess.Run(cmd); err != nil {
		return out.String(), fmt.Errorf("exec %q: %w", cmd, err)
	}
	return out.String(), nil
}
