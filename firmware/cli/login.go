package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// ErrLoginFailed is returned by Login after too many wrong passwords.
var ErrLoginFailed = errors.New("login failed")

// LoginPrompt asks for a user name and a password, as a console's
// "login:" prompt does.
type LoginPrompt struct {
	In  io.Reader
	Out io.Writer
	// Echo writes the typed user name back, for raw terminals and SSH
	// channels; a cooked terminal echoes by itself.
	Echo  bool
	Check func(user, pass string) bool
	Tries int // 3 when zero
	// Guard delays the replies to wrong passwords and logs the
	// attempts; nil gives one that lasts for this Run and logs nothing.
	Guard *LoginGuard

	cr bool // the last line ended with \r: skip a \n right after it
}

// LoginGuard paces and logs the logins of one terminal. After each wrong
// password it waits before "Login incorrect": 1 s, doubling at each
// failure up to 30 s, so that a script on the serial port gets a few dozen
// guesses an hour instead of hundreds a second. Keep one per terminal
// across Login calls: a console prompts again after the tries run out, and
// that must not reset the delay. A success, or loginForget without a
// failure, does.
type LoginGuard struct {
	Terminal string       // named in the log lines: ttyS0
	Log      *slog.Logger // failed and successful logins, marked security=true; nil discards
	Now      func() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then; a
	// timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex // guards failures and last
	failures int
	last     time.Time // of the latest failure
}

const (
	loginDelay    = time.Second
	loginDelayMax = 30 * time.Second
	loginForget   = 5 * time.Minute
)

// fail logs a failure and waits the delay it has earned.
func (g *LoginGuard) fail(ctx context.Context, user string) error {
	now := g.now()
	g.mu.Lock()
	if now.Sub(g.last) >= loginForget {
		g.failures = 0
	}
	g.failures++
	g.last = now
	n := g.failures
	g.mu.Unlock()
	d := loginDelayMax
	if n <= 6 { // loginDelay<<5 is past the cap already
		d = min(loginDelay<<(n-1), loginDelayMax)
	}
	// One line per failure, each followed by its delay: a terminal
	// logs at most one line a second, one per 30 s after six failures.
	g.log().Warn("login failed", "terminal", g.Terminal, "user", user, "failures", n, "delay", d, "security", true)
	return g.sleep(ctx, d)
}

func (g *LoginGuard) succeed(user string) {
	g.mu.Lock()
	g.failures = 0
	g.mu.Unlock()
	g.log().Info("login", "terminal", g.Terminal, "user", user, "security", true)
}

func (g *LoginGuard) log() *slog.Logger {
	if g.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Log
}

func (g *LoginGuard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *LoginGuard) sleep(ctx context.Context, d time.Duration) error {
	if g.Sleep != nil {
		return g.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Login prompts on in/out until check accepts a user and password, with a
// LoginGuard that lasts for this call and logs nothing; a console uses
// LoginGuard.Login instead.
func Login(ctx context.Context, in io.Reader, out io.Writer, check func(user, pass string) bool) (string, error) {
	return (&LoginGuard{}).Login(ctx, in, out, check)
}

// Login prompts on in/out until check accepts a user and password, pacing
// and logging the attempts. When in is a terminal it is put in raw mode
// meanwhile, so that the password is not echoed. It reads byte by byte, so
// nothing after the password is consumed.
func (g *LoginGuard) Login(ctx context.Context, in io.Reader, out io.Writer, check func(user, pass string) bool) (string, error) {
	p := LoginPrompt{In: in, Out: out, Check: check, Guard: g}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		st, err := term.MakeRaw(int(f.Fd()))
		if err != nil {
			return "", fmt.Errorf("console raw mode: %w", err)
		}
		defer term.Restore(int(f.Fd()), st)
		p.Echo = true
	}
	return p.Run(ctx)
}

// Run prompts until a user logs in, the tries run out, or ctx is done.
func (p LoginPrompt) Run(ctx context.Context) (string, error) {
	pp := &p
	if p.Guard == nil {
		p.Guard = &LoginGuard{}
	}
	tries := p.Tries
	if tries == 0 {
		tries = 3
	}
	for i := 0; i < tries; i++ {
		user := ""
		for user == "" {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			io.WriteString(p.Out, "login: ")
			u, err := pp.readLine(p.Echo)
			if err != nil {
				return "", fmt.Errorf("reading the user name: %w", err)
			}
			user = u
		}
		io.WriteString(p.Out, "Password:")
		pass, err := pp.readLine(false)
		io.WriteString(p.Out, "\r\n")
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if p.Check(user, pass) {
			p.Guard.succeed(user)
			return user, nil
		}
		if err := p.Guard.fail(ctx, user); err != nil {
			return "", err
		}
		io.WriteString(p.Out, "Login incorrect\r\n")
	}
	return "", ErrLoginFailed
}

func (p *LoginPrompt) readLine(echo bool) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := p.In.Read(b)
		if n == 0 {
			if err == nil {
				continue
			}
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return string(line), nil
			}
			return "", err
		}
		c := b[0]
		if p.cr && c == '\n' {
			p.cr = false
			continue
		}
		p.cr = c == '\r'
		switch c {
		case '\r', '\n':
			if echo {
				io.WriteString(p.Out, "\r\n")
			}
			return string(line), nil
		case 3: // Ctrl-C starts over
			return "", nil
		case 127, 8:
			if len(line) > 0 {
				line = line[:len(line)-1]
				if echo {
					io.WriteString(p.Out, "\b \b")
				}
			}
		default:
			if c < ' ' {
				continue
			}
			line = append(line, c)
			if echo {
				p.Out.Write(b)
			}
		}
	}
}
