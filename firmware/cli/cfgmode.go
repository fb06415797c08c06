package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/palisade/palisade/firmware/config"
)

// configTree is the tree of configuration mode commands.
func (s *Session) configTree() *cmdNode {
	kw := func(name, help string, kids ...*cmdNode) *cmdNode {
		return &cmdNode{name: name, help: help, kids: kids}
	}
	run := func(n *cmdNode, f func(context.Context, *Session, *invocation) error) *cmdNode {
		n.run = f
		return n
	}
	flag := func(name, help string) *cmdNode { return &cmdNode{name: name, help: help, kind: optFlag} }
	load := func(name, help string, f func(context.Context, *Session, *invocation) error) *cmdNode {
		n := run(kw(name, help,
			flag("terminal", "Use login terminal"),
			&cmdNode{name: "filename", help: "Filename (URL, local, remote, or floppy)", kind: argNode, value: "<filename>"}), f)
		n.needArg = true
		return n
	}
	return &cmdNode{kids: []*cmdNode{
		run(kw("commit", "Commit current set of changes",
			flag("and-quit", "Quit configuration mode if commit succeeds"),
			flag("check", "Check correctness of syntax; do not apply changes"),
			&cmdNode{name: "comment", help: "Message to write to commit log", kind: optValue, value: "<comment>"},
			&cmdNode{name: "confirmed", help: "Automatically rollback if not confirmed (1..65535 minutes)", kind: optValue,
				optional: true, numeric: true, value: "<confirmed>"}), commit),
		{name: "delete", help: "Delete a data element", tail: tailDelete, run: deleteCmd},
		{name: "edit", help: "Edit a sub-element", tail: tailEdit, run: editCmd},
		run(kw("exit", "Exit from this level", flag("configuration-mode", "Exit from configuration mode")), exitCmd),
		{name: "insert", help: "Insert a new ordered data element", tail: tailInsert, run: insertCmd},
		kw("load", "Load configuration from ASCII file",
			load("merge", "Merge contents with existing configuration", loadMerge),
			load("override", "Override existing configuration", loadOverride)),
		run(kw("quit", "Quit from this level", flag("configuration-mode", "Exit from configuration mode")), exitCmd),
		run(kw("rollback", "Roll back to previous committed configuration",
			&cmdNode{name: "number", help: "Numeric index of rollback file (0..49)", kind: argNode, numeric: true, value: "<number>"}), rollbackCmd),
		{name: "run", help: "Run an operational-mode command", tail: tailOp},
		{name: "set", help: "Set a parameter", tail: tailSet, run: setCmd},
		{name: "show", help: "Show a parameter", tail: tailShow, run: showCmd},
		run(kw("top", "Exit to top level of configuration"), topCmd),
		run(kw("up", "Exit one level of configuration",
			&cmdNode{name: "count", help: "Number of levels to move up", kind: argNode, numeric: true, value: "<count>"}), upCmd),
	}}
}

// statement renders a configuration statement for messages.
func statement(verb string, words []string) string {
	return verb + " " + strings.Join(quoteWords(words), " ")
}

func hasMask(words []string) bool {
	for _, w := range words {
		if w == config.Mask {
			return true
		}
	}
	return false
}

func setCmd(_ context.Context, s *Session, inv *invocation) error {
	if len(inv.rest) == 0 {
		return errors.New("missing statement after set")
	}
	st, serr := walkPath(s.levelWords(), inv.rest)
	if serr != nil {
		s.syntaxErr(serr, inv.promptLen)
		return nil
	}
	words := append(s.levelWords(), st.path...)
	stmt := statement("set", words)
	if hasMask(words) {
		return fmt.Errorf("%s: the secret is masked; enter the real value", stmt)
	}
	if err := s.Editor.change(s, func(c *config.Config) error { return c.Set(words) }); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

func deleteCmd(_ context.Context, s *Session, inv *invocation) error {
	st, serr := walkPath(s.levelWords(), inv.rest)
	if serr != nil {
		s.syntaxErr(serr, inv.promptLen)
		return nil
	}
	words := append(s.levelWords(), st.path...)
	if len(inv.rest) == 0 && !s.ask("Delete everything under this level?", false) {
		return nil
	}
	err := s.Editor.change(s, func(c *config.Config) error {
		if len(words) == 0 {
			*c = config.Config{}
			return nil
		}
		return c.Delete(words)
	})
	if err != nil && err.Error() == "statement not found" {
		s.println("warning: statement not found")
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", statement("delete", words), err)
	}
	return nil
}

func insertCmd(_ context.Context, s *Session, inv *invocation) error {
	at := -1
	for i, w := range inv.rest {
		if w.Text == "before" || w.Text == "after" {
			at = i
			break
		}
	}
	if at < 0 {
		return errors.New("syntax error, expecting 'before' or 'after'")
	}
	st, serr := walkPath(s.levelWords(), inv.rest[:at])
	if serr != nil {
		s.syntaxErr(serr, inv.promptLen)
		return nil
	}
	words := append(s.levelWords(), st.path...)
	words = append(words, texts(inv.rest[at:])...)
	if err := s.Editor.change(s, func(c *config.Config) error { return c.Insert(words) }); err != nil {
		return fmt.Errorf("%s: %w", statement("insert", words), err)
	}
	return nil
}

// blocksOf splits the expanded path of st into its blocks (containers and
// list entries).
func blocksOf(st *pathState) [][]string {
	var out [][]string
	start := 0
	for _, end := range st.levels {
		out = append(out, append([]string(nil), st.path[start:end]...))
		start = end
	}
	return out
}

func editCmd(_ context.Context, s *Session, inv *invocation) error {
	if len(inv.rest) == 0 {
		return errors.New("syntax error, expecting <statement>")
	}
	st, serr := walkPath(s.levelWords(), inv.rest)
	if serr != nil {
		s.syntaxErr(serr, inv.promptLen)
		return nil
	}
	if !st.atBlock {
		return fmt.Errorf("%s: not a container or list entry", statement("edit", st.path))
	}
	s.level = append(s.level, blocksOf(st)...)
	return nil
}

func upCmd(_ context.Context, s *Session, inv *invocation) error {
	n, err := inv.int("count", 1)
	if err != nil {
		return err
	}
	if len(s.level) == 0 {
		s.println("warning: already at top of configuration")
		return nil
	}
	s.level = s.level[:max(len(s.level)-n, 0)]
	return nil
}

func topCmd(_ context.Context, s *Session, _ *invocation) error {
	s.level = nil
	return nil
}

func exitCmd(_ context.Context, s *Session, inv *invocation) error {
	if len(s.level) > 0 && !inv.has("configuration-mode") {
		s.level = s.level[:len(s.level)-1]
		return nil
	}
	if s.Editor.Modified() {
		s.println("The configuration has been changed but not committed")
		if !s.ask("Exit with uncommitted changes?", true) {
			return nil
		}
	}
	s.Editor.leave(s)
	s.configMode, s.exclusive, s.level = false, false, nil
	s.println("Exiting configuration mode")
	return nil
}

func showCmd(_ context.Context, s *Session, inv *invocation) error {
	st, serr := walkPath(s.levelWords(), inv.rest)
	if serr != nil {
		s.syntaxErr(serr, inv.promptLen)
		return nil
	}
	if !st.atBlock {
		return errors.New("syntax error, expecting a container or list entry")
	}
	blocks := append(append([][]string(nil), s.level...), blocksOf(st)...)
	var err error
	s.Editor.view(func(c *config.Config) {
		if inv.pipe.compare {
			io.WriteString(inv.out, config.Compare(s.Sys.Active(), c))
			return
		}
		err = showConfig(c, blocks, inv)
	})
	return err
}

// showConfig prints the part of c under blocks, in the brace form or, with
// `| display set`, as set commands.
func showConfig(c *config.Config, blocks [][]string, inv *invocation) error {
	var words []string
	for _, b := range blocks {
		words = append(words, b...)
	}
	if inv.pipe.displaySet {
		prefix := statement("set", words)
		for _, l := range c.SetLines(config.RenderOptions{}) {
			if len(words) == 0 || l == prefix || strings.HasPrefix(l, prefix+" ") {
				inv.printf("%s\n", l)
			}
		}
		return nil
	}
	if inv.pipe.compare {
		return errors.New("compare is available in configuration mode")
	}
	io.WriteString(inv.out, subtree(c.Text(config.RenderOptions{}), blocks))
	return nil
}

// subtree cuts the body of the block path out of a brace-form text,
// without its indentation.
func subtree(text string, blocks [][]string) string {
	lines := strings.SplitAfter(text, "\n")
	from, to := 0, len(lines)
	for depth, b := range blocks {
		ind := strings.Repeat("    ", depth)
		head := ind + strings.Join(quoteWords(b), " ") + " {\n"
		end := ind + "}\n"
		found := false
		for i := from; i < to; i++ {
			if lines[i] != head {
				continue
			}
			j := i + 1
			for j < to && lines[j] != end {
				j++
			}
			from, to, found = i+1, j, true
			break
		}
		if !found {
			return ""
		}
	}
	cut := strings.Repeat("    ", len(blocks))
	var out strings.Builder
	for _, l := range lines[from:to] {
		out.WriteString(strings.TrimPrefix(l, cut))
	}
	return out.String()
}

func commit(ctx context.Context, s *Session, inv *invocation) error {
	opts := CommitOptions{Check: inv.has("check"), User: s.user()}
	opts.Comment, _ = inv.value("comment")
	if inv.has("confirmed") {
		n, err := inv.int("confirmed", 10)
		if err != nil {
			return err
		}
		if n < 1 || n > 65535 {
			return fmt.Errorf("invalid value %d for confirmed: expected 1..65535 minutes", n)
		}
		opts.ConfirmMinutes = n
	}
	warns, err := s.Editor.commit(ctx, s, opts)
	for _, l := range problemLines(warns) {
		s.println(l)
	}
	if err != nil {
		ps, others := commitProblems(err)
		for _, l := range problemLines(ps) {
			s.println(l)
		}
		for _, e := range others {
			for _, l := range errorLines(e) {
				s.println("error: " + l)
			}
		}
		// As Junos: a configuration that does not validate fails its
		// check-out, whether committed or checked; a commit that
		// validated and then failed to apply is a failed commit.
		if opts.Check || len(others) == 0 {
			s.println("error: configuration check-out failed")
		} else {
			s.println("error: commit failed")
		}
		return nil
	}
	switch {
	case opts.Check:
		s.println("configuration check succeeds")
		return nil
	case opts.ConfirmMinutes > 0:
		s.println(fmt.Sprintf("commit confirmed will be automatically rolled back in %d minutes unless confirmed", opts.ConfirmMinutes))
	}
	s.println("commit complete")
	if inv.has("and-quit") {
		s.Editor.leave(s)
		s.configMode, s.exclusive, s.level = false, false, nil
		s.println("Exiting configuration mode")
	}
	return nil
}

func rollbackCmd(_ context.Context, s *Session, inv *invocation) error {
	n, err := inv.int("number", 0)
	if err != nil {
		return err
	}
	if n > 49 {
		return fmt.Errorf("invalid rollback %d: expected 0..49", n)
	}
	c, err := s.Sys.Rollback(n)
	if err != nil {
		return fmt.Errorf("rollback %d: %w", n, err)
	}
	if err := s.Editor.replace(s, c.Clone(), n != 0); err != nil {
		return err
	}
	s.println("load complete")
	return nil
}

// readTerminal reads pasted text up to a line holding only Ctrl-D (or
// "^D"), or the end of input.
func (s *Session) readTerminal() (string, error) {
	s.println("[Type ^D at a new line to end input]")
	var b strings.Builder
	for {
		line, err := s.readLine("")
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		if t := strings.TrimSpace(line); t == "\x04" || t == "^D" {
			break
		}
		b.WriteString(line + "\n")
	}
	return b.String(), nil
}

func loadMerge(_ context.Context, s *Session, inv *invocation) error { return load(s, inv, false) }

func loadOverride(_ context.Context, s *Session, inv *invocation) error { return load(s, inv, true) }

func load(s *Session, inv *invocation, override bool) error {
	var text, file string
	switch name, isFile := inv.value("filename"); {
	case inv.has("terminal"):
		t, err := s.readTerminal()
		if err != nil {
			return err
		}
		text, file = t, "terminal"
	case isFile:
		b, err := s.Sys.ReadFile(name)
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		text, file = string(b), name
	default:
		return errors.New("missing argument: terminal or <filename>")
	}
	var loadErr error
	err := s.Editor.change(s, func(c *config.Config) error {
		next := c.Clone()
		if override {
			next = &config.Config{}
		}
		_, loadErr = next.Apply(file, text)
		*c = *next
		return nil
	})
	if err != nil {
		return err
	}
	if loadErr != nil {
		lines := errorLines(loadErr)
		for _, l := range lines {
			s.println("error: " + l)
		}
		s.println(fmt.Sprintf("load complete (%d errors)", len(lines)))
		return nil
	}
	s.println("load complete")
	return nil
}
