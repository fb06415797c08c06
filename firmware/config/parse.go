package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Problem is an error or warning about one statement. It prints as
// `FILE:LINE: set ...: text`, the form palisade-cfg check uses.
type Problem struct {
	File      string
	Line      int
	Statement string // in set form
	Message   string
	Warning   bool
}

func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Statement != "" {
		b.WriteString(p.Statement + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Source remembers where each statement came from, so that later messages
// (validation, commit) can name the file and line.
type Source struct {
	File  string
	lines map[string]int // set-form statement -> first line
	stmts []string       // sorted, for prefix lookups
}

func (s *Source) add(stmt string, line int) {
	if s.lines == nil {
		s.lines = map[string]int{}
	}
	if _, ok := s.lines[stmt]; !ok {
		s.lines[stmt] = line
		s.stmts = nil
	}
}

// Line returns the line of stmt, or of the first statement under it, or of
// the closest statement above it; 0 when unknown.
func (s *Source) Line(stmt string) int {
	if s == nil || len(s.lines) == 0 {
		return 0
	}
	if l, ok := s.lines[stmt]; ok {
		return l
	}
	if s.stmts == nil {
		for k := range s.lines {
			s.stmts = append(s.stmts, k)
		}
		sort.Strings(s.stmts)
	}
	best := 0
	i := sort.SearchStrings(s.stmts, stmt+" ")
	for ; i < len(s.stmts) && strings.HasPrefix(s.stmts[i], stmt+" "); i++ {
		if l := s.lines[s.stmts[i]]; best == 0 || l < best {
			best = l
		}
	}
	if best > 0 {
		return best
	}
	// Statements written several to a line (`match source-address a
	// application b`) are recorded whole: find the nearest common ancestor.
	words := strings.Fields(stmt)
	for n := len(words) - 1; n > 1; n-- {
		prefix := strings.Join(words[:n], " ")
		if l, ok := s.lines[prefix]; ok {
			return l
		}
		for i := sort.SearchStrings(s.stmts, prefix+" "); i < len(s.stmts) && strings.HasPrefix(s.stmts[i], prefix+" "); i++ {
			if l := s.lines[s.stmts[i]]; best == 0 || l < best {
				best = l
			}
		}
		if best > 0 {
			return best
		}
	}
	return 0
}

// Locate fills in File and Line of problems that name a statement.
func (s *Source) Locate(ps []*Problem) {
	if s == nil {
		return
	}
	for _, p := range ps {
		if p.File == "" {
			p.File = s.File
		}
		if p.Line == 0 {
			p.Line = s.Line(p.Statement)
		}
	}
}

// statement is one set/delete/insert with the line it started on.
type statement struct {
	verb  string
	words []string
	line  int
}

func (st statement) String() string {
	parts := make([]string, 0, len(st.words)+1)
	parts = append(parts, st.verb)
	for _, w := range st.words {
		if w == "[" || w == "]" {
			parts = append(parts, w)
			continue
		}
		parts = append(parts, quote(w))
	}
	return strings.Join(parts, " ")
}

// IsSetForm reports whether text is in the set form (its first statement is
// set, delete or insert) rather than the brace form.
func IsSetForm(text string) bool {
	toks, err := lex(text)
	if err != nil || len(toks) == 0 {
		return false
	}
	switch toks[0].text {
	case "set", "delete", "insert", "activate", "deactivate":
		return !toks[0].punct
	}
	return false
}

// Apply reads configuration text in the set or the brace form and applies
// it to c: statements in order for the set form, a merge for the brace form.
// Every statement that fails is reported and skipped, so one pass lists all
// problems; the caller decides whether to keep the result.
func (c *Config) Apply(file, text string) (*Source, error) {
	src := &Source{File: file}
	toks, err := lex(text)
	if err != nil {
		return src, &Problem{File: file, Message: err.Error()}
	}
	var stmts []statement
	if IsSetForm(text) {
		stmts, err = setStatements(toks)
	} else {
		stmts, err = braceStatements(toks)
	}
	if err != nil {
		var p *Problem
		if errors.As(err, &p) {
			p.File = file
			return src, p
		}
		return src, &Problem{File: file, Message: err.Error()}
	}
	var errs []error
	ix := newEntryIndex()
	for _, st := range stmts {
		if st.verb == "set" {
			src.add(st.String(), st.line)
		}
		err := rejectMask(st)
		switch {
		case err != nil:
		case st.verb == "set":
			err = c.set(st.words, ix)
		case st.verb == "delete":
			err = c.Delete(st.words)
			ix = newEntryIndex()
		case st.verb == "insert":
			err = c.Insert(st.words)
			ix = newEntryIndex()
		default:
			err = fmt.Errorf("%s is not supported; use set, delete or insert", st.verb)
		}
		if err != nil {
			errs = append(errs, &Problem{File: file, Line: st.line, Statement: st.String(), Message: err.Error()})
		}
	}
	return src, errors.Join(errs...)
}

// rejectMask refuses a masked secret read back from a display: it would
// replace the real key with the mask.
func rejectMask(st statement) error {
	for _, w := range st.words {
		if w == Mask {
			return errors.New("the secret is masked; enter the real value")
		}
	}
	return nil
}

// Parse reads a whole configuration in the set or the brace form.
func Parse(file, text string) (*Config, *Source, error) {
	c := &Config{}
	src, err := c.Apply(file, text)
	return c, src, err
}

// setStatements groups tokens into one statement per line.
func setStatements(toks []token) ([]statement, error) {
	var out []statement
	for i := 0; i < len(toks); {
		line := toks[i].line
		j := i
		for j < len(toks) && toks[j].line == line {
			j++
		}
		group := toks[i:j]
		i = j
		st := statement{verb: group[0].text, line: line}
		if group[0].punct {
			return nil, &Problem{Line: line, Message: fmt.Sprintf("unexpected %q at the start of a statement", group[0].text)}
		}
		for _, t := range group[1:] {
			if t.punct && t.text != "[" && t.text != "]" {
				return nil, &Problem{Line: line, Statement: st.String(), Message: fmt.Sprintf("unexpected %q in a set statement", t.text)}
			}
			st.words = append(st.words, t.text)
		}
		out = append(out, st)
	}
	return out, nil
}

// braceStatements turns the brace form into set statements: each `;` ends a
// statement under the enclosing blocks, and each block head is a statement
// too, so that empty blocks (`permit { }`) keep their meaning.
func braceStatements(toks []token) ([]statement, error) {
	var out []statement
	var stack [][]string
	var cur []string
	curLine := 0
	inBracket := false
	path := func() []string {
		var p []string
		for _, s := range stack {
			p = append(p, s...)
		}
		return append(p, cur...)
	}
	for _, t := range toks {
		if len(cur) == 0 {
			curLine = t.line
		}
		if !t.punct {
			cur = append(cur, t.text)
			continue
		}
		switch t.text {
		case "[":
			if inBracket || len(cur) == 0 {
				return nil, &Problem{Line: t.line, Message: "unexpected ["}
			}
			inBracket = true
			cur = append(cur, "[")
		case "]":
			if !inBracket {
				return nil, &Problem{Line: t.line, Message: "unexpected ]"}
			}
			inBracket = false
			cur = append(cur, "]")
		case ";":
			if inBracket {
				return nil, &Problem{Line: t.line, Message: "missing ] before ;"}
			}
			if len(cur) == 0 {
				continue // a stray ; is harmless
			}
			out = append(out, statement{verb: "set", words: path(), line: curLine})
			cur = nil
		case "{":
			if inBracket || len(cur) == 0 {
				return nil, &Problem{Line: t.line, Message: "unexpected {"}
			}
			out = append(out, statement{verb: "set", words: path(), line: curLine})
			stack = append(stack, cur)
			cur = nil
		case "}":
			if len(cur) > 0 {
				return nil, &Problem{Line: t.line, Message: fmt.Sprintf("missing ; after %q", strings.Join(cur, " "))}
			}
			if len(stack) == 0 {
				return nil, &Problem{Line: t.line, Message: "unbalanced }"}
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(cur) > 0 {
		return nil, &Problem{Line: curLine, Message: fmt.Sprintf("missing ; after %q", strings.Join(cur, " "))}
	}
	if len(stack) > 0 {
		return nil, &Problem{Message: fmt.Sprintf("missing } to close %q", strings.Join(stack[len(stack)-1], " "))}
	}
	return out, nil
}
