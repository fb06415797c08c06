package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Kind says how a schema node is written.
type Kind int

const (
	// Container is a keyword with children: `security { ... }`.
	Container Kind = iota
	// List is a keyword followed by a key, with children: `policy P { ... }`.
	List
	// Leaf is a keyword followed by one value: `host-name R1`.
	Leaf
	// Flag is a keyword alone: `count`.
	Flag
	// LeafList is a keyword followed by one or more values: `source-address [ a b ]`.
	LeafList
)

func (k Kind) String() string {
	switch k {
	case Container:
		return "container"
	case List:
		return "list"
	case Leaf:
		return "leaf"
	case Flag:
		return "flag"
	case LeafList:
		return "leaf-list"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Node is one statement of the configuration schema, read from the `junos`
// tags of the model types.
type Node struct {
	Name       string
	Kind       Kind
	Help       string
	Type       string   // value type for leaves, leaf-lists and keys
	Enum       []string // allowed values, when fixed
	Min, Max   uint64   // range for type=uint
	Secret     bool
	Ordered    bool // list order is meaningful
	Positional bool
	Bare       bool // list entries have no keyword of their own
	Presence   bool
	Choice     string

	// Keys are the key leaves of a list's entries. Keys[0].Name is the
	// list's own keyword; later keys are written as `keyword value`.
	Keys     []*Node
	Children []*Node // of a container or of a list entry, without the keys

	field int          // index in the parent struct
	isKey bool         // set while building: the field is a list key
	typ   reflect.Type // struct type of a container or list entry
}

// Child returns the child named name, or nil.
func (n *Node) Child(name string) *Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// bareList returns the child list whose entries carry no keyword, or nil.
func (n *Node) bareList() *Node {
	for _, c := range n.Children {
		if c.Kind == List && c.Bare {
			return c
		}
	}
	return nil
}

// positional returns the child leaf that may follow a list key directly.
func (n *Node) positional() *Node {
	for _, c := range n.Children {
		if c.Positional {
			return c
		}
	}
	return nil
}

// Schema returns the root of the configuration schema.
func Schema() *Node { return schemaOnce() }

// The schema is derived from types that never change at run time, so it is
// built once and shared read-only.
var schemaOnce = sync.OnceValue(func() *Node {
	root, err := buildContainer("", reflect.TypeFor[Config]())
	if err != nil {
		panic("config schema: " + err.Error()) // a programming error in model.go
	}
	return root
})

func buildContainer(name string, t reflect.Type) (*Node, error) {
	n := &Node{Name: name, Kind: Container, typ: t}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("junos")
		if !ok {
			return nil, fmt.Errorf("%s.%s has no junos tag", t.Name(), f.Name)
		}
		c, err := parseTag(tag)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		c.field = i
		switch ft := f.Type; {
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			sub, err := buildContainer(c.Name, ft.Elem())
			if err != nil {
				return nil, err
			}
			c.Kind, c.Children, c.typ = Container, sub.Children, sub.typ
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			sub, err := buildContainer(c.Name, ft.Elem())
			if err != nil {
				return nil, err
			}
			c.Kind, c.typ = List, sub.typ
			for _, ch := range sub.Children {
				if ch.isKey {
					c.Keys = append(c.Keys, ch)
				} else {
					c.Children = append(c.Children, ch)
				}
			}
			if len(c.Keys) == 0 {
				return nil, fmt.Errorf("list %s has no key", c.Name)
			}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			c.Kind = LeafList
		case ft.Kind() == reflect.Bool:
			c.Kind = Flag
		case ft.Kind() == reflect.String:
			c.Kind = Leaf
		default:
			return nil, fmt.Errorf("%s.%s: unsupported field type %v", t.Name(), f.Name, ft)
		}
		n.Children = append(n.Children, c)
	}
	return n, nil
}

func parseTag(tag string) (*Node, error) {
	name, opts, _ := strings.Cut(tag, ",")
	n := &Node{Name: name}
	for opts != "" {
		var opt string
		// help= runs to the end of the tag: help texts contain commas.
		if strings.HasPrefix(opts, "help=") {
			n.Help, opts = strings.TrimPrefix(opts, "help="), ""
			continue
		}
		opt, opts, _ = strings.Cut(opts, ",")
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "key":
			n.isKey = true
		case "positional":
			n.Positional = true
		case "secret":
			n.Secret = true
		case "flag":
		case "ordered":
			n.Ordered = true
		case "bare":
			n.Bare = true
		case "presence":
			n.Presence = true
		case "choice":
			n.Choice = v
		case "type":
			n.Type = v
		case "enum":
			n.Enum = strings.Split(v, "|")
		case "range":
			lo, hi, ok := strings.Cut(v, "-")
			a, err1 := strconv.ParseUint(lo, 10, 64)
			b, err2 := strconv.ParseUint(hi, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad range %q", v)
			}
			n.Min, n.Max = a, b
		default:
			return nil, fmt.Errorf("unknown tag option %q", k)
		}
	}
	return n, nil
}
