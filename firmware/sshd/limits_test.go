package sshd

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// fakeClock is a clock that only Sleep moves, and records the sleeps.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// takeSleeps returns the sleeps since the last call.
func (c *fakeClock) takeSleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sleeps
	c.sleeps = nil
	return s
}

// logBuffer collects log lines for a test to read, and passes them on to
// the test log.
type logBuffer struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) lines(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ln := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(ln, substr) {
			out = append(out, ln)
		}
	}
	return out
}

// waitLines waits up to 10 s for n lines containing substr: a server logs
// a refusal after the close the client sees.
func (l *logBuffer) waitLines(substr string, n int) []string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ls := l.lines(substr)
		if len(ls) >= n || time.Now().After(deadline) {
			return ls
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// rawConn connects from the loopback address from and reports whether the
// server sent its version line (it is serving the connection) or closed it
// at once (refused).
func rawConn(t *testing.T, from, addr string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("connecting from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line := make([]byte, 4)
	_, err = io.ReadFull(c, line)
	return c, err == nil && string(line) == "SSH-"
}

func TestStartupsCap(t *testing.T) {
	checkGoroutines(t)
	clock := newFakeClock()
	logs := &logBuffer{t: t}
	s := passwordServer(t)
	s.MaxStartups, s.PerSourceMaxStartups = 3, 2
	s.Now = clock.Now
	s.Log = logs.logger()
	addr, _ := start(t, s)

	for i, tc := range []struct {
		from   string
		served bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.1", true},
		{"127.0.0.1", false}, // third from one source
		{"127.0.0.2", true},
		{"127.0.0.3", false}, // fourth in total
		{"127.0.0.1", false},
		{"127.0.0.3", false},
	} {
		if _, served := rawConn(t, tc.from, addr); served != tc.served {
			t.Errorf("connection %d from %s: served %v, want %v", i+1, tc.from, served, tc.served)
		}
	}
	// One line per cause within the second, the rest counted.
	logs.waitLines("too many", 2)
	if got := len(logs.lines("too many unauthenticated connections\"")); got != 1 {
		t.Errorf("%d lines for the total cap within a second, want 1", got)
	}
	if got := len(logs.lines("from one source")); got != 1 {
		t.Errorf("%d lines for the per-source cap within a second, want 1", got)
	}
	clock.Advance(time.Second)
	rawConn(t, "127.0.0.3", addr)
	ls := logs.waitLines("too many unauthenticated connections\"", 2)
	if len(ls) != 2 || !strings.Contains(ls[1], "security=true") || !strings.Contains(ls[1], "suppressed=2") {
		t.Errorf("total-cap lines after a second: got %q, want a second one with security=true suppressed=2", ls)
	}

	// A logged-in connection leaves its slot: with one slot of
	// 127.0.0.2's two taken, it logs in twice and still has one.
	s = passwordServer(t)
	s.PerSourceMaxStartups = 2
	logs = &logBuffer{t: t}
	s.Log = logs.logger()
	addr, _ = start(t, s)
	if _, served := rawConn(t, "127.0.0.2", addr); !served {
		t.Fatalf("first connection refused")
	}
	for i := range 2 {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		nc, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{
			User: "root", Auth: []ssh.AuthMethod{ssh.Password("juniper123")},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		})
		if err != nil {
			t.Fatalf("login %d from 127.0.0.2: %v", i+1, err)
		}
		c := ssh.NewClient(cc, chans, reqs)
		t.Cleanup(func() { c.Close() })
		// The server logs the login after it has left the slot,
		// which may be after the client sees it logged in.
		logs.waitLines(`msg="ssh login"`, i+1)
	}
	if _, served := rawConn(t, "127.0.0.2", addr); !served {
		t.Errorf("127.0.0.2 refused though its logged-in connections left their slots")
	}
}

func TestFailureDelay(t *testing.T) {
	checkGoroutines(t)
	clock := newFakeClock()
	logs := &logBuffer{t: t}
	s := passwordServer(t)
	s.Now, s.Sleep = clock.Now, clock.Sleep
	s.Log = logs.logger()
	addr, _ := start(t, s)

	// guess tries up to 10 wrong passwords on one connection and returns
	// how many the server took before it hung up.
	guess := func() int {
		t.Helper()
		tries := 0
		_, _, err := dial(t, addr, "root", ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
			tries++
			return fmt.Sprint("guess", tries), nil
		}), 10))
		if err == nil {
			t.Fatal("a wrong password logged in")
		}
		return tries
	}
	if got, want := guess(), 3; got != want {
		t.Errorf("tries on one connection: got %d, want %d (MaxAuthTries)", got, want)
	}
	guess()
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second}
	if got := clock.takeSleeps(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delays of 6 failures: got %v, want %v", got, want)
	}
	ls := logs.lines("ssh login failed")
	if len(ls) != 6 {
		t.Fatalf("%d failure lines for 6 failures, want 6", len(ls))
	}
	for _, w := range []string{"user=root", "remote=127.0.0.1:", "method=password", "failures=6", "delay=30s", "security=true"} {
		if !strings.Contains(ls[5], w) {
			t.Errorf("failure line %q lacks %q", ls[5], w)
		}
	}

	// A success starts over.
	if _, _, err := dial(t, addr, "root", ssh.Password("juniper123")); err != nil {
		t.Fatal(err)
	}
	if ls := logs.waitLines(`msg="ssh login"`, 1); len(ls) != 1 || !strings.Contains(ls[0], "security=true") {
		t.Errorf("login lines: got %q, want one with security=true", ls)
	}
	dial(t, addr, "root", ssh.Password("wrong"))
	if got, want := fmt.Sprint(clock.takeSleeps()), "[1s]"; got != want {
		t.Errorf("delay after a success and a failure: got %v, want %v", got, want)
	}
	// And so does a quiet period.
	dial(t, addr, "root", ssh.Password("wrong"))
	clock.Advance(failForget)
	dial(t, addr, "root", ssh.Password("wrong"))
	if got, want := fmt.Sprint(clock.takeSleeps()), "[2s 1s]"; got != want {
		t.Errorf("delays before and after a quiet period: got %v, want %v", got, want)
	}
}

// TestFailureDelayIsSerial: failures from one source at the same moment,
// on parallel connections, wait one after the other.
func TestFailureDelayIsSerial(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	f := &failures{now: func() time.Time { return now }, bySource: map[netip.Addr]*failState{}}
	var got []time.Duration
	for _, ip := range []string{"192.0.2.1", "192.0.2.1", "::ffff:192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::ffff:1"} {
		d, _ := f.fail(sourceOf(&net.TCPAddr{IP: net.ParseIP(ip), Port: 22}))
		got = append(got, d)
	}
	// A v4-mapped address is its IPv4 address; one /64 is one source.
	want := []time.Duration{1 * time.Second, 3 * time.Second, 7 * time.Second, 1 * time.Second, 1 * time.Second, 3 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delays: got %v, want %v", got, want)
	}
}

// TestAlgorithms: a client that offers only an algorithm with SHA-1 or a
// weak group fails to negotiate; the same client with its defaults gets in.
func TestAlgorithms(t *testing.T) {
	checkGoroutines(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	sha1Signer, err := ssh.NewSignerWithAlgorithms(rsaSigner.(ssh.AlgorithmSigner), []string{ssh.KeyAlgoRSA})
	if err != nil {
		t.Fatal(err)
	}
	s := passwordServer(t)
	s.AuthorizedKeys = func() []ssh.PublicKey { return []ssh.PublicKey{rsaSigner.PublicKey()} }
	addr, _ := start(t, s)

	login := func(cfg ssh.Config, key ssh.Signer) error {
		c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
			Config: cfg, User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
		})
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := login(ssh.Config{}, rsaSigner); err != nil {
		t.Fatalf("login with client defaults and rsa-sha2: %v", err)
	}
	for _, tc := range []struct {
		name string
		cfg  ssh.Config
		key  ssh.Signer
	}{
		{"diffie-hellman-group14-sha1", ssh.Config{KeyExchanges: []string{ssh.InsecureKeyExchangeDH14SHA1}}, rsaSigner},
		{"diffie-hellman-group1-sha1", ssh.Config{KeyExchanges: []string{ssh.InsecureKeyExchangeDH1SHA1}}, rsaSigner},
		{"diffie-hellman-group14-sha256", ssh.Config{KeyExchanges: []string{ssh.KeyExchangeDH14SHA256}}, rsaSigner},
		{"hmac-sha1-96", ssh.Config{Ciphers: []string{ssh.CipherAES128CTR}, MACs: []string{ssh.InsecureHMACSHA196}}, rsaSigner},
		{"hmac-sha1", ssh.Config{Ciphers: []string{ssh.CipherAES128CTR}, MACs: []string{ssh.HMACSHA1}}, rsaSigner},
		{"aes128-cbc", ssh.Config{Ciphers: []string{ssh.InsecureCipherAES128CBC}}, rsaSigner},
		{"ssh-rsa signature", ssh.Config{}, sha1Signer},
	} {
		if err := login(tc.cfg, tc.key); err == nil {
			t.Errorf("client offering only %s logged in, want it refused", tc.name)
		}
	}
}

func TestExecLogMasksCommand(t *testing.T) {
	checkGoroutines(t)
	const cmd = `set security ike gateway gw pre-shared-key ascii-text "hunter2"`
	for _, tc := range []struct {
		name string
		mask func(string) string
		want string
	}{
		{"masked", func(c string) string { return strings.ReplaceAll(c, "hunter2", "<secret>") }, `command="set security ike gateway gw pre-shared-key ascii-text \"<secret>\""`},
		{"no mask function", nil, `command="set ..."`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logBuffer{t: t}
			s := passwordServer(t)
			s.MaskCommand = tc.mask
			s.Log = logs.logger()
			addr, stop := start(t, s)
			c, _, err := dial(t, addr, "root", ssh.Password("juniper123"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mustSession(t, c).Output(cmd); err != nil {
				t.Fatal(err)
			}
			c.Close()
			stop()
			ls := logs.lines("ssh exec")
			if len(ls) != 1 || !strings.Contains(ls[0], tc.want) {
				t.Errorf("exec lines: got %q, want one with %s", ls, tc.want)
			}
			if ls := logs.lines("hunter2"); len(ls) > 0 {
				t.Errorf("the key is in the log: %q", ls)
			}
		})
	}
}
