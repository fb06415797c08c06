package sshd

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Payloads of the session requests, RFC 4254 section 6.
type (
	ptyReq struct {
		Term                 string
		Cols, Rows, PxW, PxH uint32
		Modes                string
	}
	windowChange struct {
		Cols, Rows, PxW, PxH uint32
	}
	execReq struct {
		Command string
	}
	exitStatus struct {
		Status uint32
	}
)

// serveSession answers the requests of one session channel until the
// channel is closed, and runs the CLI once "shell" or "exec" asks for it.
func (s *Server) serveSession(ctx context.Context, log *slog.Logger, user string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	ctx, cancel := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer running.Wait()
	defer cancel()
	defer ch.Close()

	var (
		term    string
		started bool
		// One slot, only ever written by this goroutine: a newer size
		// replaces one the CLI has not read yet.
		winch = make(chan WindowSize, 1)
	)
	resize := func(cols, rows uint32) {
		select {
		case <-winch:
		default:
		}
		winch <- WindowSize{Cols: int(cols), Rows: int(rows)}
	}
	// start runs fn in its own goroutine, so that this one goes on
	// answering window-change while the CLI runs; the library stalls
	// the channel if its requests are not read. The caller has replied
	// to the request already: a CLI that ends at once must not close the
	// channel before the client has its "yes".
	start := func(what string, fn func() error, errToClient bool) {
		running.Add(1)
		go func() {
			defer running.Done()
			var status uint32
			if err := fn(); err != nil {
				status = 1
				log.Info("ssh "+what+" failed", "err", err)
				if errToClient {
					fmt.Fprintf(ch.Stderr(), "error: %v\n", err)
				}
			}
			// Errors here mean the client has gone already.
			ch.SendRequest("exit-status", false, ssh.Marshal(exitStatus{status}))
			ch.CloseWrite()
			ch.Close()
		}()
	}

	// reqs is closed when both sides have closed the channel or the
	// connection ends.
	for req := range reqs {
		ok := false
		var (
			cli         func() error // set when the request starts the CLI
			what        string
			errToClient bool
		)
		switch req.Type {
		case "pty-req":
			var p ptyReq
			if ssh.Unmarshal(req.Payload, &p) == nil && !started {
				term = p.Term
				resize(p.Cols, p.Rows)
				ok = true
			}
		case "window-change":
			var w windowChange
			if ssh.Unmarshal(req.Payload, &w) == nil {
				resize(w.Cols, w.Rows)
				ok = true
			}
		case "shell":
			if !started && s.Session != nil {
				t := term
				cli = func() error { return s.Session(ctx, ch, user, t, winch) }
				what = "shell"
			}
		case "exec":
			var e execReq
			if ssh.Unmarshal(req.Payload, &e) == nil && !started && s.Exec != nil {
				log.Info("ssh exec", "command", s.maskCommand(e.Command))
				cli = func() error { return s.Exec(ctx, ch, user, e.Command) }
				what, errToClient = "exec", true
			}
		}
		// "env", "subsystem" (sftp), "x11-req", agent forwarding and
		// signals are refused: the CLI is the only thing served.
		req.Reply(ok || cli != nil, nil)
		if cli != nil {
			started = true
			start(what, cli, errToClient)
		}
	}
}

// maskCommand is the command as logged: secrets masked by s.MaskCommand,
// or only the first word when there is none to tell which words are secret.
func (s *Server) maskCommand(cmd string) string {
	if s.MaskCommand != nil {
		return s.MaskCommand(cmd)
	}
	if f := strings.Fields(cmd); len(f) > 1 {
		return f[0] + " ..."
	}
	return cmd
}
