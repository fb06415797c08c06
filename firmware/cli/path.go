package cli

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/palisade/palisade/firmware/config"
)

// The path walker reads configuration statements word by word along
// config.Schema, the same tree the config package parses with. It expands
// unique prefixes of keywords (and of enumerated values), and says what may
// come next, for `?` and Tab.

type expect int

const (
	expKeyword expect = iota // a child keyword of node
	expValue                 // the value of leaf
	expValues                // a value of leaf-list leaf, or "["
	expBracket               // further values of leaf up to "]"
	expKey                   // the value of key keyIdx of list
	expKeyKw                 // the keyword of key keyIdx of list
)

type pathState struct {
	node       *config.Node // the container or list entry words are read in
	exp        expect
	leaf       *config.Node // expValue, expValues, expBracket
	list       *config.Node // expKey, expKeyKw
	keyIdx     int
	positional *config.Node // a positional leaf may follow the list keys
	blocks     int          // containers and list entries entered
	atBlock    bool         // the last word completed a container or entry
	path       []string     // the expanded words so far
	levels     []int        // len(path) after each block was entered

	// The fields below include the edit level, which path leaves out, so
	// that completion can find the place in the configuration.
	schema []string // keywords of the containers and lists entered, without keys
	at     []string // the set-line words of the container or entry, with keys
	keys   []string // the key values of the entries entered
}

func newPathState() *pathState {
	return &pathState{node: config.Schema(), atBlock: true}
}

func bareList(n *config.Node) *config.Node {
	for _, c := range n.Children {
		if c.Kind == config.List && c.Bare {
			return c
		}
	}
	return nil
}

func positionalChild(n *config.Node) *config.Node {
	for _, c := range n.Children {
		if c.Positional {
			return c
		}
	}
	return nil
}

// matchKeyword finds the child of n that w names, exactly or as the only
// keyword w is a prefix of. It returns nil, nil when no keyword matches.
func matchKeyword(n *config.Node, w Word) (*config.Node, *syntaxError) {
	var cands []*config.Node
	for _, c := range n.Children {
		if c.Bare {
			continue
		}
		if c.Name == w.Text {
			return c, nil
		}
		if w.Text != "" && strings.HasPrefix(c.Name, w.Text) {
			cands = append(cands, c)
		}
	}
	switch len(cands) {
	case 0:
		return nil, nil
	case 1:
		return cands[0], nil
	}
	e := &syntaxError{pos: w.Pos, msg: fmt.Sprintf("'%s' is ambiguous.", w.Text)}
	for _, c := range cands {
		e.choices = append(e.choices, completion{c.Name, c.Help})
	}
	return nil, e
}

// expandEnum returns the enumerated value v is the only prefix of, or v.
func expandEnum(n *config.Node, v string) string {
	var found []string
	for _, e := range n.Enum {
		if e == v {
			return v
		}
		if v != "" && strings.HasPrefix(e, v) && !isRange(e) {
			found = append(found, e)
		}
	}
	if len(found) == 1 {
		return found[0]
	}
	return v
}

func isRange(e string) bool {
	lo, hi, ok := strings.Cut(e, "-")
	return ok && isNumber(lo) && isNumber(hi)
}

// step reads one word.
func (s *pathState) step(w Word) *syntaxError {
	s.atBlock = false
	switch s.exp {
	case expValue:
		s.path = append(s.path, expandEnum(s.leaf, w.Text))
		s.exp = expKeyword
		return nil
	case expValues:
		if w.Text == "[" && !w.Quoted {
			s.path = append(s.path, "[")
			s.exp = expBracket
			return nil
		}
		s.path = append(s.path, expandEnum(s.leaf, w.Text))
		s.exp = expKeyword
		return nil
	case expBracket:
		if w.Text == "]" && !w.Quoted {
			s.exp = expKeyword
			s.path = append(s.path, "]")
			return nil
		}
		s.path = append(s.path, expandEnum(s.leaf, w.Text))
		return nil
	case expKeyKw:
		k := s.list.Keys[s.keyIdx]
		if k.Name != w.Text && !strings.HasPrefix(k.Name, w.Text) || w.Text == "" {
			return &syntaxError{pos: w.Pos, msg: fmt.Sprintf("syntax error, expecting %s.", k.Name)}
		}
		s.path = append(s.path, k.Name)
		s.at = append(s.at, k.Name)
		s.exp = expKey
		return nil
	case expKey:
		s.path = append(s.path, w.Text)
		s.at = append(s.at, w.Text)
		s.keys = append(s.keys, w.Text)
		s.keyIdx++
		if s.keyIdx < len(s.list.Keys) {
			s.exp = expKeyKw
			return nil
		}
		s.enter(s.list)
		s.positional = positionalChild(s.list)
		return nil
	}
	c, err := matchKeyword(s.node, w)
	if err != nil {
		return err
	}
	if c == nil && s.positional != nil {
		s.path = append(s.path, w.Text)
		s.positional = nil
		return nil
	}
	s.positional = nil
	if c == nil {
		if b := bareList(s.node); b != nil {
			s.list, s.keyIdx = b, 0
			s.schema = append(s.schema, b.Name)
			s.exp = expKey
			return s.step(w)
		}
		return &syntaxError{pos: w.Pos, msg: "syntax error."}
	}
	s.path = append(s.path, c.Name)
	switch c.Kind {
	case config.Container:
		s.schema = append(s.schema, c.Name)
		s.at = append(s.at, c.Name)
		s.enter(c)
	case config.Flag:
	case config.Leaf:
		s.leaf, s.exp = c, expValue
	case config.LeafList:
		s.leaf, s.exp = c, expValues
	case config.List:
		s.schema = append(s.schema, c.Name)
		s.at = append(s.at, c.Name)
		s.list, s.keyIdx, s.exp = c, 0, expKey
	}
	return nil
}

func (s *pathState) enter(n *config.Node) {
	s.node, s.exp = n, expKeyword
	s.blocks++
	s.atBlock = true
	s.levels = append(s.levels, len(s.path))
}

// walkPath reads level (already expanded words, the edit level) and then
// words. It returns the state after the last word.
func walkPath(level []string, words []Word) (*pathState, *syntaxError) {
	s := newPathState()
	for _, l := range level {
		if err := s.step(Word{Text: l, Pos: -1}); err != nil {
			return s, err
		}
	}
	s.path = s.path[:0]
	s.levels = s.levels[:0]
	for _, w := range words {
		if err := s.step(w); err != nil {
			return s, err
		}
	}
	return s, nil
}

// completions lists what may come next, starting with prefix. names are
// the names that exist for the value expected (configNames); they follow
// the placeholder without help, as in Junos.
func (s *pathState) completions(prefix string, names []string) []completion {
	var out []completion
	addNames := func() {
		for _, n := range names {
			if strings.HasPrefix(n, prefix) && !slices.ContainsFunc(out, func(c completion) bool { return c.name == n }) {
				out = append(out, completion{n, ""})
			}
		}
	}
	value := func(n *config.Node, help string) {
		if len(n.Enum) > 0 {
			for _, e := range n.Enum {
				if strings.HasPrefix(e, prefix) {
					out = append(out, completion{e, ""})
				}
			}
			return
		}
		if prefix == "" {
			out = append(out, completion{"<" + n.Name + ">", help})
		}
	}
	switch s.exp {
	case expValue:
		value(s.leaf, s.leaf.Help)
		addNames()
		return out
	case expValues, expBracket:
		value(s.leaf, s.leaf.Help)
		if s.exp == expValues && prefix == "" {
			out = append(out, completion{"[", "Open a set of values"})
		}
		if s.exp == expBracket && prefix == "" {
			out = append(out, completion{"]", "Close a set of values"})
		}
		addNames()
		return out
	case expKeyKw:
		k := s.list.Keys[s.keyIdx]
		if strings.HasPrefix(k.Name, prefix) {
			out = append(out, completion{k.Name, k.Help})
		}
		return out
	case expKey:
		if prefix == "" {
			k := s.list.Keys[s.keyIdx]
			help := s.list.Help
			if s.keyIdx > 0 {
				help = k.Help
			}
			out = append(out, completion{"<" + k.Name + ">", help})
		}
		addNames()
		return out
	}
	if s.positional != nil && prefix == "" {
		out = append(out, completion{"<" + s.positional.Name + ">", s.positional.Help})
	}
	if b := bareList(s.node); b != nil && prefix == "" {
		out = append(out, completion{"<" + b.Keys[0].Name + ">", b.Help})
	}
	addNames()
	var kw []completion
	for _, c := range s.node.Children {
		if c.Bare || !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		kw = append(kw, completion{c.Name, c.Help})
	}
	sort.Slice(kw, func(i, j int) bool { return kw[i].name < kw[j].name })
	return append(out, kw...)
}
