package sshd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/palisade/palisade/firmware/auth"
)

// testRand is a deterministic randomness source: host keys made from the
// same seed are the same key.
func testRand(seed byte) io.Reader {
	return &lockedReader{r: mrand.NewChaCha8([32]byte{seed})}
}

// lockedReader makes a reader safe for the concurrent connections of one
// server, as Server.Rand must be.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// checkGoroutines fails the test if, once everything registered after it
// with t.Cleanup has run, more goroutines are alive than when it was
// called. Client and server goroutines wind down asynchronously after a
// close, so it polls rather than checking once.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				var b strings.Builder
				pprof.Lookup("goroutine").WriteTo(&b, 1)
				t.Errorf("%d goroutines alive, %d before the test:\n%s", runtime.NumGoroutine(), before, b.String())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// start runs s.Serve on 127.0.0.1:0 and returns its address and a stop
// function that cancels ctx and returns what Serve returned; stop also runs
// at cleanup.
func start(t *testing.T, s *Server) (addr string, stop func() error) {
	t.Helper()
	if s.Log == nil {
		s.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	var stopped bool
	var serveErr error
	stop = func() error {
		if stopped {
			return serveErr
		}
		stopped = true
		cancel()
		select {
		case serveErr = <-done:
		case <-time.After(10 * time.Second):
			serveErr = errors.New("Serve did not return within 10s of cancel")
		}
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String(), stop
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// dial logs in and returns the client and the host key the server showed.
func dial(t *testing.T, addr, user string, method ssh.AuthMethod) (*ssh.Client, ssh.PublicKey, error) {
	t.Helper()
	var hostKey ssh.PublicKey
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{method},
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			hostKey = k
			return nil
		},
		Timeout: 10 * time.Second,
	})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, hostKey, err
}

func passwordServer(t *testing.T) *Server {
	t.Helper()
	hash, err := auth.Hash("juniper123", testRand(9))
	if err != nil {
		t.Fatal(err)
	}
	return &Server{
		Rand: testRand(1),
		// Failed passwords are not delayed here; TestFailureDelay
		// and TestPasswordGuessRate test the delay.
		Sleep: func(context.Context, time.Duration) error { return nil },
		Auth:  func(user, pass string) bool { return user == "root" && auth.Verify(hash, pass) },
		Exec: func(ctx context.Context, ch io.ReadWriter, user, cmd string) error {
			_, err := fmt.Fprintf(ch, "%s ran %s\n", user, cmd)
			return err
		},
	}
}

func TestPasswordLogin(t *testing.T) {
	checkGoroutines(t)
	addr, _ := start(t, passwordServer(t))

	for _, tc := range []struct {
		name, user string
		method     ssh.AuthMethod
		ok         bool
	}{
		{"password", "root", ssh.Password("juniper123"), true},
		{"keyboard-interactive", "root", ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			if len(qs) != 1 {
				return nil, fmt.Errorf("got %d questions, want 1", len(qs))
			}
			return []string{"juniper123"}, nil
		}), true},
		{"wrong password", "root", ssh.Password("juniper124"), false},
		{"empty password", "root", ssh.Password(""), false},
		{"wrong user", "admin", ssh.Password("juniper123"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := dial(t, addr, tc.user, tc.method)
			if tc.ok {
				if err != nil {
					t.Fatalf("login: %v", err)
				}
				out, err := mustSession(t, c).Output("show version")
				if err != nil {
					t.Fatalf("exec: %v", err)
				}
				if got, want := string(out), tc.user+" ran show version\n"; got != want {
					t.Errorf("exec output: got %q, want %q", got, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("login as %s succeeded, want it refused", tc.user)
			}
			if !strings.Contains(err.Error(), "unable to authenticate") {
				t.Errorf("login: got %v, want an authentication failure", err)
			}
		})
	}
}

func mustSession(t *testing.T, c *ssh.Client) *ssh.Session {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatalf("opening a session: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func keyFromSeed(seed byte) (ssh.Signer, string) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		panic(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey()))) + " admin@laptop"
	return s, line
}

func TestPublicKeyLogin(t *testing.T) {
	checkGoroutines(t)
	good, goodLine := keyFromSeed(1)
	bad, _ := keyFromSeed(2)
	keys, err := ParseAuthorizedKeys([]string{goodLine})
	if err != nil {
		t.Fatal(err)
	}
	s := passwordServer(t)
	s.AuthorizedKeys = func() []ssh.PublicKey { return keys }
	addr, _ := start(t, s)

	for _, tc := range []struct {
		name, user string
		key        ssh.Signer
		ok         bool
	}{
		{"authorized key", "root", good, true},
		{"other key", "root", bad, false},
		// The keys are root's, whatever user the client names.
		{"authorized key, other user", "admin", good, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := dial(t, addr, tc.user, ssh.PublicKeys(tc.key))
			if tc.ok {
				if err != nil {
					t.Fatalf("login: %v", err)
				}
				if _, err := mustSession(t, c).Output("show route"); err != nil {
					t.Errorf("exec: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("login with %s as %s succeeded, want it refused", ssh.FingerprintSHA256(tc.key.PublicKey()), tc.user)
			}
		})
	}
}

func TestShell(t *testing.T) {
	checkGoroutines(t)
	type call struct {
		user, term string
		sizes      []WindowSize
		line       string
	}
	calls := make(chan call, 1)
	s := passwordServer(t)
	s.Session = func(ctx context.Context, ch io.ReadWriter, user, term string, winch <-chan WindowSize) error {
		c := call{user: user, term: term}
		next := func() error {
			select {
			case w := <-winch:
				c.sizes = append(c.sizes, w)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return errors.New("no window size within 10s")
			}
		}
		if err := next(); err != nil {
			return err
		}
		io.WriteString(ch, "root@palisade> ")
		line, err := bufio.NewReader(ch).ReadString('\r')
		if err != nil {
			return fmt.Errorf("reading a line: %w", err)
		}
		c.line = strings.TrimSuffix(line, "\r")
		// The window-change was sent before the line, but it is
		// answered on another goroutine than the data is read on.
		if err := next(); err != nil {
			return err
		}
		fmt.Fprintf(ch, "\r\nyou typed %q\r\n", c.line)
		calls <- c
		return nil
	}
	addr, _ := start(t, s)
	c, _, err := dial(t, addr, "root", ssh.Password("juniper123"))
	if err != nil {
		t.Fatal(err)
	}
	sess := mustSession(t, c)
	if err := sess.RequestPty("vt100", 24, 80, ssh.TerminalModes{ssh.ECHO: 0}); err != nil {
		t.Fatalf("pty-req: %v", err)
	}
	in, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	// Resize only once the prompt shows that Session has read the
	// first size; before that the new size would replace the old one
	// in winch, which is right for a terminal but not what is tested.
	prompt := make([]byte, len("root@palisade> "))
	if _, err := io.ReadFull(stdout, prompt); err != nil {
		t.Fatalf("reading the prompt: %v", err)
	}
	if err := sess.WindowChange(50, 132); err != nil {
		t.Fatalf("window-change: %v", err)
	}
	io.WriteString(in, "show security zones\r")
	rest, err := io.ReadAll(stdout)
	if err != nil {
		t.Fatalf("reading the output: %v", err)
	}
	if err := sess.Wait(); err != nil {
		t.Fatalf("session: %v", err)
	}
	got := <-calls
	want := call{user: "root", term: "vt100", sizes: []WindowSize{{80, 24}, {132, 50}}, line: "show security zones"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Session saw %+v, want %+v", got, want)
	}
	if got, want := string(prompt)+string(rest), "root@palisade> \r\nyou typed \"show security zones\"\r\n"; got != want {
		t.Errorf("client read %q, want %q", got, want)
	}
}

func TestExitStatus(t *testing.T) {
	checkGoroutines(t)
	s := passwordServer(t)
	s.Exec = func(ctx context.Context, ch io.ReadWriter, user, cmd string) error {
		return fmt.Errorf("syntax error at %q", cmd)
	}
	s.Session = func(ctx context.Context, ch io.ReadWriter, user, term string, winch <-chan WindowSize) error {
		return errors.New("console broke")
	}
	addr, _ := start(t, s)
	c, _, err := dial(t, addr, "root", ssh.Password("juniper123"))
	if err != nil {
		t.Fatal(err)
	}

	sess := mustSession(t, c)
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	err = sess.Run("show bogus")
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 {
		t.Errorf("exec of a failing command: got %v, want exit status 1", err)
	}
	if got, want := stderr.String(), "error: syntax error at \"show bogus\"\n"; got != want {
		t.Errorf("stderr: got %q, want %q", got, want)
	}

	sess = mustSession(t, c)
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell without a pty: %v", err)
	}
	if err := sess.Wait(); !errors.As(err, &exit) || exit.ExitStatus() != 1 {
		t.Errorf("failing shell: got %v, want exit status 1", err)
	}
}

func TestRefusedRequests(t *testing.T) {
	checkGoroutines(t)
	s := passwordServer(t)
	s.Exec = nil // and Session is nil
	addr, _ := start(t, s)
	c, _, err := dial(t, addr, "root", ssh.Password("juniper123"))
	if err != nil {
		t.Fatal(err)
	}
	if err := mustSession(t, c).Run("show route"); err == nil {
		t.Errorf("exec with no Exec: no error")
	}
	if err := mustSession(t, c).Shell(); err == nil {
		t.Errorf("shell with no Session: no error")
	}
	if err := mustSession(t, c).RequestSubsystem("sftp"); err == nil {
		t.Errorf("sftp subsystem: no error")
	}
	if err := mustSession(t, c).Setenv("LANG", "C"); err == nil {
		t.Errorf("env: no error")
	}
	if _, err := c.Dial("tcp", "127.0.0.1:1"); err == nil {
		t.Errorf("port forwarding: no error")
	}
}

func TestHostKeyPersisted(t *testing.T) {
	checkGoroutines(t)
	path := filepath.Join(t.TempDir(), "ssh", "ssh_host_ed25519_key")
	fingerprint := func(seed byte) string {
		t.Helper()
		s := passwordServer(t)
		s.HostKeyPath = path
		s.Rand = testRand(seed)
		addr, stop := start(t, s)
		c, hostKey, err := dial(t, addr, "root", ssh.Password("juniper123"))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if err := stop(); err != nil {
			t.Fatalf("Serve: %v", err)
		}
		return ssh.FingerprintSHA256(hostKey)
	}

	first := fingerprint(1)
	_, want, _ := (&Server{Rand: testRand(1)}).newHostKey()
	if got, want := first, ssh.FingerprintSHA256(want.PublicKey()); got != want {
		t.Errorf("first start: host key %s, want %s, the key made from Rand", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("host key not kept: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !bytes.HasPrefix(b, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")) {
		t.Errorf("host key file does not start with an OpenSSH PEM header:\n%s", b)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("host key directory holds %d files, want only the key", len(ents))
	}

	// A different Rand on restart: the key must come from the file.
	if second := fingerprint(2); second != first {
		t.Errorf("after restart: host key %s, want %s as before", second, first)
	}
}

func TestHostKeyCorrupt(t *testing.T) {
	checkGoroutines(t)
	path := filepath.Join(t.TempDir(), "ssh_host_ed25519_key")
	if err := os.WriteFile(path, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := passwordServer(t)
	s.HostKeyPath = path
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Serve(context.Background(), l)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Serve with a corrupt host key: got %v, want an error naming %s", err, path)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("listener after Serve failed: Accept returned %v, want net.ErrClosed", err)
	}
	if b, _ := os.ReadFile(path); !bytes.Contains(b, []byte("broken")) {
		t.Errorf("corrupt host key was overwritten")
	}
}

// TestCancel stops the server while a client is logged in and its shell is
// blocked reading: Serve must return, the Session must see ctx done, and no
// goroutine may remain.
func TestCancel(t *testing.T) {
	checkGoroutines(t)
	entered := make(chan struct{})
	sessionErr := make(chan error, 1)
	s := passwordServer(t)
	s.Session = func(ctx context.Context, ch io.ReadWriter, user, term string, winch <-chan WindowSize) error {
		close(entered)
		// Ends when the connection is closed, which may be seen
		// before ctx is: both follow the cancel.
		if _, err := io.ReadAll(ch); err != nil {
			sessionErr <- err
			return err
		}
		select {
		case <-ctx.Done():
			sessionErr <- ctx.Err()
		case <-time.After(10 * time.Second):
			sessionErr <- errors.New("ctx not done 10s after the connection closed")
		}
		return ctx.Err()
	}
	addr, stop := start(t, s)
	c, _, err := dial(t, addr, "root", ssh.Password("juniper123"))
	if err != nil {
		t.Fatal(err)
	}
	// A second client still in the handshake: it must not hold Serve up.
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	sess := mustSession(t, c)
	// Without a stdin pipe the client sends EOF at once, and Session
	// would return before the server is stopped.
	if _, err := sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	<-entered
	if err := stop(); err != nil {
		t.Fatalf("Serve after cancel: got %v, want nil", err)
	}
	if err := <-sessionErr; !errors.Is(err, context.Canceled) {
		t.Errorf("Session: got %v, want its ctx canceled", err)
	}
	if err := sess.Wait(); err == nil {
		t.Errorf("client session after server stop: no error")
	}
	if _, err := c.NewSession(); err == nil {
		t.Errorf("client after server stop: a new session opened")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Errorf("listener still accepting after stop")
	}
}
