package cli

import (
	"strings"

	"github.com/palisade/palisade/firmware/config"
)

// `show | compare`: the candidate against the active configuration, as
// Junos prints it: an `[edit ...]` header for each hierarchy level with
// changes, then the removed (-) and added (+) statements, whole blocks
// written out in the brace form.

// tnode is a statement of the brace form: a leaf line or a block.
type tnode struct {
	head  string // the line without its indent, " {" or ";"
	block bool
	kids  []*tnode
}

func parseBrace(text string) *tnode {
	root := &tnode{block: true}
	stack := []*tnode{root}
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		top := stack[len(stack)-1]
		switch {
		case t == "":
		case t == "}":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case strings.HasSuffix(t, " {"):
			n := &tnode{head: strings.TrimSuffix(t, " {"), block: true}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		default:
			top.kids = append(top.kids, &tnode{head: t})
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
		line(n.head)
		return
	}
	line(n.head + " {")
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
			d.diff(o, n, append(append([]string(nil), path...), n.head))
		}
	}
}

// compareConfigs renders the changes from active to cand.
func compareConfigs(active, cand *config.Config) string {
	o := config.RenderOptions{}
	d := &differ{}
	d.diff(parseBrace(active.Text(o)), parseBrace(cand.Text(o)), nil)
	return d.b.String()
}
