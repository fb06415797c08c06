package logbuf

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A flood of ordinary lines pushes out ordinary lines only: the security
// events written before it are still shown, in their place.
func TestFloodKeepsSecurityEvents(t *testing.T) {
	l := New(100, 10)
	var console bytes.Buffer
	log := slog.New(l.Handler(&console, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	log.Info("boot")
	log.Warn("login failed", "user", "root", "from", "192.0.2.7", Security())
	log.With(Security()).Info("tunnel up", "vpn", "VPN-to-Host2")
	for i := 0; i < 10_000; i++ {
		log.Info("dropping IKE datagram", "n", i)
	}
	lines := l.Lines()
	if len(lines) != 102 {
		t.Fatalf("%d lines kept, want 100 ordinary + 2 security", len(lines))
	}
	for i, want := range []string{
		`level=WARN msg="login failed" user=root from=192.0.2.7 security=true`,
		`level=INFO msg="tunnel up" security=true vpn=VPN-to-Host2`,
		`level=INFO msg="dropping IKE datagram" n=9900`,
	} {
		if lines[i] != want {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], want)
		}
	}
	if got := lines[len(lines)-1]; got != `level=INFO msg="dropping IKE datagram" n=9999` {
		t.Errorf("last line %s", got)
	}
	if !strings.Contains(console.String(), "msg=boot") || !strings.Contains(console.String(), `msg="login failed"`) {
		t.Errorf("the console did not get both kinds of lines:\n%.300s", console.String())
	}
}

func TestSecurityRingKeepsNewest(t *testing.T) {
	l := New(5, 3)
	for i := 0; i < 7; i++ {
		fmt.Fprintf(l.Events(), "event %d\n", i)
		fmt.Fprintf(l, "line %d\n", i)
	}
	got := strings.Join(l.Lines(), ",")
	if want := "event 4,line 4,event 5,line 5,event 6,line 6"; !strings.HasSuffix(got, want) || strings.Contains(got, "event 3") {
		t.Errorf("got %s, want ... %s without event 3", got, want)
	}
	if n := len(l.Lines()); n != 8 {
		t.Errorf("%d lines, want 5+3", n)
	}
}
