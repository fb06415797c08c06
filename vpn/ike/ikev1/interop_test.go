package ikev1

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

const (
	charonPath  = "/usr/lib/ipsec/charon"
	swanctlPath = "/usr/sbin/swanctl"
)

// strongSwan is one charon in its own network namespace, with userspace ESP
// (kernel-libipsec), which makes it use NAT traversal on port 4500.
type strongSwan struct {
	t   *testing.T
	ns  string
	dir string
	cmd *exec.Cmd
}

func (s *strongSwan) swanctl(args ...string) (string, error) {
	cmd := exec.Command(swanctlPath, append(args, "--uri", "unix://"+filepath.Join(s.dir, "charon.vici"))...)
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(s.dir, "strongswan.conf"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *strongSwan) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "charon.log"))
	return string(b)
}

const strongswanConf = `charon {
  load = random nonce openssl aes des sha1 sha2 hmac gcm gmp curve25519 kernel-libipsec kernel-netlink socket-default vici
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
    version = 1
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    proposals = %[1]s
    dpd_delay = 5s
    local {
      auth = psk
      id = 192.0.2.2
    }
    remote {
      auth = psk
      id = 192.0.2.1
    }
    children {
      net {
        local_ts = 10.100.22.0/24
        remote_ts = 10.100.11.0/24
        esp_proposals = %[2]s
      }
    }
  }
}
secrets {
  ike-1 {
    id-1 = 192.0.2.1
    id-2 = 192.0.2.2
    secret = "juniper123"
  }
}
`

// startStrongSwan wires a veth from the test's namespace (192.0.2.1) to a new
// named namespace (192.0.2.2) running charon. The caller's thread must be in
// the test's namespace, h a handle into it.
func startStrongSwan(t *testing.T, h *netlink.Handle, ike, esp string) *strongSwan {
	t.Helper()
	s := &strongSwan{t: t, ns: fmt.Sprintf("palss-%d-%d", os.Getpid(), rand.Uint32()), dir: t.TempDir()}
	if out, err := exec.Command("ip", "netns", "add", s.ns).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", s.ns).Run() })
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "pal0"}, PeerName: "pal1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	peerNS, err := netns.GetFromName(s.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer peerNS.Close()
	pal1, _ := h.LinkByName("pal1")
	if err := h.LinkSetNsFd(pal1, int(peerNS)); err != nil {
		t.Fatal(err)
	}
	pal0, _ := h.LinkByName("pal0")
	addr, _ := netlink.ParseAddr("192.0.2.1/24")
	if err := h.AddrAdd(pal0, addr); err != nil {
		t.Fatal(err)
	}
	h.LinkSetUp(pal0)
	for _, args := range [][]string{
		{"-n", s.ns, "link", "set", "lo", "up"},
		{"-n", s.ns, "addr", "add", "192.0.2.2/24", "dev", "pal1"},
		{"-n", s.ns, "link", "set", "pal1", "up"},
		// kernel-libipsec routes policy traffic into its TUN device and needs
		// a route and a source address for the protected network.
		{"-n", s.ns, "addr", "add", "10.100.22.1/24", "dev", "lo"},
		{"-n", s.ns, "route", "add", "default", "via", "192.0.2.1"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	os.MkdirAll(filepath.Join(s.dir, "run"), 0o755)
	os.WriteFile(filepath.Join(s.dir, "strongswan.conf"), []byte(fmt.Sprintf(strongswanConf, s.dir)), 0o644)
	os.WriteFile(filepath.Join(s.dir, "swanctl.conf"), []byte(fmt.Sprintf(swanctlConf, ike, esp)), 0o644)
	s.cmd = exec.Command("ip", "netns", "exec", s.ns, "sh", "-c", "mount --bind "+filepath.Join(s.dir, "run")+" /run && exec "+charonPath)
	s.cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(s.dir, "strongswan.conf"))
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		if t.Failed() || os.Getenv("PAL_SHOW_CHARON") != "" {
			t.Logf("charon log:\n%s", s.log())
		}
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(s.dir, "charon.vici")); err == nil {
			break
		}
		if i > 100 {
			t.Fatalf("charon did not start:\n%s", s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := s.swanctl("--load-all", "--file", filepath.Join(s.dir, "swanctl.conf")); err != nil {
		t.Fatalf("swanctl --load-all: %v\n%s", err, out)
	}
	return s
}

// TestStrongSwanInterop negotiates IKEv1 main mode + quick mode with a real
// strongSwan, first as responder, then as initiator. SAs go to a recording
// installer, since the host kernel has no ESP.
func TestStrongSwanInterop(t *testing.T) {
	if _, err := os.Stat(charonPath); err != nil {
		t.Skip("strongSwan (charon) is not installed")
	}
	for _, tc := range []struct{ name, ike, esp string }{
		{"aes128-sha256-modp2048", "aes128-sha256-modp2048", "aes128-sha1"},
		{"aes256-sha384-ecp384 gcm pfs", "aes256-sha384-ecp384", "aes256gcm16-ecp256"},
		{"3des-sha1-modp1024", "3des-sha1-modp1024", "aes256-sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) { interop(t, tc.ike, tc.esp) })
	}
}

func interop(t *testing.T, ikeProp, espProp string) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Skip(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Skipf("no network namespace (needs root): %v", err)
	}
	defer ns.Close()
	defer netns.Set(orig)
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, _ := h.LinkByName("lo")
	h.LinkSetUp(lo)
	ss := startStrongSwan(t, h, ikeProp, espProp)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	local := netip.MustParseAddr("192.0.2.1")
	tr, err := ListenUDP(ctx, local, 500, 4500)
	if err != nil {
		t.Fatal(err)
	}
	cfg := peerCfg("SS", local, netip.MustParseAddr("192.0.2.2"), netA, netB, false)
	cfg.Proposals, cfg.Children[0].Proposals, cfg.Children[0].PFS = proposalsFor(t, ikeProp, espProp)
	inst := NewRecordingInstaller()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t, "palisade"}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := NewEngine(Config{}, Env{Now: time.Now, Rand: cryptoRand{}, Log: log, Installer: inst}, tr)
	e.SetPeers([]PeerConfig{cfg})
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx, ticker.C) }()
	defer func() { stop(); <-done; tr.Close() }()

	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s\npalisade log:\n%s", what, logs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// strongSwan initiates; we respond.
	if out, err := ss.swanctl("--initiate", "--child", "net", "--timeout", "20"); err != nil {
		t.Fatalf("swanctl --initiate: %v\n%s\npalisade log:\n%s", err, out, logs)
	}
	wait("our SA as responder", func() bool { return len(inst.Installed()) == 1 })
	c := inst.Installed()[0]
	checkKeys(t, ss, c)
	if c.EncapLocal != 4500 {
		t.Errorf("kernel-libipsec forces NAT-T, but the SA has encap port %d", c.EncapLocal)
	}
	out, _ := ss.swanctl("--list-sas")
	if !strings.Contains(out, "ESTABLISHED") || !strings.Contains(out, "INSTALLED") || !strings.Contains(out, fmt.Sprintf("%08x", c.SPIIn)) {
		t.Errorf("strongSwan does not list our SA %08x:\n%s", c.SPIIn, out)
	}

	// strongSwan deletes; we follow.
	if out, err := ss.swanctl("--terminate", "--ike", "pal", "--timeout", "10"); err != nil {
		t.Fatalf("swanctl --terminate: %v\n%s", err, out)
	}
	wait("the delete from strongSwan", func() bool { return len(inst.Installed()) == 0 })

	// We initiate.
	cfg.Children[0].Immediately = true
	if err := e.Do(ctx, func(e *Engine) { e.SetPeers(nil); e.SetPeers([]PeerConfig{cfg}) }); err != nil {
		t.Fatal(err)
	}
	wait("our SA as initiator", func() bool { return len(inst.Installed()) == 1 })
	c = inst.Installed()[0]
	checkKeys(t, ss, c)
	wait("strongSwan's SA", func() bool {
		out, _ = ss.swanctl("--list-sas")
		return strings.Contains(out, "INSTALLED") && strings.Contains(out, fmt.Sprintf("%08x", c.SPIIn))
	})
	// Our shutdown deletes the SAs at strongSwan too.
	stop()
	<-done
	wait("strongSwan to drop the SAs", func() bool {
		out, _ = ss.swanctl("--list-sas")
		return !strings.Contains(out, "ESTABLISHED")
	})
	done <- nil
}

// checkKeys finds our four ESP keys in charon's key dump (chd level 4),
// which proves both sides derived the same KEYMAT.
func checkKeys(t *testing.T, ss *strongSwan, c ChildSA) {
	t.Helper()
	var missing []string
	for range 40 { // charon may install (and log) a moment after us
		log := ss.log()
		missing = nil
		for name, k := range map[string][]byte{"enc in": c.EncIn, "enc out": c.EncOut, "auth in": c.AuthIn, "auth out": c.AuthOut} {
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

type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) { return cryptoRandRead(p) }
