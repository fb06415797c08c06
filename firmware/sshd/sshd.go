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
//	accepted --handshake and login--> logged in --channels end or ctx done--> closed
//	accepted --handshake timeout, failed login, ctx done--> closed
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
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
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
	// crypto/rand.Reader when nil.
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
	// Log receives logins, failures and closed sessions; discarded when
	// nil.
	Log *slog.Logger
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
	cfg, err := s.config()
	if err != nil {
		return err
	}
	s.log().Info("ssh listening", "addr", l.Addr().String(), "hostkey", ssh.FingerprintSHA256(cfg.hostKey.PublicKey()))

	var wg sync.WaitGroup
	defer wg.Wait()
	// Connections watch this ctx, not the caller's, so that an accept
	// error that ends Serve also ends them before wg.Wait.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()

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
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, cfg, nc)
		}()
	}
}

// serverConfig is an ssh.ServerConfig with the host key kept for logging.
type serverConfig struct {
	*ssh.ServerConfig
	hostKey ssh.Signer
}

// Permissions extensions that carry how a user logged in, for the log.
const (
	extMethod = "palisade-method"
	extKey    = "palisade-key"
)

func (s *Server) config() (serverConfig, error) {
	key, err := s.hostKey()
	if err != nil {
		return serverConfig{}, err
	}
	cfg := &ssh.ServerConfig{
		Config: ssh.Config{Rand: s.rand()},
		PasswordCallback: func(c ssh.ConnMetadata, pass []byte) (*ssh.Permissions, error) {
			if s.Auth != nil && s.Auth(c.User(), string(pass)) {
				return &ssh.Permissions{Extensions: map[string]string{extMethod: "password"}}, nil
			}
			return nil, errors.New("password refused")
		},
		// OpenSSH clients try keyboard-interactive before password;
		// offering it with a single password prompt spares users a
		// PreferredAuthentications setting.
		KeyboardInteractiveCallback: func(c ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			answers, err := ask("", "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			if len(answers) == 1 && s.Auth != nil && s.Auth(c.User(), answers[0]) {
				return &ssh.Permissions{Extensions: map[string]string{extMethod: "keyboard-interactive"}}, nil
			}
			return nil, errors.New("password refused")
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
		AuthLogCallback: func(c ssh.ConnMetadata, method string, err error) {
			if err != nil && method != "none" {
				s.log().Info("ssh login failed", "user", c.User(), "remote", c.RemoteAddr().String(), "method", method)
			}
		},
	}
	cfg.AddHostKey(key)
	return serverConfig{ServerConfig: cfg, hostKey: key}, nil
}

func (s *Server) serveConn(ctx context.Context, cfg serverConfig, nc net.Conn) {
	defer nc.Close()
	// Closing the socket is what unblocks the handshake, the channel
	// reads of Session and the library's own goroutines.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	log := s.log().With("remote", nc.RemoteAddr().String())

	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg.ServerConfig)
	if err != nil {
		log.Debug("ssh handshake failed", "err", err)
		return
	}
	nc.SetDeadline(time.Time{})
	log = log.With("user", sc.User())
	if fp := sc.Permissions.Extensions[extKey]; fp != "" {
		log.Info("ssh login", "method", sc.Permissions.Extensions[extMethod], "key", fp)
	} else {
		log.Info("ssh login", "method", sc.Permissions.Extensions[extMethod])
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
