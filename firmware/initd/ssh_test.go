package initd

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/palisade/palisade/firmware/backend"
	"github.com/palisade/palisade/firmware/boot"
)

func TestMaskSecrets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`set security ike gateway gw pre-shared-key ascii-text "hunter2"`,
			`set security ike gateway gw pre-shared-key ascii-text "<secret>"`},
		{`set security ike gateway gw pre-shared-key ascii-text hunter2`,
			`set security ike gateway gw pre-shared-key ascii-text "<secret>"`},
		// Abbreviated, as the CLI accepts.
		{`set security ike gateway gw pre-shared-key as "two words"`,
			`set security ike gateway gw pre-shared-key as "<secret>"`},
		{`set security ike gateway gw pre-shared-key hexadecimal 0x0102`,
			`set security ike gateway gw pre-shared-key hexadecimal "<secret>"`},
		{`set system root-authentication plain-text-password "a \"quoted\" pw"`,
			`set system root-authentication plain-text-password "<secret>"`},
		{`set system root-authentication encrypted-password "$6$salt$hash"`,
			`set system root-authentication encrypted-password "<secret>"`},
		{`show route`, `show route`},
		{`show configuration | display set`, `show configuration | display set`},
		{`set security zones security-zone "my zone" host-inbound-traffic system-services ssh`,
			`set security zones security-zone "my zone" host-inbound-traffic system-services ssh`},
		// The CLI would refuse it, but the key is in it all the same.
		{`set security ike gateway gw pre-shared-key ascii-text "hunter2`, `set ...`},
	} {
		if got := maskSecrets(tc.in); got != tc.want {
			t.Errorf("maskSecrets(%q):\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSSHExecLogMasksKey runs the server initd configures and execs a
// command with a pre-shared key: the log shows it masked.
func TestSSHExecLogMasksKey(t *testing.T) {
	var logs syncBuffer
	s := &SSH{Sys: &backend.System{Box: &boot.Box{}}, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	srv := s.server("127.0.0.1:0")
	// Only the log is under test: no configuration, no CLI.
	srv.Auth = func(user, pass string) bool { return user == "root" && pass == "pw" }
	srv.Exec = func(ctx context.Context, ch io.ReadWriter, user, command string) error { return nil }
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	c, err := ssh.Dial("tcp", l.Addr().String(), &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.Password("pw")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Run(`set security ike gateway gw pre-shared-key ascii-text "hunter2"`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	cancel()
	<-done
	done <- nil
	out := logs.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("the key is in the log:\n%s", out)
	}
	if want := `command="set security ike gateway gw pre-shared-key ascii-text \"<secret>\""`; !strings.Contains(out, want) {
		t.Errorf("log lacks %s:\n%s", want, out)
	}
}
