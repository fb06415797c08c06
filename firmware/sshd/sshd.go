// Package sshd serves the CLI over SSH, as Junos "system services ssh" does,
// through golang.org/x/crypto/ssh.
//
// Who may connect is not decided here. The firewall's host-inbound-traffic
// rules for ssh drop a connection from a zone that does not allow ssh before
// it reaches the listener, so Server authenticates every connection it is
// handed and filters none: a second, partial copy of the zone rules here
// would only be able to disagree with the real one.
//
// A connection goes through these states:
//
//	accepted --over MaxStartups or PerSourceMaxStartups--> closed at once
//	accepted --handshake and login--> logged in --channels end or ctx done--> closed
//	accepted --handshake timeout, MaxAuthTries failed logins, ctx done--> closed
//
// Until it is logged in a connection holds one of the MaxStartups slots, and
// each wrong password is answered only after a delay that grows per source
// address; together they bound how fast anyone can guess.
//
// Each "session" channel of a logged-in connection runs at most one CLI:
// "shell" starts Server.Session (after an optional "pty-req"), "exec" runs
// one command through Server.Exec. "window-change" is passed on; "env" and
// everything else is refused.
package sshd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/palisade/palisade/vpn/ike/ratelog"
)

// WindowSize is a terminal size in characters, from "pty-req" and
// "window-change". Zero means the client does not know (ssh -tt with
// stdin not a terminal sends 0x0); the CLI should then keep its default.
type WindowSize struct {
	Cols, Rows int
}

// KeyUser is the only user public keys log in as: the keys come from
// "system root-authentication", so they are root's.
const KeyUser = "root"

// handshakeTimeout bounds the time from accept to a logged-in connection, so
// that a client that connects and stays silent does not hold a goroutine and
// a socket for ever. OpenSSH's LoginGraceTime is also 120 s.
const handshakeTimeout = 2 * time.Minute

// Server is an SSH server for the CLI. Its zero value is not usable: Session
// or Exec and Auth or AuthorizedKeys must be set for anyone to get in.
type Server struct {
	// Addr is the address ListenAndServe listens on; ":22" when empty.
	Addr string
	// HostKeyPath keeps the ed25519 host key, made at the first start
	// and loaded on later ones so that clients' known_hosts entries stay
	// valid across reboots. Empty gives a new key at every start, for
	// tests.
	HostKeyPath string
	// Rand makes the host key and feeds the key exchange;
	// crypto/rand.Reader when nil. Connections read it concurrently.
	Rand io.Reader
	// Auth checks a password login, typically with auth.Verify against
	// root-authentication. Nil refuses every password.
	Auth func(user, pass string) bool
	// AuthorizedKeys returns the public keys that may log in as KeyUser.
	// It is called at every login, so a commit that changes the keys
	// takes effect on the next connection. Nil refuses every key.
	AuthorizedKeys func() []ssh.PublicKey
	// Session runs an interactive CLI on ch until the user leaves, ch
	// fails or ctx is done. term is the TERM of the "pty-req", empty
	// when the client asked for none. winch delivers the size from
	// "pty-req" and every later "window-change"; it is never closed, so
	// stop reading it when ctx is done. A non-nil error is logged and
	// sent to the client as exit status 1. Nil refuses "shell".
	Session func(ctx context.Context, ch io.ReadWriter, user, term string, winch <-chan WindowSize) error
	// Exec runs one CLI command ("ssh router show route") on ch, with
	// no terminal. A non-nil error goes to the client's stderr, with
	// exit status 1. Nil refuses "exec".
	Exec func(ctx context.Context, ch io.ReadWriter, user, command string) error
	// MaskCommand returns an exec command as it may be logged, its
	// secrets (a pre-shared key in a "set") masked. When nil only the
	// first word is logged, since this package cannot tell which words
	// are secret.
	MaskCommand func(command string) string
	// Log receives logins, failures and closed sessions; discarded when
	// nil. Failed and successful logins and refused connections carry
	// the attribute security=true.
	Log *slog.Logger

	// MaxStartups caps the connections that have not logged in yet, and
	// PerSourceMaxStartups those of them from one address (one /64 for
	// IPv6), as OpenSSH's settings of those names do; a connection over
	// either cap is closed at once after accept. 32 and 4 when zero.
	MaxStartups, PerSourceMaxStartups int
	// MaxAuthTries caps the failed logins on one connection; 3 when
	// zero. Public keys a client merely offers count only past that
	// many, as in the library.
	MaxAuthTries int
	// Now reads the clock for the failure delays and the log rate
	// limit; time.Now when nil.
	Now func() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then; it
	// delays the reply to a failed password. A timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
}

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func (s *Server) rand() io.Reader {
	if s.Rand == nil {
		return rand.Reader
	}
	return s.Rand
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// ListenAndServe listens on s.Addr and serves until ctx is done.
func (s *Server) ListenAndServe(ctx context.Context) error {
	addr := s.Addr
	if addr == "" {
		addr = ":22"
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for SSH on %s: %w", addr, err)
	}
	return s.Serve(ctx, l)
}

// Serve loads or makes the host key, then accepts connections on l until
// ctx is done. It closes l, and returns only after every connection it
// accepted is closed and every goroutine it started has ended; when ctx
// ends that means it waits for Session and Exec to return, which they must
// do when their ctx is done. It returns nil when stopped by ctx.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	defer l.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	// Connections watch this ctx, not the caller's, so that an accept
	// error that ends Serve also ends them before wg.Wait.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg, err := s.config(ctx)
	if err != nil {
		return err
	}
	s.log().Info("ssh listening", "addr", l.Addr().String(), "hostkey", ssh.FingerprintSHA256(cfg.hostKey.PublicKey()))
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()

	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(ratelog.Window)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				cfg.refused.Flush()
				return
			case <-t.C:
				cfg.refused.Flush()
			}
		}
	}()

	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accepting SSH connections: %w", err)
			}
			// Out of file descriptors and the like pass; backing off
			// as net/http does keeps a connection flood from turning
			// into a busy loop or ending the service.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log().Warn("ssh accept failed", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		backoff = 0
		// Refused before the handshake, which is what costs CPU and
		// a goroutine.
		src := sourceOf(nc.RemoteAddr())
		if cause, ok := cfg.startups.acquire(src); !ok {
			nc.Close()
			cfg.refused.Warn(cause, "remote", nc.RemoteAddr().String(), "security", true)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, cfg, nc, src)
		}()
	}
}

// serverConfig is an ssh.ServerConfig with the host key kept for logging,
// and the state of one Serve that bounds unauthenticated clients.
type serverConfig struct {
	*ssh.ServerConfig
	hostKey  ssh.Signer
	startups *startups
	failures *failures
	refused  *ratelog.Limiter // refused connections and public keys
}

// Algorithms negotiated, set explicitly so that a library update cannot
// bring back one a client could be downgraded to. Left out: SHA-1 key
// exchanges (diffie-hellman-group1/14-sha1, group-exchange-sha1) and
// group14-sha256 (2048-bit), CBC and RC4 ciphers, hmac-sha1 and
// hmac-sha1-96, and ssh-rsa (SHA-1) signatures. curve25519-sha256 brings
// its old name curve25519-sha256@libssh.org along.
var (
	kexAlgorithms = []string{
		ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeCurve25519,
		ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521,
		ssh.KeyExchangeDH16SHA512,
	}
	cipherAlgorithms = []string{
		ssh.CipherAES128GCM, ssh.CipherAES256GCM, ssh.CipherChaCha20Poly1305,
		ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR,
	}
	macAlgorithms = []string{
		ssh.HMACSHA256ETM, ssh.HMACSHA512ETM, ssh.HMACSHA256, ssh.HMACSHA512,
	}
	publicKeyAuthAlgorithms = []string{
		ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512,
	}
)

// Permissions extensions that carry how a user logged in, for the log.
const (
	extMethod = "palisade-method"
	extKey    = "palisade-key"
)

// config makes the configuration of one Serve; ctx ends the failure
// delays when Serve stops.
func (s *Server) config(ctx context.Context) (serverConfig, error) {
	key, err := s.hostKey()
	if err != nil {
		return serverConfig{}, err
	}
	sc := serverConfig{
		hostKey: key,
		startups: &startups{
			total:     orDefault(s.MaxStartups, defaultMaxStartups),
			perSource: orDefault(s.PerSourceMaxStartups, defaultPerSourceMaxStartups),
			bySource:  map[netip.Addr]int{},
		},
		failures: &failures{now: s.now, bySource: map[netip.Addr]*failState{}},
		refused:  ratelog.New(s.log(), s.now),
	}
	// checkPassword waits before the library sends a failure, so that
	// the verdict itself comes late; the wait belongs to the source, not
	// the connection, so reconnecting or connecting in parallel does not
	// shorten it.
	checkPassword := func(c ssh.ConnMetadata, method, pass string) (*ssh.Permissions, error) {
		src := sourceOf(c.RemoteAddr())
		if s.Auth != nil && s.Auth(c.User(), pass) {
			sc.failures.succeed(src)
			return &ssh.Permissions{Extensions: map[string]string{extMethod: method}}, nil
		}
		// One line per failure, each after the previous one's delay
		// from the same source: one source logs at most
		// PerSourceMaxStartups lines at once, then one per delay
		// (1 s growing to 30 s); all sources together at most
		// MaxStartups lines a second.
		d, n := sc.failures.fail(src)
		s.log().Warn("ssh login failed", "user", c.User(), "remote", c.RemoteAddr().String(),
			"method", method, "failures", n, "delay", d, "security", true)
		s.sleep(ctx, d)
		return nil, errors.New("password refused")
	}
	cfg := &ssh.ServerConfig{
		Config: ssh.Config{
			Rand:         s.rand(),
			KeyExchanges: kexAlgorithms,
			Ciphers:      cipherAlgorithms,
			MACs:         macAlgorithms,
		},
		PublicKeyAuthAlgorithms: publicKeyAuthAlgorithms,
		MaxAuthTries:            orDefault(s.MaxAuthTries, defaultMaxAuthTries),
		PasswordCallback: func(c ssh.ConnMetadata, pass []byte) (*ssh.Permissions, error) {
			return checkPassword(c, "password", string(pass))
		},
		// OpenSSH clients try keyboard-interactive before password;
		// offering it with a single password prompt spares users a
		// PreferredAuthentications setting.
		KeyboardInteractiveCallback: func(c ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			answers, err := ask("", "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			pass := ""
			if len(answers) == 1 {
				pass = answers[0]
			}
			return checkPassword(c, "keyboard-interactive", pass)
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() != KeyUser || s.AuthorizedKeys == nil {
				return nil, errors.New("public key refused")
			}
			// The library checks the signature after this returns; here
			// only membership is decided. Public keys are not secret,
			// so a plain comparison is fine.
			for _, k := range s.AuthorizedKeys() {
				if k != nil && string(k.Marshal()) == string(key.Marshal()) {
					return &ssh.Permissions{Extensions: map[string]string{
						extMethod: "publickey",
						extKey:    ssh.FingerprintSHA256(key),
					}}, nil
				}
			}
			return nil, errors.New("public key refused")
		},
		// Passwords log their failures above. A refused public key is
		// often only one of several a client offers before the right
		// one, and costs no delay, so its lines are rate-limited.
		AuthLogCallback: func(c ssh.ConnMetadata, method string, err error) {
			if err != nil && method == "publickey" {
				sc.refused.Warn("ssh public key refused", "user", c.User(), "remote", c.RemoteAddr().String(), "security", true)
			}
		},
	}
	cfg.AddHostKey(key)
	sc.ServerConfig = cfg
	return sc, nil
}

func (s *Server) serveConn(ctx context.Context, cfg serverConfig, nc net.Conn, src netip.Addr) {
	defer nc.Close()
	// Closing the socket is what unblocks the handshake, the channel
	// reads of Session and the library's own goroutines.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	log := s.log().With("remote", nc.RemoteAddr().String())

	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg.ServerConfig)
	cfg.startups.release(src)
	if err != nil {
		log.Debug("ssh handshake failed", "err", err)
		return
	}
	nc.SetDeadline(time.Time{})
	log = log.With("user", sc.User())
	if fp := sc.Permissions.Extensions[extKey]; fp != "" {
		log.Info("ssh login", "method", sc.Permissions.Extensions[extMethod], "key", fp, "security", true)
	} else {
		log.Info("ssh login", "method", sc.Permissions.Extensions[extMethod], "security", true)
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	// Global requests (port forwarding, keepalives) are all refused.
	wg.Add(1)
	go func() {
		defer wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	// chans is closed when the connection ends, whoever ends it.
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only session channels are served")
			continue
		}
		ch, chReqs, err := nch.Accept()
		if err != nil {
			log.Debug("ssh accepting a session channel", "err", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveSession(ctx, log, sc.User(), ch, chReqs)
		}()
	}
	log.Info("ssh connection closed")
}
