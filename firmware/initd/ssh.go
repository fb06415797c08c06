package initd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/palisade/palisade/firmware/boot"
	"github.com/palisade/palisade/firmware/cli"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/sshd"
)

// SSH runs the SSH server while `system services ssh` is configured, and
// restarts it when a commit changes that. Which zones reach it is the
// firewall's business (host-inbound-traffic system-services ssh).
type SSH struct {
	Sys    *System
	Editor *cli.Editor
	Log    *slog.Logger
	ptys   atomic.Int32
}

// Run serves until ctx ends.
func (s *SSH) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		changed := s.Sys.Changed()
		c := s.Sys.Active()
		if c.System == nil || c.System.Services == nil || c.System.Services.SSH == nil {
			select {
			case <-ctx.Done():
			case <-changed:
			}
			continue
		}
		port := c.System.Services.SSH.Port
		if port == "" {
			port = fmt.Sprint(config.DefaultSSHPort)
		}
		runCtx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-changed:
			case <-runCtx.Done():
			}
			cancel()
		}()
		err := s.server(":" + port).ListenAndServe(runCtx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *SSH) server(addr string) *sshd.Server {
	keyPath := ""
	if s.Sys.Box.Store != nil {
		keyPath = filepath.Join(boot.ConfigMount, "ssh", "ssh_host_ed25519_key")
	}
	return &sshd.Server{
		Addr:        addr,
		HostKeyPath: keyPath,
		Log:         s.Log.With("service", "ssh"),
		Auth: func(user, pass string) bool {
			ra := s.rootAuth()
			// Junos refuses SSH logins as long as root has no password.
			return user == "root" && ra != nil && VerifyPassword(ra, pass)
		},
		AuthorizedKeys: func() []ssh.PublicKey {
			ra := s.rootAuth()
			if ra == nil {
				return nil
			}
			keys, err := sshd.ParseAuthorizedKeys(append(append([]string{}, ra.SSHEd25519...), ra.SSHRSA...))
			if err != nil {
				s.Log.Warn("system root-authentication keys", "err", err)
			}
			return keys
		},
		Session: func(ctx context.Context, ch io.ReadWriter, user, term string, winch <-chan sshd.WindowSize) error {
			n := s.ptys.Add(1) - 1
			resize := make(chan [2]int)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case w := <-winch:
						select {
						case resize <- [2]int{w.Cols, w.Rows}:
						case <-ctx.Done():
							return
						}
					}
				}
			}()
			sess := &cli.Session{In: ch, Out: ch, Sys: s.Sys, Editor: s.Editor, User: user,
				Terminal: fmt.Sprintf("pts/%d", n), Interactive: term != "", Resize: resize}
			return sess.Run(ctx)
		},
		Exec: func(ctx context.Context, ch io.ReadWriter, user, command string) error {
			sess := &cli.Session{In: strings.NewReader(command + "\n"), Out: ch, Sys: s.Sys, Editor: s.Editor, User: user, Terminal: "ssh"}
			return sess.Run(ctx)
		},
	}
}

func (s *SSH) rootAuth() *config.RootAuthentication {
	c := s.Sys.Active()
	if c.System == nil {
		return nil
	}
	return c.System.RootAuthentication
}
