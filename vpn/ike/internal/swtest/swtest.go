// Package swtest runs strongSwan's charon as a real IKE peer for the
// interop tests of ikev1 and ikev2: one charon per test in its own network
// namespace, wired to the test's namespace over a veth, with userspace ESP
// (kernel-libipsec, which makes charon use NAT traversal on port 4500,
// since the host kernel has no ESP).
//
// Only tests import it.
package swtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/drivers/netnstest"
)

const (
	CharonPath  = "/usr/lib/ipsec/charon"
	SwanctlPath = "/usr/sbin/swanctl"
)

// Addresses of the wire: the test's end and charon's end, and the networks
// behind them that the tunnel's selectors name.
const (
	LocalAddr  = "192.0.2.1"
	RemoteAddr = "192.0.2.2"
	LocalNet   = "10.100.11.0/24"
	RemoteNet  = "10.100.22.0/24"
	PSK        = "juniper123"
)

// Options describe charon's connection "pal" with its child "net".
type Options struct {
	Version  int    // IKE version, 1 or 2
	IKE, ESP string // strongSwan proposal strings
	// Extra is added to the connection (e.g. "rekey_time = 0").
	Extra string
}

// Charon is one running charon.
type Charon struct {
	t   *testing.T
	NS  string
	Dir string
	cmd *exec.Cmd
}

// Swanctl runs swanctl against this charon.
func (c *Charon) Swanctl(args ...string) (string, error) {
	cmd := exec.Command(SwanctlPath, append(args, "--uri", "unix://"+filepath.Join(c.Dir, "charon.vici"))...)
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(c.Dir, "strongswan.conf"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Log returns charon's log so far.
func (c *Charon) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "charon.log"))
	return string(b)
}

const strongswanConf = `charon {
  load = random nonce openssl aes des sha1 sha2 hmac gcm chapoly gmp curve25519 kdf kernel-libipsec kernel-netlink socket-default vici
  install_routes = no
  retransmit_timeout = 1.0
  filelog {
    log {
      path = %[1]s/charon.log
      flush_line = yes
      default = 1
      ike = 2
      cfg = 2
      chd = 4
    }
  }
  plugins {
    vici { socket = unix://%[1]s/charon.vici }
  }
}
`

const swanctlConf = `connections {
  pal {
    version = %[1]d
    local_addrs = ` + RemoteAddr + `
    remote_addrs = ` + LocalAddr + `
    proposals = %[2]s
    dpd_delay = 5s
    mobike = no
    %[4]s
    local {
      auth = psk
      id = ` + RemoteAddr + `
    }
    remote {
      auth = psk
      id = ` + LocalAddr + `
    }
    children {
      net {
        local_ts = ` + RemoteNet + `
        remote_ts = ` + LocalNet + `
        esp_proposals = %[3]s
      }
    }
  }
}
secrets {
  ike-1 {
    id-1 = ` + LocalAddr + `
    id-2 = ` + RemoteAddr + `
    secret = "` + PSK + `"
  }
}
`

// Skip skips the test unless charon is installed.
func Skip(t *testing.T) {
	if _, err := os.Stat(CharonPath); err != nil {
		t.Skip("strongSwan (charon) is not installed")
	}
}

// EnterNamespace locks the goroutine to its thread, moves the thread into
// a fresh network namespace with lo up, and returns a handle into it; the
// cleanup moves it back. It skips the test without root.
func EnterNamespace(t *testing.T) *netlink.Handle {
	ns := netnstest.New(t)
	ns.Enter(t)
	ns.LinkUp(t, "lo")
	return ns.Handle
}

// Start wires a veth from the test's namespace (LocalAddr) to a new named
// namespace (RemoteAddr) running charon with the connection of o. The
// caller's thread must be in the test's namespace, h a handle into it.
func Start(t *testing.T, h *netlink.Handle, o Options) *Charon {
	t.Helper()
	peerNS := netnstest.New(t)
	c := &Charon{t: t, NS: peerNS.Name, Dir: t.TempDir()}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "pal0"}, PeerName: "pal1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	pal1, _ := h.LinkByName("pal1")
	if err := h.LinkSetNsFd(pal1, peerNS.Fd()); err != nil {
		t.Fatal(err)
	}
	pal0, _ := h.LinkByName("pal0")
	addr, _ := netlink.ParseAddr(LocalAddr + "/24")
	if err := h.AddrAdd(pal0, addr); err != nil {
		t.Fatal(err)
	}
	h.LinkSetUp(pal0)
	for _, args := range [][]string{
		{"-n", c.NS, "link", "set", "lo", "up"},
		{"-n", c.NS, "addr", "add", RemoteAddr + "/24", "dev", "pal1"},
		{"-n", c.NS, "link", "set", "pal1", "up"},
		// kernel-libipsec routes policy traffic into its TUN device and needs
		// a route and a source address for the protected network.
		{"-n", c.NS, "addr", "add", strings.Replace(RemoteNet, ".0/", ".1/", 1), "dev", "lo"},
		{"-n", c.NS, "route", "add", "default", "via", LocalAddr},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	os.MkdirAll(filepath.Join(c.Dir, "run"), 0o755)
	os.WriteFile(filepath.Join(c.Dir, "strongswan.conf"), []byte(fmt.Sprintf(strongswanConf, c.Dir)), 0o644)
	os.WriteFile(filepath.Join(c.Dir, "swanctl.conf"), []byte(fmt.Sprintf(swanctlConf, o.Version, o.IKE, o.ESP, o.Extra)), 0o644)
	// The pid file is fixed at /run/charon.pid: each charon gets its own /run.
	c.cmd = exec.Command("ip", "netns", "exec", c.NS, "sh", "-c", "mount --bind "+filepath.Join(c.Dir, "run")+" /run && exec "+CharonPath)
	c.cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(c.Dir, "strongswan.conf"))
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		c.cmd.Wait()
		if t.Failed() || os.Getenv("PAL_SHOW_CHARON") != "" {
			t.Logf("charon log:\n%s", c.Log())
		}
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(c.Dir, "charon.vici")); err == nil {
			break
		}
		if i > 100 {
			t.Fatalf("charon did not start:\n%s", c.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := c.Swanctl("--load-all", "--file", filepath.Join(c.Dir, "swanctl.conf")); err != nil {
		t.Fatalf("swanctl --load-all: %v\n%s", err, out)
	}
	return c
}

// CheckKeys finds keys (by name, for the message) in charon's key dump
// (chd level 4), which proves both sides derived the same keying material.
func (c *Charon) CheckKeys(t *testing.T, keys map[string][]byte) {
	t.Helper()
	var missing []string
	for range 40 { // charon may install (and log) a moment after us
		log := c.Log()
		missing = nil
		for name, k := range keys {
			if len(k) == 0 {
				continue
			}
			if len(k) > 16 {
				k = k[:16]
			}
			if want := fmt.Sprintf("% X", k); !strings.Contains(log, want) {
				missing = append(missing, fmt.Sprintf("%s key %s", name, want))
			}
		}
		if len(missing) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("not among strongSwan's keys: %v", missing)
}

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(t *testing.T, deadline time.Time, what string, cond func() bool, log func() string) {
	t.Helper()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\nour log:\n%s", what, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
