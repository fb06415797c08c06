package ikev1

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDropLogIsBounded(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	e := &Engine{env: Env{Log: slog.New(slog.NewTextHandler(&buf, nil)), Now: func() time.Time { return now }}}
	for i := range 1000 {
		now = time.Unix(1000, 0).Add(time.Duration(i) * time.Millisecond) // 1000 drops in one second
		e.logDrop("dropping quick mode message 1 that fails HASH(1)", "gateway", "gw")
	}
	now = now.Add(time.Second)
	e.logDrop("dropping quick mode message 1 that fails HASH(1)", "gateway", "gw")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d log lines for 1001 drops, want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], "suppressed_since_last=999") || !strings.Contains(lines[0], "fails HASH(1)") {
		t.Errorf("got:\n%s", buf.String())
	}
}
