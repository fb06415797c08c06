package config

import (
	"encoding/json"
	"reflect"
	"strings"
)

// Compare renders the difference from a to b as Junos's `show | compare`
// does: an `[edit ...]` header for each hierarchy level with changes, then
// the removed (-) and added (+) statements, whole blocks written out in the
// brace form. The CLI and palisade-cfg diff both print it.
//
// Secrets are compared by value but shown masked: a changed pre-shared key
// shows as a removed and an added masked line, as Junos shows its $9$
// forms, so the change is visible and the key is not.
func Compare(a, b *Config) string {
	tree := func(c *Config) *tnode {
		return parseBraceTree(c.Text(RenderOptions{Secrets: true}), c.Text(RenderOptions{}))
	}
	d := &differ{}
	d.diff(tree(a), tree(b), nil)
	return d.b.String()
}

// tnode is a statement of the brace form: a leaf line or a block.
type tnode struct {
	head  string // the line without its indent and " {": what is compared
	show  string // the same line with secrets masked: what is printed
	block bool
	kids  []*tnode
}

// parseBraceTree reads the brace form as Text writes it (one statement a
// line), which is all Compare needs: it never sees text from elsewhere.
// display is the same configuration rendered with secrets masked, line for
// line.
func parseBraceTree(text, display string) *tnode {
	root := &tnode{block: true}
	stack := []*tnode{root}
	shown := strings.Split(display, "\n")
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		s := t
		if i < len(shown) {
			s = strings.TrimSpace(shown[i])
		}
		top := stack[len(stack)-1]
		switch {
		case t == "":
		case t == "}":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case strings.HasSuffix(t, " {"):
			n := &tnode{head: strings.TrimSuffix(t, " {"), show: strings.TrimSuffix(s, " {"), block: true}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		default:
			top.kids = append(top.kids, &tnode{head: t, show: s})
		}
	}
	return root
}

func (n *tnode) find(head string, block bool) *tnode {
	for _, k := range n.kids {
		if k.head == head && k.block == block {
			return k
		}
	}
	return nil
}

func (n *tnode) write(b *strings.Builder, sign string, depth int) {
	ind := strings.Repeat("    ", depth)
	line := func(s string) {
		b.WriteString(sign + ind[1:] + s + "\n")
	}
	if !n.block {
		line(n.show)
		return
	}
	line(n.show + " {")
	for _, k := range n.kids {
		k.write(b, sign, depth+1)
	}
	line("}")
}

type differ struct {
	b    strings.Builder
	last string // the last header written
}

func (d *differ) header(path []string) {
	h := "[edit]"
	if len(path) > 0 {
		h = "[edit " + strings.Join(path, " ") + "]"
	}
	if h != d.last {
		d.b.WriteString(h + "\n")
		d.last = h
	}
}

func (d *differ) diff(old, new *tnode, path []string) {
	for _, o := range old.kids {
		if new.find(o.head, o.block) == nil {
			d.header(path)
			o.write(&d.b, "-", 1)
		}
	}
	for _, n := range new.kids {
		o := old.find(n.head, n.block)
		switch {
		case o == nil:
			d.header(path)
			n.write(&d.b, "+", 1)
		case n.block:
			d.diff(o, n, append(append([]string(nil), path...), n.show))
		}
	}
}

// JSON renders the configuration tree (the same shape as the stored form)
// as JSON, secrets masked unless asked for.
func (c *Config) JSON(o RenderOptions) ([]byte, error) {
	tree := treeOf(Schema(), reflect.ValueOf(c).Elem())
	if !o.Secrets {
		maskTree(Schema(), tree)
	}
	return json.MarshalIndent(map[string]any{"configuration": tree}, "", "  ")
}

func maskTree(n *Node, m map[string]any) {
	for _, c := range append(append([]*Node{}, n.Keys...), n.Children...) {
		v, ok := m[c.Name]
		if !ok {
			continue
		}
		switch {
		case c.Secret:
			m[c.Name] = Mask
		case c.Kind == Container:
			maskTree(c, v.(map[string]any))
		case c.Kind == List:
			for _, e := range v.([]any) {
				maskTree(&Node{Children: c.Children}, e.(map[string]any))
			}
		}
	}
}
