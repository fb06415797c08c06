package cli

import (
	"strings"

	"github.com/palisade/palisade/firmware/config"
)

// complete lists what may follow line (the text before the cursor), and
// the partial word being completed.
func (s *Session) complete(line string) ([]completion, string) {
	l, err := ParseLine(line)
	if err != nil {
		return nil, ""
	}
	tree, words := s.rootTree(), l.Words
	if len(l.Pipes) > 0 {
		tree, words = s.pipes, l.Pipes[len(l.Pipes)-1]
	}
	partial := ""
	if !l.Trailing && len(words) > 0 {
		partial = words[len(words)-1].Text
		words = words[:len(words)-1]
	}
	return s.completeIn(tree, words, partial), partial
}

func (s *Session) completeIn(tree *cmdNode, words []Word, partial string) []completion {
	w, serr := tree.resolve(words)
	if serr != nil {
		if w.want != nil && partial == "" {
			return []completion{{w.want.value, w.want.help}}
		}
		return nil
	}
	switch w.node.tail {
	case tailNone:
		return w.node.completions(partial, w.used)
	case tailOp:
		return s.completeIn(s.ops, w.args.rest, partial)
	}
	level := s.levelWords()
	if tree == s.ops {
		level = nil
	}
	st, perr := walkPath(level, w.args.rest)
	if perr != nil {
		return nil
	}
	var names []string
	s.withConfig(tree == s.ops, func(c *config.Config) { names = st.configNames(c) })
	cs := st.completions(partial, names)
	if w.node.tail == tailShow && partial == "" && st.atBlock && st.exp == expKeyword {
		cs = append([]completion{{"<[Enter]>", "Execute this command"}}, cs...)
	}
	return cs
}

// autoComplete is the x/term callback for Tab and `?`.
func (s *Session) autoComplete(line string, pos int, key rune) (string, int, bool) {
	switch key {
	case '\t':
		cs, partial := s.complete(line[:pos])
		var names []string
		for _, c := range cs {
			if !strings.HasPrefix(c.name, "<") {
				names = append(names, c.name)
			}
		}
		if len(names) == 0 {
			return "", 0, false
		}
		common := names[0]
		for _, n := range names[1:] {
			for !strings.HasPrefix(n, common) {
				common = common[:len(common)-1]
			}
		}
		if len(names) == 1 {
			common += " "
		} else if common == partial {
			io := s.term
			io.Write([]byte(s.prompt() + line + "\n" + formatCompletions(cs)))
			return line, pos, true
		}
		head := line[:pos-len(partial)]
		return head + common + line[pos:], len(head) + len(common), true
	case '?':
		// A `?` inside a quoted string is text.
		if strings.Count(line[:pos], `"`)%2 == 1 {
			return "", 0, false
		}
		cs, _ := s.complete(line[:pos])
		text := "No valid completions\n"
		if len(cs) > 0 {
			text = formatCompletions(cs)
		}
		s.term.Write([]byte(s.prompt() + line + "?\n" + text))
		return line, pos, true
	}
	return "", 0, false
}

// withConfig calls f with the configuration a command is about, which f
// must not modify: the active one for operational commands (`show
// configuration`, also through `run`), else the candidate, read under the
// editor's lock since other sessions may change it meanwhile. A commit
// holds that lock while it applies, so another user's `?` waits for it to
// finish (seconds at most); a read-write lock would not help, as the commit
// must not see the candidate change under it either.
func (s *Session) withConfig(operational bool, f func(c *config.Config)) {
	if operational || s.Editor == nil {
		if s.Sys != nil {
			f(s.Sys.Active())
		}
		return
	}
	s.Editor.view(f)
}
