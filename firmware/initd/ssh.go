package initd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/ssh"

	"github.com/palisade/palisade/firmware/backend"
	"github.com/palisade/palisade/firmware/boot"
	"github.com/palisade/palisade/firmware/cli"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/sshd"
)

// SSH runs the SSH server while `system services ssh` is configured, and
// restarts it when a commit changes that. Which zones reach it is the
// firewall's business (host-inbound-traffic system-services ssh).
type SSH struct {
	Sys    *backend.System
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
		MaskCommand: maskSecrets,
		Auth: func(user, pass string) bool {
			ra := s.rootAuth()
			// Junos refuses SSH logins as long as root has no password.
			return user == "root" && ra != nil && backend.VerifyPassword(ra, pass)
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

// maskSecrets returns an exec command as it may be logged: the word after
// a keyword of a secret statement (pre-shared-key ascii-text,
// root-authentication plain-text-password) is config.Mask. The keywords
// come from the configuration schema; any word that abbreviates one
// counts, as the CLI accepts abbreviations, so a value that happens to
// follow such a word elsewhere is masked too: a log line may lose a word,
// it must not show a key. A command the CLI could not split (an open
// quote) is cut to its first word.
//
// Wanted in firmware/config instead: a function that masks the secrets of
// a statement by walking the schema, as the displays do.
func maskSecrets(command string) string {
	line, err := cli.ParseLine(command)
	if err != nil {
		if f := strings.Fields(command); len(f) > 1 {
			return f[0] + " ..."
		}
		return command
	}
	var secret []string
	var walk func(n *config.Node)
	walk = func(n *config.Node) {
		for _, c := range append(append([]*config.Node{}, n.Keys...), n.Children...) {
			if c.Secret {
				secret = append(secret, c.Name)
			}
			walk(c)
		}
	}
	walk(config.Schema())
	isSecretKeyword := func(w cli.Word) bool {
		for _, name := range secret {
			if w.Text != "" && !w.Quoted && strings.HasPrefix(name, w.Text) {
				return true
			}
		}
		return false
	}
	render := func(ws []cli.Word) string {
		out := make([]string, len(ws))
		for i, w := range ws {
			switch {
			case i > 0 && isSecretKeyword(ws[i-1]):
				out[i] = `"` + config.Mask + `"`
			case w.Quoted || w.Text == "" || strings.ContainsAny(w.Text, " \t\"|\\"):
				out[i] = strconv.Quote(w.Text)
			default:
				out[i] = w.Text
			}
		}
		return strings.Join(out, " ")
	}
	parts := []string{render(line.Words)}
	for _, p := range line.Pipes {
		parts = append(parts, render(p))
	}
	return strings.Join(parts, " | ")
}
