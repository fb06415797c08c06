package initd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// KernelLog forwards the kernel's log lines that the firewall writes (`then
// log session-init` goes through nft's log statement, which the kernel
// prints) into the box's log, where `show log messages` finds them.
type KernelLog struct {
	Path   string // /dev/kmsg
	Log    *slog.Logger
	Prefix string // lines carrying it are forwarded, e.g. "palisade "
}

// Run reads until ctx ends or the device fails.
func (k KernelLog) Run(ctx context.Context) error {
	f, err := os.Open(k.Path)
	if err != nil {
		return fmt.Errorf("opening the kernel log: %w", err)
	}
	go func() { <-ctx.Done(); f.Close() }()
	// Only what is logged from now on: the boot's lines are not ours.
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		k.Log.Debug("kernel log: cannot seek to the end", "err", err)
	}
	return k.forward(ctx, f)
}

func (k KernelLog) forward(ctx context.Context, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 8192), 8192)
	for sc.Scan() {
		// /dev/kmsg records are "prio,seq,usec,flags;message".
		_, msg, ok := strings.Cut(sc.Text(), ";")
		if !ok {
			continue
		}
		if i := strings.Index(msg, k.Prefix); i >= 0 {
			k.Log.Info(strings.TrimSpace(msg[i:]))
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the kernel log: %w", err)
	}
	return io.EOF
}
