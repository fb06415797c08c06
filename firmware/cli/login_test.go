package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// noDelay is a guard that does not wait, for tests of the prompt itself.
func noDelay() *LoginGuard {
	return &LoginGuard{Sleep: func(context.Context, time.Duration) error { return nil }}
}

// TestLoginDelay: each wrong password is logged and answered after a delay
// that grows across Login calls on one guard, until a success or a quiet
// period resets it.
func TestLoginDelay(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var slept []time.Duration
	var logs bytes.Buffer
	var out bytes.Buffer
	g := &LoginGuard{
		Terminal: "ttyS0",
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})),
		Now: func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error {
			// The reply comes after the delay, not before.
			if strings.HasSuffix(out.String(), "Login incorrect\r\n") {
				t.Errorf("Login incorrect written before the delay")
			}
			slept = append(slept, d)
			now = now.Add(d)
			return nil
		},
	}
	check := func(u, p string) bool { return u == "root" && p == "pw" }
	login := func(input string) (string, error) {
		return g.Login(context.Background(), strings.NewReader(input), &out, check)
	}
	if _, err := login("root\na\nroot\nb\nadmin\nc\n"); !errors.Is(err, ErrLoginFailed) {
		t.Fatalf("three wrong passwords: got %v, want ErrLoginFailed", err)
	}
	// The console prompts again: the delay goes on growing.
	if _, err := login("root\nd\nroot\ne\nroot\nf\nroot\ng\n"); !errors.Is(err, ErrLoginFailed) {
		t.Fatalf("three more wrong passwords: got %v, want ErrLoginFailed", err)
	}
	if got, want := fmt.Sprint(slept), "[1s 2s 4s 8s 16s 30s]"; got != want {
		t.Errorf("delays: got %v, want %v", got, want)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d log lines for 6 failures, want 6:\n%s", len(lines), logs.String())
	}
	if got, want := lines[2], `level=WARN msg="login failed" terminal=ttyS0 user=admin failures=3 delay=4s security=true`; got != want {
		t.Errorf("failure line:\n got %s\nwant %s", got, want)
	}

	slept = nil
	logs.Reset()
	if user, err := login("root\npw\n"); user != "root" || err != nil {
		t.Fatalf("login: got %q, %v", user, err)
	}
	if got, want := strings.TrimSpace(logs.String()), `level=INFO msg=login terminal=ttyS0 user=root security=true`; got != want {
		t.Errorf("login line:\n got %s\nwant %s", got, want)
	}
	login("root\nx\nroot\npw\n")
	now = now.Add(loginForget)
	login("root\nx\nroot\npw\n")
	if got, want := fmt.Sprint(slept), "[1s 1s]"; got != want {
		t.Errorf("delays after a success, and after a quiet period: got %v, want %v", got, want)
	}

	// A delay ends with ctx: the real timer here would wait 1 s.
	ctx, cancel := context.WithCancel(context.Background())
	g = &LoginGuard{}
	start := time.Now()
	_, err := g.Login(ctx, strings.NewReader("root\nx\n"), &out, func(string, string) bool { cancel(); return false })
	if time.Since(start) >= loginDelay {
		t.Errorf("failure with ctx done waited %v", time.Since(start))
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("failure with ctx done: got %v, want context.Canceled", err)
	}
}

func TestLogin(t *testing.T) {
	check := func(u, p string) bool { return u == "root" && p == "pw" }
	for _, tt := range []struct {
		name, input, user string
		err               error
		out               string
	}{
		{"ok", "root\npw\n", "root", nil, "login: Password:\r\n"},
		{"crlf", "root\r\npw\r\n", "root", nil, "login: Password:\r\n"},
		{"retry", "root\nbad\n\nroot\npw\n", "root", nil, "Login incorrect\r\nlogin: login: Password:"},
		{"three wrong", "a\nb\na\nb\na\nb\nroot\npw\n", "", ErrLoginFailed, "Login incorrect\r\n"},
		{"eof", "roo", "", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := LoginPrompt{In: strings.NewReader(tt.input), Out: &out, Check: check, Guard: noDelay()}
			user, err := p.Run(context.Background())
			if tt.name == "eof" {
				if err == nil {
					t.Errorf("login at end of input succeeded")
				}
				return
			}
			if user != tt.user || !errors.Is(err, tt.err) {
				t.Errorf("Run = %q, %v; want %q, %v", user, err, tt.user, tt.err)
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("output %q lacks %q", out.String(), tt.out)
			}
		})
	}
}

func TestLoginEchoesUserNotPassword(t *testing.T) {
	var out bytes.Buffer
	p := LoginPrompt{In: strings.NewReader("root\rsecret\r"), Out: &out, Echo: true, Check: func(string, string) bool { return true }}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "login: root\r\nPassword:\r\n" {
		t.Errorf("output %q", got)
	}
}
