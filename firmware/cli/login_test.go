package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

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
			p := LoginPrompt{In: strings.NewReader(tt.input), Out: &out, Check: check}
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
