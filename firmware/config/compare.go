package config

import (
	"encoding/json"
	"reflect"
	"strings"
)

// Compare renders the difference from a to b as Junos's `show | compare`
// does: changes grouped under `[edit HIERARCHY]` headers, each line starting
// with - (only in a) or + (only in b). Secrets are masked.
func Compare(a, b *Config) string {
	o := RenderOptions{}
	la, lb := a.SetLines(o), b.SetLines(o)
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, l := range la {
		inA[l] = true
	}
	for _, l := range lb {
		inB[l] = true
	}
	type change struct {
		sign   byte
		parent string
		leaf   string
	}
	var changes []change
	// Removed lines in a's order, then added lines in b's order, each
	// grouped by hierarchy: the order Junos uses.
	for _, l := range la {
		if !inB[l] {
			p, lf := splitStatement(l)
			changes = append(changes, change{'-', p, lf})
		}
	}
	for _, l := range lb {
		if !inA[l] {
			p, lf := splitStatement(l)
			changes = append(changes, change{'+', p, lf})
		}
	}
	var parents []string
	byParent := map[string][]change{}
	for _, c := range changes {
		if _, seen := byParent[c.parent]; !seen {
			parents = append(parents, c.parent)
		}
		byParent[c.parent] = append(byParent[c.parent], c)
	}
	var out strings.Builder
	for _, p := range parents {
		if p == "" {
			out.WriteString("[edit]\n")
		} else {
			out.WriteString("[edit " + p + "]\n")
		}
		for _, c := range byParent[p] {
			out.WriteString(string(c.sign) + "   " + c.leaf + ";\n")
		}
	}
	return out.String()
}

// splitStatement splits "set A B C" into the hierarchy that holds the last
// statement and that statement: "security zones security-zone trust" and
// "interfaces ge-0/0/0.0".
func splitStatement(line string) (parent, leaf string) {
	words := strings.Fields(strings.TrimPrefix(line, "set "))
	n := Schema()
	cut := 0
	for i := 0; i < len(words); {
		c, bare := resolveChild(n, words[i])
		if c == nil {
			break
		}
		switch c.Kind {
		case Container:
			i++
			cut = i
			n = c
			continue
		case List:
			step := 1 + 2*(len(c.Keys)-1)
			if !bare {
				step++
			}
			if i+step >= len(words) {
				return strings.Join(words[:cut], " "), strings.Join(words[cut:], " ")
			}
			i += step
			cut = i
			n = &Node{Name: c.Name, Children: c.Children}
			continue
		}
		break
	}
	return strings.Join(words[:cut], " "), strings.Join(words[cut:], " ")
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
