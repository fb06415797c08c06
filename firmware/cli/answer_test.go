package cli_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade/palisade/firmware/cli"
	"github.com/palisade/palisade/firmware/config"
)

type rebootSys struct {
	cli.System
	rebooted chan struct{}
}

func (s *rebootSys) Active() *config.Config           { return &config.Config{} }
func (s *rebootSys) Reboot(ctx context.Context) error { close(s.rebooted); return nil }

// lockedBuf collects a session's output for the test's goroutine.
type lockedBuf struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuf) has(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.buf.String(), s)
}

// TestAnswerTypedWhileTheCommandRuns: the answer to a command's question
// is typed while the command runs (its input goes to the Ctrl-C watcher);
// it must still reach the question. The seed lab's reboot lost it 3 times
// in 10 before the watcher woke the reader.
func TestAnswerTypedWhileTheCommandRuns(t *testing.T) {
	for i := range 20 {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		sys := &rebootSys{rebooted: make(chan struct{})}
		s := &cli.Session{In: inR, Out: outW, Sys: sys, User: "root", Interactive: true}
		ctx, cancel := context.WithCancel(context.Background())
		go s.Run(ctx)
		out := &lockedBuf{}
		got := make(chan struct{}, 1)
		go func() {
			p := make([]byte, 4096)
			for {
				n, err := outR.Read(p)
				out.mu.Lock()
				out.buf.Write(p[:n])
				out.mu.Unlock()
				select {
				case got <- struct{}{}:
				default:
				}
				if err != nil {
					return
				}
			}
		}()
		wait := func(s string) {
			deadline := time.After(5 * time.Second)
			for !out.has(s) {
				select {
				case <-got:
				case <-deadline:
					t.Fatalf("run %d: no %q in the output", i, s)
				}
			}
		}
		wait("> ")
		inW.Write([]byte("request system reboot\r"))
		wait("(no) ")
		time.Sleep(50 * time.Millisecond) // a person reads the question first
		inW.Write([]byte("yes\r"))
		select {
		case <-sys.rebooted:
		case <-time.After(2 * time.Second):
			t.Fatalf("run %d: no reboot 2 s after answering yes", i)
		}
		cancel()
		inW.Close()
		outR.Close()
	}
}
