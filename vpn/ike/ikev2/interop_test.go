package ikev2

import (
	"context"
	"crypto/rand"
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

// TestStrongSwanInterop negotiates IKEv2 with a real strongSwan (charon with
// kernel-libipsec, hence NAT-T on 4500): strongSwan initiates, rekeys the
// Child and the IKE SA, we rekey both, strongSwan deletes; then we
// initiate, and our shutdown deletes. Each Child SA's keys must be among
// the keys charon logs. SAs go to a recording installer: the host kernel
// has no ESP.
func TestStrongSwanInterop(t *testing.T) {
	swtest.Skip(t)
	for _, tc := range []struct{ ike, esp string }{
		{"aes128-sha256-modp2048", "aes128-sha256"},
		{"aes256gcm16-prfsha384-ecp384", "aes256gcm16-ecp256"},
		{"chacha20poly1305-prfsha256-curve25519", "chacha20poly1305-curve25519"},
		{"aes256-sha512-modp3072", "aes256-sha384"},
	} {
		t.Run(tc.ike+"/"+tc.esp, func(t *testing.T) { interop(t, tc.ike, tc.esp) })
	}
}

func interop(t *testing.T, ikeProp, espProp string) {
	h := swtest.EnterNamespace(t)
	ss := swtest.Start(t, h, swtest.Options{Version: 2, IKE: ikeProp, ESP: espProp})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	local, remote := netip.MustParseAddr(swtest.LocalAddr), netip.MustParseAddr(swtest.RemoteAddr)
	tr, err := seam.ListenUDP(ctx, local, 500, 4500)
	if err != nil {
		t.Fatal(err)
	}
	cfg := peerCfg(t, "SS", local, remote, netip.MustParsePrefix(swtest.LocalNet), netip.MustParsePrefix(swtest.RemoteNet), false)
	cfg.PSK = []byte(swtest.PSK)
	cfg.Proposals = []Proposal{mustProposal(t, ikeProp)}
	cfg.Children[0].Proposals[0], cfg.Children[0].PFS = mustChildProposal(t, espProp)
	inst := seam.NewRecordingInstaller()
	logs := &iketest.SyncBuffer{}
	w := io.Writer(logs)
	if testing.Verbose() {
		w = io.MultiWriter(logs, testWriter{t, "palisade"})
	}
	e := NewEngine(Config{}, seam.Env{Now: time.Now, Rand: rand.Reader, Log: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), Installer: inst}, tr)
	e.SetPeers([]PeerConfig{cfg})
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx, ticker.C) }()
	defer func() { stop(); <-done; tr.Close() }()
	deadline, _ := ctx.Deadline()
	wait := func(what string, cond func() bool) { t.Helper(); swtest.WaitFor(t, deadline, what, cond, logs.String) }
	swanctl := func(args ...string) string {
		t.Helper()
		out, err := ss.Swanctl(args...)
		if err != nil {
			t.Fatalf("swanctl %v: %v\n%s\npalisade log:\n%s", args, err, out, logs)
		}
		return out
	}
	one := func() seam.ChildSA {
		t.Helper()
		wait("exactly one SA pair", func() bool { return len(inst.Installed()) == 1 })
		return inst.Installed()[0]
	}
	status := func() (ikes []seam.IKESAStatus) {
		e.Do(ctx, func(e *Engine) { ikes, _ = e.Status() })
		return ikes
	}
	listed := func(c seam.ChildSA) bool {
		out, _ := ss.Swanctl("--list-sas")
		return strings.Contains(out, "INSTALLED") && strings.Contains(out, fmt.Sprintf("%08x", c.SPIIn)) && strings.Contains(out, fmt.Sprintf("%08x", c.SPIOut))
	}

	// strongSwan initiates; we respond.
	swanctl("--initiate", "--child", "net", "--timeout", "20")
	c := one()
	checkKeys(t, ss, c)
	if c.EncapLocal != 4500 || c.EncapRemote != 4500 {
		t.Errorf("kernel-libipsec forces NAT-T, but the SA has encap ports %d/%d", c.EncapLocal, c.EncapRemote)
	}
	wait("strongSwan to list our SA", func() bool { return listed(c) })

	// strongSwan rekeys the Child SA, then the IKE SA.
	swanctl("--rekey", "--child", "net")
	wait("the Child SA rekeyed by strongSwan", func() bool { x := inst.Installed(); return len(x) == 1 && x[0].SPIIn != c.SPIIn })
	c = one()
	checkKeys(t, ss, c)
	old := status()[0].ResponderCookie
	swanctl("--rekey", "--ike", "pal")
	wait("the IKE SA rekeyed by strongSwan", func() bool { s := status(); return len(s) == 1 && s[0].ResponderCookie != old && s[0].Up })

	// We rekey both, over the IKE SA strongSwan created.
	e.Do(ctx, func(e *Engine) { e.RekeyChild("VPN-OUT") })
	wait("the Child SA rekeyed by us", func() bool { x := inst.Installed(); return len(x) == 1 && x[0].SPIIn != c.SPIIn })
	c = one()
	checkKeys(t, ss, c)
	wait("strongSwan to list the rekeyed SA", func() bool { return listed(c) })
	old = status()[0].InitiatorCookie
	e.Do(ctx, func(e *Engine) { e.RekeyIKE("SS") })
	wait("the IKE SA rekeyed by us", func() bool { s := status(); return len(s) == 1 && s[0].InitiatorCookie != old && s[0].Up })
	wait("strongSwan to see one IKE SA", func() bool {
		out, _ := ss.Swanctl("--list-sas")
		return strings.Count(out, "ESTABLISHED") == 1 && strings.Contains(out, status()[0].InitiatorCookie)
	})
	// A liveness check over the new SA (strongSwan's dpd_delay is 5s; ours
	// answers) keeps everything up; then strongSwan deletes.
	swanctl("--terminate", "--ike", "pal", "--timeout", "10")
	wait("the delete from strongSwan", func() bool { return len(inst.Installed()) == 0 && len(status()) == 0 })

	// We initiate.
	cfg.Children[0].Immediately = true
	if err := e.Do(ctx, func(e *Engine) { e.SetPeers(nil); e.SetPeers([]PeerConfig{cfg}) }); err != nil {
		t.Fatal(err)
	}
	c = one()
	checkKeys(t, ss, c)
	wait("strongSwan's SA", func() bool { return listed(c) })
	e.Do(ctx, func(e *Engine) { e.RekeyChild("VPN-OUT") })
	wait("the Child SA rekeyed by us as initiator", func() bool { x := inst.Installed(); return len(x) == 1 && x[0].SPIIn != c.SPIIn })
	c = one()
	checkKeys(t, ss, c)
	// Our shutdown deletes the SAs at strongSwan too.
	stop()
	<-done
	wait("strongSwan to drop the SAs", func() bool {
		out, _ := ss.Swanctl("--list-sas")
		return !strings.Contains(out, "ESTABLISHED")
	})
	done <- nil
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("warnings in our log:\n%s", logs)
	}
}

func checkKeys(t *testing.T, ss *swtest.Charon, c seam.ChildSA) {
	t.Helper()
	ss.CheckKeys(t, map[string][]byte{"enc in": c.EncIn, "enc out": c.EncOut, "auth in": c.AuthIn, "auth out": c.AuthOut})
}
