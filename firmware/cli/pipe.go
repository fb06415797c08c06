package cli

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

func newPipeTree() *cmdNode {
	nop := func(n *cmdNode) *cmdNode { n.run = runNothing; return n }
	return &cmdNode{kids: []*cmdNode{
		nop(&cmdNode{name: "match", help: "Show only text that matches a pattern", kids: []*cmdNode{
			{name: "pattern", kind: argNode, value: "<pattern>", help: "Pattern to match against"}}}),
		nop(&cmdNode{name: "except", help: "Show only text that does not match a pattern", kids: []*cmdNode{
			{name: "pattern", kind: argNode, value: "<pattern>", help: "Pattern to avoid"}}}),
		nop(&cmdNode{name: "count", help: "Count occurrences"}),
		nop(&cmdNode{name: "last", help: "Display end of output only", kids: []*cmdNode{
			{name: "lines", kind: argNode, numeric: true, value: "<lines>", help: "Number of lines to display"}}}),
		nop(&cmdNode{name: "no-more", help: "Don't paginate output"}),
		{name: "display", help: "Show additional kinds of information", kids: []*cmdNode{
			nop(&cmdNode{name: "set", help: "Show 'set' commands that create configuration"})}},
		nop(&cmdNode{name: "compare", help: "Compare configuration changes with prior version"}),
	}}
}

// stage filters the lines of a command's output.
type stage interface {
	line(s string) []string
	end() []string
}

type matchStage struct {
	re     *regexp.Regexp
	invert bool
}

func (m matchStage) line(s string) []string {
	if m.re.MatchString(s) != m.invert {
		return []string{s}
	}
	return nil
}
func (matchStage) end() []string { return nil }

type countStage struct{ n int }

func (c *countStage) line(string) []string { c.n++; return nil }
func (c *countStage) end() []string        { return []string{fmt.Sprintf("Count: %d lines", c.n)} }

type lastStage struct {
	n     int
	lines []string
}

func (l *lastStage) line(s string) []string {
	l.lines = append(l.lines, s)
	if len(l.lines) > l.n {
		l.lines = l.lines[1:]
	}
	return nil
}
func (l *lastStage) end() []string { return l.lines }

// pipeOpts are the stages that change what a show command renders rather
// than filter its lines.
type pipeOpts struct {
	displaySet bool
	compare    bool
}

// buildPipes turns the pipe stages of a line into filters.
func buildPipes(tree *cmdNode, stages [][]Word) ([]stage, pipeOpts, error) {
	var out []stage
	var po pipeOpts
	for _, st := range stages {
		if len(st) == 0 {
			return nil, po, fmt.Errorf("missing command after |")
		}
		w, serr := tree.resolve(st)
		if serr != nil {
			return nil, po, serr
		}
		if w.node.run == nil {
			return nil, po, &syntaxError{pos: st[len(st)-1].Pos + len(st[len(st)-1].Text) + 1, msg: "syntax error, expecting <command>."}
		}
		switch w.node.name {
		case "match", "except":
			p, ok := w.args.value("pattern")
			if !ok {
				return nil, po, fmt.Errorf("missing argument <pattern> after %s", w.node.name)
			}
			re, err := regexp.Compile("(?i)" + p)
			if err != nil {
				return nil, po, fmt.Errorf("invalid pattern %q: %w", p, err)
			}
			out = append(out, matchStage{re: re, invert: w.node.name == "except"})
		case "count":
			out = append(out, &countStage{})
		case "last":
			n := 10
			if v, ok := w.args.value("lines"); ok {
				n, _ = strconv.Atoi(v)
			}
			out = append(out, &lastStage{n: n})
		case "set":
			po.displaySet = true
		case "compare":
			po.compare = true
		}
	}
	return out, po, nil
}

// filterWriter passes whole lines through the stages to w.
type filterWriter struct {
	w      io.Writer
	stages []stage
	buf    []byte
}

func (f *filterWriter) Write(p []byte) (int, error) {
	if len(f.stages) == 0 {
		return f.w.Write(p)
	}
	f.buf = append(f.buf, p...)
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			break
		}
		line := string(f.buf[:i])
		f.buf = f.buf[i+1:]
		if err := f.emit(0, []string{line}); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

func (f *filterWriter) emit(from int, lines []string) error {
	for i := from; i < len(f.stages) && len(lines) > 0; i++ {
		var next []string
		for _, l := range lines {
			next = append(next, f.stages[i].line(l)...)
		}
		lines = next
	}
	for _, l := range lines {
		if _, err := io.WriteString(f.w, l+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// Close flushes a last unterminated line and the stages that wait for the
// end of the output (count, last).
func (f *filterWriter) Close() error {
	if len(f.stages) == 0 {
		return nil
	}
	if len(f.buf) > 0 {
		line := string(f.buf)
		f.buf = nil
		if err := f.emit(0, []string{line}); err != nil {
			return err
		}
	}
	for i, st := range f.stages {
		if err := f.emit(i+1, st.end()); err != nil {
			return err
		}
	}
	return nil
}
