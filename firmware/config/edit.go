package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Set applies one `set` statement, given as the words after "set". On error
// the configuration is unchanged.
func (c *Config) Set(words []string) error {
	if len(words) == 0 {
		return errors.New("missing statement after set")
	}
	// A dry pass first checks the whole statement without changing
	// anything, so a failing statement leaves no half-made path behind,
	// and no copy of a large configuration is needed.
	return c.set(words, nil)
}

func (c *Config) set(words []string, ix *entryIndex) error {
	root := reflect.ValueOf(c).Elem()
	if err := setIn(Schema(), root, words, true, ix); err != nil {
		return err
	}
	return setIn(Schema(), root, words, false, ix)
}

// entryIndex speeds up finding list entries by key while one text is
// applied: a configuration of 10,000 policies would otherwise scan the list
// for every statement. Entries are keyed by the address of the slice header
// and checked against its data pointer and length, so a list that changed
// behind the index's back is simply indexed again.
type entryIndex struct {
	lists map[uintptr]*listIndex
}

type listIndex struct {
	data uintptr
	n    int
	keys map[string]int
}

func newEntryIndex() *entryIndex { return &entryIndex{lists: map[uintptr]*listIndex{}} }

func keyString(keys []string) string { return strings.Join(keys, "\x00") }

func (ix *entryIndex) find(list *Node, slice reflect.Value, keys []string) int {
	if ix == nil || !slice.CanAddr() {
		return findEntry(list, slice, keys)
	}
	addr := slice.Addr().Pointer()
	li := ix.lists[addr]
	if li == nil || li.data != slice.Pointer() || li.n != slice.Len() {
		li = &listIndex{data: slice.Pointer(), n: slice.Len(), keys: make(map[string]int, slice.Len())}
		for i := range slice.Len() {
			e := slice.Index(i)
			k := make([]string, len(list.Keys))
			for j, key := range list.Keys {
				k[j] = e.Field(key.field).String()
			}
			li.keys[keyString(k)] = i
		}
		ix.lists[addr] = li
	}
	if i, ok := li.keys[keyString(keys)]; ok {
		return i
	}
	return -1
}

// appended records an entry added at the end of slice.
func (ix *entryIndex) appended(slice reflect.Value, keys []string) {
	if ix == nil || !slice.CanAddr() {
		return
	}
	li := ix.lists[slice.Addr().Pointer()]
	if li == nil || li.n != slice.Len()-1 {
		return
	}
	li.keys[keyString(keys)] = slice.Len() - 1
	li.n, li.data = slice.Len(), slice.Pointer()
}

// Delete applies one `delete` statement. Deleting something that is not
// configured is an error, as on Junos ("warning: statement not found").
func (c *Config) Delete(words []string) error {
	if len(words) == 0 {
		// `delete` at the top of the hierarchy empties the configuration.
		*c = Config{}
		return nil
	}
	next := c.Clone()
	if _, err := deleteIn(Schema(), reflect.ValueOf(next).Elem(), words); err != nil {
		return err
	}
	*c = *next
	return nil
}

// Insert moves an entry of an ordered list before or after another:
// `insert security policies from-zone a to-zone b policy X before policy Y`.
func (c *Config) Insert(words []string) error {
	// Find the "before"/"after" that separates the two paths.
	at := slices.IndexFunc(words, func(w string) bool { return w == "before" || w == "after" })
	if at < 1 || len(words)-at-1 != 2 {
		return errors.New("expected: insert PATH KEYWORD NAME before|after KEYWORD NAME")
	}
	path, where, ref := words[:at], words[at], words[at+1:]
	next := c.Clone()
	list, elem, err := locateList(Schema(), reflect.ValueOf(next).Elem(), path)
	if err != nil {
		return err
	}
	if !list.Ordered {
		return fmt.Errorf("%s entries have no order to change", list.Name)
	}
	if ref[0] != list.Name {
		return fmt.Errorf("expected %s %s NAME", where, list.Name)
	}
	slice := elem.slice
	from := findEntry(list, slice, []string{elem.key})
	to := findEntry(list, slice, []string{ref[1]})
	if from < 0 {
		return fmt.Errorf("%s %s is not configured", list.Name, elem.key)
	}
	if to < 0 {
		return fmt.Errorf("%s %s is not configured", list.Name, ref[1])
	}
	moved := slice.Index(from).Interface()
	rest := reflect.MakeSlice(slice.Type(), 0, slice.Len())
	for i := range slice.Len() {
		if i != from {
			rest = reflect.Append(rest, slice.Index(i))
		}
	}
	to = findEntry(list, rest, []string{ref[1]})
	if where == "after" {
		to++
	}
	out := reflect.MakeSlice(slice.Type(), 0, slice.Len())
	out = reflect.AppendSlice(out, rest.Slice(0, to))
	out = reflect.Append(out, reflect.ValueOf(moved))
	out = reflect.AppendSlice(out, rest.Slice(to, rest.Len()))
	slice.Set(out)
	*c = *next
	return nil
}

// Clone returns a deep copy.
func (c *Config) Clone() *Config {
	out := deepCopy(reflect.ValueOf(c).Elem())
	cc := out.Interface().(Config)
	return &cc
}

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(deepCopy(v.Elem()))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			s.Index(i).Set(deepCopy(v.Index(i)))
		}
		return s
	case reflect.Struct:
		s := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			s.Field(i).Set(deepCopy(v.Field(i)))
		}
		return s
	}
	return v
}

// expected lists what may come next inside n, for error messages.
func expected(n *Node) string {
	var names []string
	if b := n.bareList(); b != nil {
		names = append(names, "<"+b.Name+">")
	}
	for _, c := range n.Children {
		if !c.Bare {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}

// resolveChild finds which child of n the word names. A bare list takes any
// word that is not a keyword.
func resolveChild(n *Node, word string) (*Node, bool) {
	if c := n.Child(word); c != nil && !c.Bare {
		return c, false
	}
	if b := n.bareList(); b != nil {
		return b, true
	}
	return nil, false
}

func clearChoice(n *Node, v reflect.Value, keep *Node) {
	if keep.Choice == "" {
		return
	}
	for _, c := range n.Children {
		if c != keep && c.Choice == keep.Choice {
			f := v.Field(c.field)
			f.Set(reflect.Zero(f.Type()))
		}
	}
}

// readKeys consumes a list entry's key words: the first key's value, then
// `keyword value` for each further key.
func readKeys(list *Node, words []string, bare bool) (keys []string, rest []string, err error) {
	if !bare {
		words = words[1:]
	}
	for i, k := range list.Keys {
		if i > 0 {
			if len(words) == 0 || words[0] != k.Name {
				return nil, nil, fmt.Errorf("expected %s after %s %s", k.Name, list.Name, keys[0])
			}
			words = words[1:]
		}
		if len(words) == 0 {
			return nil, nil, fmt.Errorf("%s needs a %s name", list.Name, k.Name)
		}
		v, err := canonValue(k, words[0])
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, v)
		words = words[1:]
	}
	return keys, words, nil
}

func findEntry(list *Node, slice reflect.Value, keys []string) int {
	// Statements usually go on with the entry the previous one made.
	if n := slice.Len(); n > 0 && entryIs(list, slice.Index(n-1), keys) {
		return n - 1
	}
	for i := range slice.Len() {
		e := slice.Index(i)
		match := true
		for j, k := range list.Keys {
			if e.Field(k.field).String() != keys[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

func entryIs(list *Node, e reflect.Value, keys []string) bool {
	for j, k := range list.Keys {
		if e.Field(k.field).String() != keys[j] {
			return false
		}
	}
	return true
}

// leafValues reads the values of a leaf-list statement: one word, or a
// bracketed list `[ a b ]` (already split into words by the caller).
func leafValues(n *Node, words []string) ([]string, error) {
	if len(words) > 0 && words[0] == "[" {
		if words[len(words)-1] != "]" {
			return nil, fmt.Errorf("missing ] after %s values", n.Name)
		}
		words = words[1 : len(words)-1]
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%s needs a value", n.Name)
	}
	var out []string
	for _, w := range words {
		v, err := canonValue(n, w)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func setIn(n *Node, v reflect.Value, words []string, dry bool, ix *entryIndex) error {
	if len(words) == 0 {
		return nil
	}
	c, bare := resolveChild(n, words[0])
	if c == nil {
		if n.Name == "" {
			return fmt.Errorf("unsupported statement %q; expected one of: %s", words[0], expected(n))
		}
		return fmt.Errorf("unsupported statement %q under %s; expected one of: %s", words[0], n.Name, expected(n))
	}
	f := v.Field(c.field)
	switch c.Kind {
	case Container:
		if dry {
			next := reflect.New(c.typ)
			if !f.IsNil() {
				next = f
			}
			return setIn(c, next.Elem(), words[1:], dry, ix)
		}
		if f.IsNil() {
			f.Set(reflect.New(c.typ))
		}
		clearChoice(n, v, c)
		return setIn(c, f.Elem(), words[1:], dry, ix)
	// As on Junos, one set statement may go on with siblings after a
	// flag or a value: `match source-address a destination-address b`.
	case Flag:
		if !dry {
			clearChoice(n, v, c)
			f.SetBool(true)
		}
		return setIn(n, v, words[1:], dry, ix)
	case Leaf:
		if len(words) < 2 {
			return fmt.Errorf("%s needs a value", c.Name)
		}
		val, err := canonValue(c, words[1])
		if err != nil {
			return err
		}
		if !dry {
			clearChoice(n, v, c)
			f.SetString(val)
		}
		return setIn(n, v, words[2:], dry, ix)
	case LeafList:
		end := 2
		if len(words) > 1 && words[1] == "[" {
			end = slices.Index(words, "]") + 1
			if end == 0 {
				return fmt.Errorf("missing ] after %s values", c.Name)
			}
		}
		if end > len(words) {
			return fmt.Errorf("%s needs a value", c.Name)
		}
		vals, err := leafValues(c, words[1:end])
		if err != nil {
			return err
		}
		if !dry {
			clearChoice(n, v, c)
			for _, val := range vals {
				if !slices.Contains(f.Interface().([]string), val) {
					f.Set(reflect.Append(f, reflect.ValueOf(val)))
				}
			}
		}
		return setIn(n, v, words[end:], dry, ix)
	case List:
		keys, rest, err := readKeys(c, words, bare)
		if err != nil {
			return err
		}
		i := ix.find(c, f, keys)
		var e reflect.Value
		switch {
		case i >= 0:
			e = f.Index(i)
		case dry:
			e = reflect.New(c.typ).Elem()
		default:
			e = reflect.New(c.typ).Elem()
			for j, k := range c.Keys {
				e.Field(k.field).SetString(keys[j])
			}
			f.Set(reflect.Append(f, e))
			ix.appended(f, keys)
			e = f.Index(f.Len() - 1)
		}
		if !dry {
			clearChoice(n, v, c)
		}
		entry := &Node{Name: c.Name, Children: c.Children}
		if p := c.positionalChild(); p != nil && len(rest) > 0 && entry.Child(rest[0]) == nil {
			rest = append([]string{p.Name}, rest...)
		}
		return setIn(entry, e, rest, dry, ix)
	}
	return fmt.Errorf("schema: unexpected kind %v", c.Kind)
}

func (n *Node) positionalChild() *Node { return (&Node{Children: n.Children}).positional() }

// deleteIn removes what words name. It reports whether v became empty, so
// that the caller can prune containers that only held the deleted statement.
func deleteIn(n *Node, v reflect.Value, words []string) (empty bool, err error) {
	c, bare := resolveChild(n, words[0])
	if c == nil {
		return false, fmt.Errorf("unsupported statement %q; expected one of: %s", words[0], expected(n))
	}
	f := v.Field(c.field)
	notFound := errors.New("statement not found")
	switch c.Kind {
	case Container:
		if f.IsNil() {
			return false, notFound
		}
		if len(words) == 1 {
			f.Set(reflect.Zero(f.Type()))
		} else {
			inner, err := deleteIn(c, f.Elem(), words[1:])
			if err != nil {
				return false, err
			}
			if inner && !c.Presence {
				f.Set(reflect.Zero(f.Type()))
			}
		}
	case Flag:
		if !f.Bool() {
			return false, notFound
		}
		f.SetBool(false)
	case Leaf:
		if f.String() == "" {
			return false, notFound
		}
		if len(words) > 1 {
			val, err := canonValue(c, words[1])
			if err != nil {
				return false, err
			}
			if val != f.String() {
				return false, notFound
			}
		}
		f.SetString("")
	case LeafList:
		if f.Len() == 0 {
			return false, notFound
		}
		if len(words) == 1 {
			f.Set(reflect.Zero(f.Type()))
			break
		}
		vals, err := leafValues(c, words[1:])
		if err != nil {
			return false, err
		}
		cur := f.Interface().([]string)
		for _, val := range vals {
			i := slices.Index(cur, val)
			if i < 0 {
				return false, notFound
			}
			cur = slices.Delete(slices.Clone(cur), i, i+1)
		}
		if len(cur) == 0 {
			cur = nil
		}
		f.Set(reflect.ValueOf(cur))
	case List:
		if len(words) == 1 && !bare {
			if f.Len() == 0 {
				return false, notFound
			}
			f.Set(reflect.Zero(f.Type()))
			break
		}
		keys, rest, err := readKeys(c, words, bare)
		if err != nil {
			return false, err
		}
		i := findEntry(c, f, keys)
		if i < 0 {
			return false, notFound
		}
		entry := &Node{Name: c.Name, Children: c.Children}
		if p := c.positionalChild(); p != nil && len(rest) > 0 && entry.Child(rest[0]) == nil {
			rest = append([]string{p.Name}, rest...)
		}
		remove := len(rest) == 0
		if !remove {
			if _, err := deleteIn(entry, f.Index(i), rest); err != nil {
				return false, err
			}
		}
		if remove {
			out := reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, f.Len()-1), f.Slice(0, i))
			out = reflect.AppendSlice(out, f.Slice(i+1, f.Len()))
			if out.Len() == 0 {
				out = reflect.Zero(f.Type())
			}
			f.Set(out)
		}
	}
	return v.IsZero(), nil
}

// listRef is an entry of a list found by locateList.
type listRef struct {
	slice reflect.Value
	key   string
}

// locateList walks path to its last list entry and returns the list's node
// and the entry's key, for insert.
func locateList(n *Node, v reflect.Value, words []string) (*Node, listRef, error) {
	for len(words) > 0 {
		c, bare := resolveChild(n, words[0])
		if c == nil {
			return nil, listRef{}, fmt.Errorf("unsupported statement %q; expected one of: %s", words[0], expected(n))
		}
		f := v.Field(c.field)
		switch c.Kind {
		case Container:
			if f.IsNil() {
				return nil, listRef{}, errors.New("statement not found")
			}
			n, v, words = c, f.Elem(), words[1:]
		case List:
			keys, rest, err := readKeys(c, words, bare)
			if err != nil {
				return nil, listRef{}, err
			}
			if len(rest) == 0 {
				return c, listRef{slice: f, key: keys[0]}, nil
			}
			i := findEntry(c, f, keys)
			if i < 0 {
				return nil, listRef{}, fmt.Errorf("%s %s is not configured", c.Name, strings.Join(keys, " "))
			}
			n, v, words = &Node{Name: c.Name, Children: c.Children}, f.Index(i), rest
		default:
			return nil, listRef{}, fmt.Errorf("%s is not a list", c.Name)
		}
	}
	return nil, listRef{}, errors.New("insert needs a list entry")
}
