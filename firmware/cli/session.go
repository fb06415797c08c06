package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/palisade/palisade/firmware/config"
)

// Session is one CLI session (the serial console, or one SSH channel).
//
//	operational --configure--> configuration --exit/quit--> operational
//	operational --exit/quit/EOF--> Run returns
type Session struct {
	In  io.Reader
	Out io.Writer
	Sys System
	// Editor is the candidate shared with the other sessions of the box.
	// Nil gives the session an editor of its own.
	Editor *Editor
	User   string // "root" when empty
	// Terminal names the line in "users currently editing" notices
	// (ttyS0, pts/0).
	Terminal string
	// Interactive turns on line editing, history and Tab/? completion
	// (golang.org/x/term). In must then deliver keys as typed: a raw
	// terminal or an SSH channel. Otherwise lines are read as they come,
	// which suits tests and pasted configurations.
	Interactive bool
	// Resize delivers the terminal's size (columns, rows) when it changes,
	// for SSH clients; nil for the serial console, whose size is unknown.
	Resize <-chan [2]int

	out   io.Writer
	in    *input
	term  *term.Terminal
	lines *bufio.Reader

	configMode bool
	exclusive  bool
	level      [][]string // the edit level, one entry per block
	ops, cfg   *cmdNode
	pipes      *cmdNode
	exit       bool
}

var errExit = errors.New("exit")

func (s *Session) user() string {
	if s.User == "" {
		return "root"
	}
	return s.User
}

func (s *Session) terminal() string {
	if s.Terminal == "" {
		return "console"
	}
	return s.Terminal
}

func (s *Session) hostname() string {
	return s.Sys.Active().HostName("palisade")
}

func (s *Session) prompt() string {
	if s.configMode {
		return s.user() + "@" + s.hostname() + "# "
	}
	return s.user() + "@" + s.hostname() + "> "
}

func (s *Session) banner() string {
	if len(s.level) == 0 {
		return "[edit]"
	}
	return "[edit " + strings.Join(quoteWords(s.levelWords()), " ") + "]"
}

func (s *Session) levelWords() []string {
	var out []string
	for _, b := range s.level {
		out = append(out, b...)
	}
	return out
}

// Run reads and executes commands until exit, the end of In, or ctx is
// done. Run returns nil after exit and at the end of In.
func (s *Session) Run(ctx context.Context) error {
	if s.Editor == nil {
		s.Editor = NewEditor(s.Sys)
	}
	s.ops, s.cfg, s.pipes = s.opTree(), s.configTree(), newPipeTree()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.in = newInput(ctx, s.In)
	s.out = s.Out
	if s.Interactive {
		if f, ok := s.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			st, err := term.MakeRaw(int(f.Fd()))
			if err != nil {
				return fmt.Errorf("console raw mode: %w", err)
			}
			defer term.Restore(int(f.Fd()), st)
		}
		s.in.interactive = true
		s.term = term.NewTerminal(struct {
			io.Reader
			io.Writer
		}{s.in, s.Out}, "")
		s.term.AutoCompleteCallback = s.autoComplete
		s.out = s.term
		if s.Resize != nil {
			go s.follow(ctx, s.term)
		}
	} else {
		s.lines = bufio.NewReader(s.in)
	}
	defer func() {
		if s.configMode {
			s.Editor.leave(s)
		}
	}()
	if noRootPassword(s.Sys.Active()) {
		s.println("warning: no root password is configured; set one with 'set system root-authentication plain-text-password'")
	}
	for !s.exit {
		if s.configMode {
			s.println("")
			s.println(s.banner())
		}
		line, err := s.readLine(s.prompt())
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := s.execute(ctx, s.rootTree(), line, len(s.prompt())); errors.Is(err, errExit) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// follow applies window sizes to the line editor until ctx ends. A size of
// 0x0 (a client that does not know) keeps the current one.
func (s *Session) follow(ctx context.Context, t *term.Terminal) {
	for {
		select {
		case <-ctx.Done():
			return
		case sz := <-s.Resize:
			if sz[0] > 0 && sz[1] > 0 {
				t.SetSize(sz[0], sz[1])
			}
		}
	}
}

func noRootPassword(c *config.Config) bool {
	ra := c.System
	if ra == nil || ra.RootAuthentication == nil {
		return true
	}
	r := ra.RootAuthentication
	return r.EncryptedPassword == "" && r.PlainTextPassword == "" && len(r.SSHEd25519) == 0 && len(r.SSHRSA) == 0
}

func (s *Session) rootTree() *cmdNode {
	if s.configMode {
		return s.cfg
	}
	return s.ops
}

func (s *Session) println(line string) {
	io.WriteString(s.out, line+"\n")
}

// readLine reads one line after printing prompt.
func (s *Session) readLine(prompt string) (string, error) {
	if s.term != nil {
		s.term.SetPrompt(prompt)
		line, err := s.term.ReadLine()
		if errors.Is(err, term.ErrPasteIndicator) {
			err = nil
		}
		return line, err
	}
	io.WriteString(s.out, prompt)
	line, err := s.lines.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	// Without a terminal nothing echoes the line: echo it, so that a
	// transcript reads like a session and the ^ marker lines up.
	if prompt != "" {
		io.WriteString(s.out, line+"\n")
	}
	return line, nil
}

// ask asks a yes/no question with a default answer.
func (s *Session) ask(question string, def bool) bool {
	d := "no"
	if def {
		d = "yes"
	}
	line, err := s.readLine(question + " [yes,no] (" + d + ") ")
	if err != nil {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "":
		return def
	case "y", "ye", "yes":
		return true
	}
	return false
}

// marker prints the `^` line under the word at pos of a line after a prompt
// of promptLen characters, and the message.
func (s *Session) syntaxErr(e *syntaxError, promptLen int) {
	s.println(strings.Repeat(" ", max(promptLen+e.pos, 0)) + "^")
	s.println(e.msg)
	if len(e.choices) > 0 {
		io.WriteString(s.out, formatCompletions(e.choices))
	}
}

// execute runs one command line from tree. promptLen is where the line
// starts on the screen, for the `^` marker.
func (s *Session) execute(ctx context.Context, tree *cmdNode, line string, promptLen int) error {
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return nil // a comment, as in pasted configuration files
	}
	l, err := ParseLine(line)
	if err != nil {
		s.println("error: " + err.Error())
		return nil
	}
	if len(l.Words) == 0 {
		if len(l.Pipes) > 0 {
			s.println("error: missing command before |")
		}
		return nil
	}
	w, serr := tree.resolve(l.Words)
	if serr != nil {
		s.syntaxErr(serr, promptLen)
		return nil
	}
	if w.node.tail == tailOp && len(w.args.rest) > 0 {
		// `run CMD`: the rest of the line, pipes and all, is an
		// operational command.
		at := w.args.rest[0].Pos
		return s.execute(ctx, s.ops, line[at:], promptLen+at)
	}
	if w.node.run == nil {
		last := l.Words[len(l.Words)-1]
		s.syntaxErr(&syntaxError{pos: last.Pos + len(last.Text) + 1, msg: "syntax error, expecting <command>."}, promptLen)
		return nil
	}
	stages, po, err := buildPipes(s.pipes, l.Pipes)
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			s.syntaxErr(se, promptLen)
		} else {
			s.println("error: " + err.Error())
		}
		return nil
	}
	fw := &filterWriter{w: s.out, stages: stages}
	cctx, cancel := context.WithCancel(ctx)
	stop := s.in.watch(cancel)
	inv := &invocation{args: w.args, out: fw, pipe: po, promptLen: promptLen}
	err = w.node.run(cctx, s, inv)
	stop()
	interrupted := cctx.Err() != nil && ctx.Err() == nil
	cancel()
	if cerr := fw.Close(); err == nil {
		err = cerr
	}
	switch {
	case errors.Is(err, errExit):
		return err
	case err != nil && interrupted:
		// Ctrl-C: the command stopped as asked.
	case err != nil:
		for _, l := range errorLines(err) {
			if !strings.HasPrefix(l, "warning: ") && !strings.HasPrefix(l, "error: ") {
				l = "error: " + l
			}
			s.println(l)
		}
	}
	return nil
}

// invocation is what a command's handler gets besides the session.
type invocation struct {
	*args
	out       io.Writer
	pipe      pipeOpts
	promptLen int
}

func (inv *invocation) printf(format string, a ...any) {
	fmt.Fprintf(inv.out, format, a...)
}

// input pumps In through a goroutine, so that a running command can watch
// for Ctrl-C (ETX) while the reader of lines is idle. The pump goroutine
// ends when In returns an error or ctx is done and In's Read returns.
type input struct {
	ch          chan []byte
	done        <-chan struct{}
	interactive bool
	// more wakes a Read that waits while the watcher of a running command
	// moves input to pending (the answer to a question the command asks).
	more chan struct{}

	mu      sync.Mutex // guards the fields below
	pending []byte
	err     error
}

func newInput(ctx context.Context, r io.Reader) *input {
	in := &input{ch: make(chan []byte), done: ctx.Done(), more: make(chan struct{}, 1)}
	go func() {
		for {
			buf := make([]byte, 4096)
			n, err := r.Read(buf)
			if n > 0 {
				select {
				case in.ch <- buf[:n]:
				case <-in.done:
					return
				}
			}
			if err != nil {
				in.mu.Lock()
				in.err = err
				in.mu.Unlock()
				close(in.ch)
				return
			}
		}
	}()
	return in
}

func (in *input) Read(p []byte) (int, error) {
	for {
		in.mu.Lock()
		if len(in.pending) > 0 {
			n := copy(p, in.pending)
			in.pending = in.pending[n:]
			in.mu.Unlock()
			return n, nil
		}
		in.mu.Unlock()
		select {
		case b, ok := <-in.ch:
			if !ok {
				in.mu.Lock()
				defer in.mu.Unlock()
				return 0, in.err
			}
			if in.interactive {
				// At the prompt Ctrl-C abandons the line, as on Junos;
				// x/term would end the session instead.
				b = bytes.ReplaceAll(b, []byte{3}, []byte{0x15, '\r'})
			}
			n := copy(p, b)
			if n < len(b) {
				in.mu.Lock()
				in.pending = append(in.pending, b[n:]...)
				in.mu.Unlock()
			}
			return n, nil
		case <-in.more:
			// The watcher kept input in pending: take it from there.
		case <-in.done:
			return 0, io.EOF
		}
	}
}

// watch consumes input while a command runs: Ctrl-C calls cancel, anything
// else is kept for the next read. The returned stop waits for the watcher.
func (in *input) watch(cancel func()) (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case b, ok := <-in.ch:
				if !ok {
					// Keep the end of input for the reader; a
					// closed channel reads again as closed.
					return
				}
				if i := bytes.IndexByte(b, 3); i >= 0 {
					b = append(b[:i:i], b[i+1:]...)
					cancel()
				}
				in.mu.Lock()
				in.pending = append(in.pending, b...)
				in.mu.Unlock()
				select {
				case in.more <- struct{}{}:
				default: // a wake-up is already waiting
				}
			case <-quit:
				return
			case <-in.done:
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}
