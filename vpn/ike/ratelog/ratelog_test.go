package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestOneLinePerCausePerSecond(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	l := New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime})), func() time.Time { return now })
	for i := 0; i < 1000; i++ {
		l.Info("dropping MM1", "from", i)
		l.Warn("no proposal chosen", "from", i)
	}
	if got := strings.Count(buf.String(), "\n"); got != 2 {
		t.Fatalf("after 2000 lines of 2 causes in one second: %d lines logged, want 2:\n%s", got, buf.String())
	}
	now = now.Add(Window)
	l.Info("dropping MM1", "from", 1000)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if got, want := lines[len(lines)-1], `level=INFO msg="dropping MM1" from=1000 suppressed=999`; got != want {
		t.Errorf("next line:\n got %s\nwant %s", got, want)
	}
	now = now.Add(Window)
	l.Flush()
	lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
	if got, want := lines[len(lines)-1], `level=WARN msg="no proposal chosen" from=999 suppressed=998`; got != want {
		t.Errorf("flushed line:\n got %s\nwant %s", got, want)
	}
	before := buf.Len()
	l.Flush()
	if buf.Len() != before {
		t.Errorf("a second Flush logged again: %q", buf.String()[before:])
	}
}

func TestCausesAreBounded(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), func() time.Time { return now })
	for i := 0; i < 10*maxCauses; i++ {
		l.Info(strings.Repeat("x", i%4000) + string(rune('a'+i%26)))
	}
	if len(l.causes) > maxCauses+1 {
		t.Errorf("%d causes kept, want at most %d", len(l.causes), maxCauses+1)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
