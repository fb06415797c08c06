package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// One tree of commands drives parsing, `?` help and Tab completion, so the
// three never disagree. Configuration paths (set, delete, edit, ...) hand
// their words to the schema walker in path.go, which follows config.Schema.

type nodeKind int

const (
	kwNode   nodeKind = iota // a keyword leading to a subtree
	optFlag                  // a keyword option of the command reached so far
	optValue                 // a keyword option followed by a value
	argNode                  // a positional value
)

// tailKind says what the words after a node are, when they are not more
// nodes of this tree.
type tailKind int

const (
	tailNone   tailKind = iota
	tailSet             // a configuration statement for set
	tailDelete          // a configuration path, values optional
	tailEdit            // a path to a container or list entry
	tailShow            // like tailEdit, may be empty
	tailInsert          // PATH before|after KEYWORD NAME
	tailOp              // an operational command line (run)
)

type cmdNode struct {
	name     string
	help     string
	kind     nodeKind
	value    string // placeholder of a value: "<count>"
	optional bool   // optValue: the value may be left out (commit confirmed)
	numeric  bool   // the value is a number
	kids     []*cmdNode
	tail     tailKind
	alias    string // another name, matched only whole (sa)
	needArg  bool   // run needs one of the options or arguments first
	run      func(ctx context.Context, s *Session, inv *invocation) error
}

// args are what a command line set on the way to its node.
type args struct {
	flags  map[string]bool
	values map[string]string
	rest   []Word // the words of a tail
}

func (a *args) has(name string) bool { return a.flags[name] }

func (a *args) value(name string) (string, bool) {
	v, ok := a.values[name]
	return v, ok
}

func (a *args) int(name string, def int) (int, error) {
	v, ok := a.values[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid value %q for %s: expected a number", v, name)
	}
	return n, nil
}

// completion is one line of "Possible completions".
type completion struct {
	name, help string
}

// syntaxError is a command line that does not parse. pos is the byte offset
// the `^` marker points at.
type syntaxError struct {
	pos     int
	msg     string
	choices []completion // for an ambiguous word
}

func (e *syntaxError) Error() string { return e.msg }

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// match finds the keyword child of n that word names: an exact name, or
// else the only name that word is a prefix of. used lists options already
// given, which are not offered again.
func (n *cmdNode) match(w Word, used map[string]bool) (*cmdNode, *syntaxError) {
	var cands []*cmdNode
	for _, k := range n.kids {
		if k.kind == argNode || used[k.name] {
			continue
		}
		if k.name == w.Text || k.alias != "" && k.alias == w.Text {
			return k, nil
		}
		if strings.HasPrefix(k.name, w.Text) {
			cands = append(cands, k)
		}
	}
	switch {
	case len(cands) == 1:
		return cands[0], nil
	case len(cands) > 1:
		e := &syntaxError{pos: w.Pos, msg: fmt.Sprintf("'%s' is ambiguous.", w.Text)}
		for _, c := range cands {
			e.choices = append(e.choices, completion{c.name, c.help})
		}
		return nil, e
	}
	for _, k := range n.kids {
		if k.kind == argNode && !used[k.name] && (!k.numeric || isNumber(w.Text)) {
			return k, nil
		}
	}
	return nil, &syntaxError{pos: w.Pos, msg: "syntax error, expecting <command>."}
}

// walk is where a command line got to in the tree.
type walk struct {
	node *cmdNode
	args *args
	used map[string]bool // options given at node
	want *cmdNode        // an option whose value is still to come
}

// resolve walks words from n. It returns the deepest command node reached
// and what the words set on the way; the words of a tail are in args.rest.
func (n *cmdNode) resolve(words []Word) (*walk, *syntaxError) {
	a := &args{flags: map[string]bool{}, values: map[string]string{}}
	w := &walk{node: n, args: a, used: map[string]bool{}}
	for i := 0; i < len(words); i++ {
		if w.node.tail != tailNone {
			a.rest = words[i:]
			return w, nil
		}
		k, err := w.node.match(words[i], w.used)
		if err != nil {
			return w, err
		}
		switch k.kind {
		case kwNode:
			w.node, w.used = k, map[string]bool{}
		case optFlag:
			a.flags[k.name], w.used[k.name] = true, true
		case argNode:
			a.values[k.name], w.used[k.name] = words[i].Text, true
		case optValue:
			w.used[k.name] = true
			a.flags[k.name] = true
			next := i + 1
			switch {
			case next < len(words) && (!k.numeric || isNumber(words[next].Text)):
				a.values[k.name] = words[next].Text
				i++
			case k.optional:
			case next == len(words):
				w.want = k
				pos := words[i].Pos + len(words[i].Text) + 1
				return w, &syntaxError{pos: pos, msg: fmt.Sprintf("missing argument %s after %s.", k.value, k.name)}
			default:
				return w, &syntaxError{pos: words[next].Pos, msg: fmt.Sprintf("invalid value %q for %s: expected %s.", words[next].Text, k.name, k.value)}
			}
		}
	}
	return w, nil
}

// completions lists what may follow the words reached at n, whose names
// start with prefix.
func (n *cmdNode) completions(prefix string, used map[string]bool) []completion {
	var out []completion
	for _, k := range n.kids {
		if used[k.name] {
			continue
		}
		name := k.name
		if k.kind == argNode {
			if prefix == "" {
				out = append(out, completion{k.value, k.help})
			}
			continue
		}
		if strings.HasPrefix(name, prefix) {
			out = append(out, completion{name, k.help})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	if prefix == "" && n.run != nil && (!n.needArg || len(used) > 0) {
		out = append([]completion{{"<[Enter]>", "Execute this command"}}, out...)
	}
	return out
}

// formatCompletions renders "Possible completions:" as Junos does.
func formatCompletions(cs []completion) string {
	var b strings.Builder
	b.WriteString("Possible completions:\n")
	for _, c := range cs {
		// Names of configured objects have no help; Junos pads nothing.
		if c.help == "" {
			fmt.Fprintf(&b, "  %s\n", c.name)
			continue
		}
		if len(c.name) >= 21 {
			fmt.Fprintf(&b, "  %s %s\n", c.name, c.help)
			continue
		}
		fmt.Fprintf(&b, "  %-21s%s\n", c.name, c.help)
	}
	return b.String()
}

func runNothing(context.Context, *Session, *invocation) error { return nil }
