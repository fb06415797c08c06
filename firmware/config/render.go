package config

import (
	"reflect"
	"strings"
)

// Mask replaces a secret in every display unless secrets are asked for.
// Reading it back is an error, so a masked display can never overwrite a key.
const Mask = "<secret>"

// RenderOptions control displays.
type RenderOptions struct {
	Secrets bool // show secrets instead of Mask
}

// SetLines renders the configuration as `set` statements, in schema order
// (list entries in their configured order).
func (c *Config) SetLines(o RenderOptions) []string {
	var out []string
	walkSet(Schema(), reflect.ValueOf(c).Elem(), "set", o, &out)
	return out
}

// SetText is SetLines joined with newlines, with a final newline.
func (c *Config) SetText(o RenderOptions) string {
	lines := c.SetLines(o)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func display(n *Node, v string, o RenderOptions) string {
	if n.Secret && !o.Secrets {
		return `"` + Mask + `"`
	}
	if n.Secret {
		// Junos always quotes secrets; so do we, for a stable display.
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	return quote(v)
}

func entryPrefix(c *Node, e reflect.Value) string {
	var b strings.Builder
	for i, k := range c.Keys {
		// The first key is written with the list's own keyword, the
		// others with theirs (from-zone A to-zone B).
		kw := k.Name
		if i == 0 {
			kw = c.Name
		}
		if i > 0 || !c.Bare {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(kw)
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quote(e.Field(k.field).String()))
	}
	return b.String()
}

func walkSet(n *Node, v reflect.Value, path string, o RenderOptions, out *[]string) {
	before := len(*out)
	for _, c := range n.Children {
		f := v.Field(c.field)
		switch c.Kind {
		case Container:
			if !f.IsNil() {
				walkSet(c, f.Elem(), path+" "+c.Name, o, out)
			}
		case Flag:
			if f.Bool() {
				*out = append(*out, path+" "+c.Name)
			}
		case Leaf:
			if s := f.String(); s != "" && !c.Positional {
				*out = append(*out, path+" "+c.Name+" "+display(c, s, o))
			}
		case LeafList:
			for _, s := range f.Interface().([]string) {
				*out = append(*out, path+" "+c.Name+" "+display(c, s, o))
			}
		case List:
			for i := range f.Len() {
				e := f.Index(i)
				p := path + " " + entryPrefix(c, e)
				entry := &Node{Children: c.Children}
				if pos := entry.positional(); pos != nil {
					if s := e.Field(pos.field).String(); s != "" {
						p += " " + display(pos, s, o)
					}
				}
				walkSet(entry, e, p, o, out)
			}
		}
	}
	if len(*out) == before && path != "set" {
		*out = append(*out, path)
	}
}

// Text renders the configuration in the Junos brace format of
// `show configuration`.
func (c *Config) Text(o RenderOptions) string {
	var b strings.Builder
	walkText(Schema(), reflect.ValueOf(c).Elem(), 0, o, &b)
	return b.String()
}

func walkText(n *Node, v reflect.Value, depth int, o RenderOptions, b *strings.Builder) {
	ind := strings.Repeat("    ", depth)
	stmt := func(s string, secret bool) {
		b.WriteString(ind + s + ";")
		if secret && !o.Secrets {
			b.WriteString(" ## SECRET-DATA")
		}
		b.WriteByte('\n')
	}
	block := func(head string, inner *Node, iv reflect.Value) {
		if iv.IsZero() {
			stmt(head, false)
			return
		}
		b.WriteString(ind + head + " {\n")
		walkText(inner, iv, depth+1, o, b)
		b.WriteString(ind + "}\n")
	}
	for _, c := range n.Children {
		f := v.Field(c.field)
		switch c.Kind {
		case Container:
			if !f.IsNil() {
				block(c.Name, c, f.Elem())
			}
		case Flag:
			if f.Bool() {
				stmt(c.Name, false)
			}
		case Leaf:
			if s := f.String(); s != "" && !c.Positional {
				stmt(c.Name+" "+display(c, s, o), c.Secret)
			}
		case LeafList:
			vals := f.Interface().([]string)
			switch len(vals) {
			case 0:
			case 1:
				stmt(c.Name+" "+display(c, vals[0], o), c.Secret)
			default:
				parts := make([]string, len(vals))
				for i, s := range vals {
					parts[i] = display(c, s, o)
				}
				stmt(c.Name+" [ "+strings.Join(parts, " ")+" ]", c.Secret)
			}
		case List:
			entry := &Node{Children: c.Children}
			for i := range f.Len() {
				e := f.Index(i)
				head := entryPrefix(c, e)
				if pos := entry.positional(); pos != nil {
					if s := e.Field(pos.field).String(); s != "" {
						head += " " + display(pos, s, o)
					}
				}
				// The keys and the positional value are written in the head.
				rest := reflect.New(e.Type()).Elem()
				rest.Set(e)
				for _, k := range c.Keys {
					rest.Field(k.field).SetString("")
				}
				if pos := entry.positional(); pos != nil {
					rest.Field(pos.field).SetString("")
				}
				block(head, entry, rest)
			}
		}
	}
}
