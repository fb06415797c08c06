package vpn

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade/palisade/vpn/ike/seam"
)

// panickyInstaller panics at its first Install, as a bug reached by a
// datagram would, and installs normally afterwards.
type panickyInstaller struct {
	*seam.RecordingInstaller
	panicked atomic.Bool
}

func (p *panickyInstaller) Install(c *seam.ChildSA) error {
	if p.panicked.CompareAndSwap(false, true) {
		panic("installer bug")
	}
	return p.RecordingInstaller.Install(c)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestEnginePanicRestarts: a panic inside an engine's goroutine used to end
// the process (PID 1 on the box). Now the engine is restarted in place
// with a log line, the daemon keeps running, and the tunnel comes up at
// the next attempt. For both IKE versions.
func TestEnginePanicRestarts(t *testing.T) {
	for _, version := range []string{"v1-only", "v2-only"} {
		t.Run(version, func(t *testing.T) {
			checkGoroutines(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			net := seam.NewPipeNetwork()
			c := &clock{now: time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)}
			runCtx, stop := context.WithCancel(ctx)
			a := startDaemon(t, runCtx, net, c, 1, nil)
			b := startDaemon(t, runCtx, net, c, 2, nil)
			var logA syncBuf
			bad := &panickyInstaller{RecordingInstaller: a.inst}
			a.d.opts.Installer = bad
			a.d.log = slog.New(slog.NewTextHandler(&logA, nil))
			gwA, tunA := seedConfig(srx1, srx2, net1, net2, true)
			gwB, tunB := seedConfig(srx2, srx1, net2, net1, false)
			gwA[0].Version, gwB[0].Version = version, version
			if err := a.d.Reconcile(ctx, gwA, tunA); err != nil {
				t.Fatal(err)
			}
			if err := b.d.Reconcile(ctx, gwB, tunB); err != nil {
				t.Fatal(err)
			}
			for len(a.inst.Installed()) == 0 || len(b.inst.Installed()) == 0 {
				c.mu.Lock()
				c.now = c.now.Add(time.Second)
				c.mu.Unlock()
				a.tick(ctx, c)
				b.tick(ctx, c)
				if ctx.Err() != nil {
					t.Fatalf("no tunnel after the engine's panic; A's log:\n%s", logA.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			if !bad.panicked.Load() {
				t.Fatal("the installer never panicked")
			}
			want := fmt.Sprintf("IKEv%s engine crashed; restarting it", version[1:2])
			if !strings.Contains(logA.String(), want) || !strings.Contains(logA.String(), "installer bug") {
				t.Errorf("A's log lacks %q with the panic:\n%s", want, logA.String())
			}
			stop()
			for _, td := range []*testDaemon{a, b} {
				if err := <-td.done; err != nil {
					t.Error(err)
				}
			}
		})
	}
}
