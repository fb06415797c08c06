package swtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// Peer is charon's side of a data-path test: charon runs in an existing
// network namespace (made by the test, e.g. a qemu.HostNet) and carries the
// traffic itself through kernel-libipsec's TUN device, so its routes into
// that device are installed (install_routes), unlike Start's IKE-only setup.
type Peer struct {
	// Netns is the real name of the namespace, for `ip netns exec`.
	Netns string
	// Version is the IKE version, 1 or 2; IKE and ESP are strongSwan
	// proposal strings.
	Version  int
	IKE, ESP string
	// Local is charon's address, Remote ours; LocalTS and RemoteTS are the
	// child's selectors from charon's side.
	Local, Remote     string
	LocalTS, RemoteTS string
	// PSK is the pre-shared key; "" means PSK.
	PSK string
	// Extra is added to the connection and ChildExtra to its child "net",
	// e.g. "rekey_time = 45s".
	Extra, ChildExtra string
}

const peerStrongswanConf = `charon {
  load = random nonce openssl aes des sha1 sha2 hmac gcm chapoly gmp curve25519 kdf kernel-libipsec kernel-netlink socket-default vici
  install_routes = yes
  retransmit_timeout = 1.0
  filelog {
    log {
      path = %[1]s/charon.log
      time_format = %%H:%%M:%%S
      flush_line = yes
      default = 1
      ike = 2
      cfg = 1
      chd = 2
      esp = 1
    }
  }
  plugins {
    vici { socket = unix://%[1]s/charon.vici }
  }
}
`

const peerSwanctlConf = `connections {
  pal {
    version = %[1]d
    local_addrs = %[2]s
    remote_addrs = %[3]s
    proposals = %[4]s
    dpd_delay = 10s
    mobike = no
    %[8]s
    local {
      auth = psk
      id = %[2]s
    }
    remote {
      auth = psk
      id = %[3]s
    }
    children {
      net {
        local_ts = %[5]s
        remote_ts = %[6]s
        esp_proposals = %[7]s
        %[9]s
      }
    }
  }
}
secrets {
  ike-1 {
    id-1 = %[2]s
    id-2 = %[3]s
    secret = "%[10]s"
  }
}
`

// StartIn runs charon in p.Netns with the connection "pal" and its child
// "net" loaded (nothing initiated). The test's cleanup stops it and logs
// its log if the test failed.
func StartIn(t *testing.T, p Peer) *Charon {
	t.Helper()
	if p.PSK == "" {
		p.PSK = PSK
	}
	c := &Charon{t: t, NS: p.Netns, Dir: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(c.Dir, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"strongswan.conf": fmt.Sprintf(peerStrongswanConf, c.Dir),
		"swanctl.conf": fmt.Sprintf(peerSwanctlConf, p.Version, p.Local, p.Remote, p.IKE,
			p.LocalTS, p.RemoteTS, p.ESP, p.Extra, p.ChildExtra, p.PSK),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(c.Dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The pid file is fixed at /run/charon.pid: each charon gets its own
	// /run, in the mount namespace `ip netns exec` makes.
	c.cmd = exec.Command("ip", "netns", "exec", c.NS, "sh", "-c", "mount --bind "+filepath.Join(c.Dir, "run")+" /run && exec "+CharonPath)
	c.cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(c.Dir, "strongswan.conf"))
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		c.cmd.Wait()
		if t.Failed() || os.Getenv("PAL_SHOW_CHARON") != "" {
			t.Logf("charon log (%s):\n%s", c.Dir, tail(c.Log(), 12000))
		}
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(c.Dir, "charon.vici")); err == nil {
			break
		}
		if i > 200 {
			t.Fatalf("charon did not start:\n%s", c.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := c.Swanctl("--load-all", "--file", filepath.Join(c.Dir, "swanctl.conf")); err != nil {
		t.Fatalf("swanctl --load-all: %v\n%s", err, out)
	}
	return c
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// SwanctlCtx runs swanctl against this charon, bounded by ctx.
func (c *Charon) SwanctlCtx(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, SwanctlPath, append(args, "--uri", "unix://"+filepath.Join(c.Dir, "charon.vici"))...)
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(c.Dir, "strongswan.conf"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ChildSPIs are the SPIs of one installed Child SA as `swanctl --list-sas`
// shows them: In is charon's inbound SPI (our outbound), Out its outbound.
type ChildSPIs struct {
	In, Out string
}

var (
	childSPIsRE = regexp.MustCompile(`INSTALLED, TUNNEL[^\n]*\n\s+installed[^\n]*\n\s+in\s+([0-9a-f]{8})[^\n]*\n\s+out\s+([0-9a-f]{8})`)
	ikeSPIsRE   = regexp.MustCompile(`(?m)^\S+: #\d+, ESTABLISHED, IKEv[12], ([0-9a-f]{16})_i\*? ([0-9a-f]{16})_r`)
)

// InstalledChildren parses `swanctl --list-sas` output: the SPIs of every
// installed Child SA.
func InstalledChildren(listSAs string) []ChildSPIs {
	var out []ChildSPIs
	for _, m := range childSPIsRE.FindAllStringSubmatch(listSAs, -1) {
		out = append(out, ChildSPIs{In: m[1], Out: m[2]})
	}
	return out
}

// EstablishedIKE parses `swanctl --list-sas` output: the initiator and
// responder SPIs (IKEv1 cookies) of every ESTABLISHED IKE SA, as
// "SPIi_SPIr".
func EstablishedIKE(listSAs string) []string {
	var out []string
	for _, m := range ikeSPIsRE.FindAllStringSubmatch(listSAs, -1) {
		out = append(out, m[1]+"_"+m[2])
	}
	return out
}
