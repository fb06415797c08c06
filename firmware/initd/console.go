package initd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"github.com/palisade/palisade/firmware/backend"
	"github.com/palisade/palisade/firmware/cli"
)

// Console serves the CLI on the serial port: a login, then a session, again
// and again.
type Console struct {
	TTY      io.ReadWriter
	Terminal string // ttyS0
	Sys      *backend.System
	Editor   *cli.Editor
	Check    func(user, pass string) bool
	// Log receives failed and successful logins (security=true); nil
	// discards them.
	Log *slog.Logger
}

// Run serves logins until ctx ends.
func (c Console) Run(ctx context.Context) error {
	f, isFile := c.TTY.(*os.File)
	interactive := isFile && term.IsTerminal(int(f.Fd()))
	// One guard for all the logins on this terminal: the delay after
	// wrong passwords must survive the prompt starting over.
	guard := &cli.LoginGuard{Terminal: c.Terminal, Log: c.Log}
	for ctx.Err() == nil {
		host := c.Sys.Active().HostName("palisade")
		fmt.Fprintf(c.TTY, "\r\n%s (%s)\r\n\r\n", host, c.Terminal)
		user, err := guard.Login(ctx, c.TTY, c.TTY, c.Check)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(c.TTY, "%v\r\n", err)
			continue
		}
		s := &cli.Session{In: c.TTY, Out: c.TTY, Sys: c.Sys, Editor: c.Editor, User: user,
			Terminal: c.Terminal, Interactive: interactive}
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintf(c.TTY, "session ended: %v\r\n", err)
		}
	}
	return ctx.Err()
}
