package ikev1

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/internal/iketest"
	"github.com/palisade/palisade/vpn/ike/internal/swtest"
	"github.com/palisade/palisade/vpn/ike/seam"
)

// TestStrongSwanInterop negotiates IKEv1 main mode + quick mode with a real
// strongSwan, first as responder, then as initiator. SAs go to a recording
// installer, since the host kernel has no ESP.
func TestStrongSwanInterop(t *testing.T) {
	swtest.Skip(t)
	for _, tc := range []struct{ name, ike, esp string }{
		{"aes128-sha256-modp2048", "aes128-sha256-modp2048", "aes128-sha1"},
		{"aes256-sha384-ecp384 gcm pfs", "aes256-sha384-ecp384", "aes256gcm16-ecp256"},
		{"3des-sha1-modp1024", "3des-sha1-modp1024", "aes256-sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) { interop(t, tc.ike, tc.esp) })
	}
}

func interop(t *testing.T, ikeProp, espProp string) {
	h := swtest.EnterNamespace(t)
	ss := swtest.Start(t, h, swtest.Options{Version: 1, IKE: ikeProp, ESP: espProp})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	local := netip.MustParseAddr("192.0.2.1")
	tr, err := seam.ListenUDP(ctx, local, 500, 4500)
	if err != nil {
		t.Fatal(err)
	}
	cfg := peerCfg("SS", local, netip.MustParseAddr("192.0.2.2"), netA, netB, false)
	cfg.Proposals, cfg.Children[0].Proposals, cfg.Children[0].PFS = proposalsFor(t, ikeProp, espProp)
	inst := seam.NewRecordingInstaller()
	logs := &iketest.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t, "palisade"}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := NewEngine(Config{}, seam.Env{Now: time.Now, Rand: cryptoRand{}, Log: log, Installer: inst}, tr)
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
	if out, err := ss.Swanctl("--initiate", "--child", "net", "--timeout", "20"); err != nil {
		t.Fatalf("swanctl --initiate: %v\n%s\npalisade log:\n%s", err, out, logs)
	}
	wait("our SA as responder", func() bool { return len(inst.Installed()) == 1 })
	c := inst.Installed()[0]
	checkKeys(t, ss, c)
	if c.EncapLocal != 4500 {
		t.Errorf("kernel-libipsec forces NAT-T, but the SA has encap port %d", c.EncapLocal)
	}
	out, _ := ss.Swanctl("--list-sas")
	if !strings.Contains(out, "ESTABLISHED") || !strings.Contains(out, "INSTALLED") || !strings.Contains(out, fmt.Sprintf("%08x", c.SPIIn)) {
		t.Errorf("strongSwan does not list our SA %08x:\n%s", c.SPIIn, out)
	}

	// strongSwan deletes; we follow.
	if out, err := ss.Swanctl("--terminate", "--ike", "pal", "--timeout", "10"); err != nil {
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
		out, _ = ss.Swanctl("--list-sas")
		return strings.Contains(out, "INSTALLED") && strings.Contains(out, fmt.Sprintf("%08x", c.SPIIn))
	})
	// Our shutdown deletes the SAs at strongSwan too.
	stop()
	<-done
	wait("strongSwan to drop the SAs", func() bool {
		out, _ = ss.Swanctl("--list-sas")
		return !strings.Contains(out, "ESTABLISHED")
	})
	done <- nil
}

// checkKeys finds our four ESP keys in charon's key dump, which proves
// both sides derived the same KEYMAT.
func checkKeys(t *testing.T, ss *swtest.Charon, c seam.ChildSA) {
	t.Helper()
	ss.CheckKeys(t, map[string][]byte{"enc in": c.EncIn, "enc out": c.EncOut, "auth in": c.AuthIn, "auth out": c.AuthOut})
}

type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) { return cryptoRandRead(p) }
