package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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

	cr bool // the last line ended with \r: skip a \n right after it
}

// Login prompts on in/out until check accepts a user and password. When in
// is a terminal it is put in raw mode meanwhile, so that the password is
// not echoed. It reads byte by byte, so nothing after the password is
// consumed.
func Login(ctx context.Context, in io.Reader, out io.Writer, check func(user, pass string) bool) (string, error) {
	p := LoginPrompt{In: in, Out: out, Check: check}
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
			return user, nil
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
