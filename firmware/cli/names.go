package cli

import (
	"slices"

	"github.com/palisade/palisade/firmware/config"
)

// configNames lists the names that exist for the value s expects, in c:
// the keys of the entries of the list being named (`security-zone ?` offers
// the zones), then the objects the value refers to (`from-zone ?` offers
// the zones too), which config.ReferencedNames knows. It returns nil where
// a value names nothing.
func (s *pathState) configNames(c *config.Config) []string {
	var out []string
	var ref []string // the schema path of the value, for references
	switch s.exp {
	case expKey:
		out = entryKeys(c, s.at)
		ref = slices.Clone(s.schema)
		if s.keyIdx > 0 {
			ref = append(ref, s.list.Keys[s.keyIdx].Name)
		}
	case expValue, expValues, expBracket:
		ref = append(slices.Clone(s.schema), s.leaf.Name)
	case expKeyword:
		// A bare list's key follows its parent directly (interfaces ge-0/0/0).
		if bareList(s.node) == nil {
			return nil
		}
		return entryKeys(c, s.at)
	}
	out = append(out, c.ReferencedNames(ref, s.keys)...)
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(n string) bool {
		dup := seen[n]
		seen[n] = true
		return dup
	})
}

// entryKeys returns the words that follow at in the set lines of c: the
// keys of the entries of the list whose keyword at ends with (or, for a
// bare list, of the container at names), in configured order. Going through
// the set lines keeps this generic over the schema: they spell every entry
// with its full path, and the renderer already walks the model.
func entryKeys(c *config.Config, at []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range c.SetLines(config.RenderOptions{}) {
		l, err := ParseLine(line)
		if err != nil {
			continue // a rendered line always parses; skip rather than guess
		}
		ws := l.Words
		if len(ws) < len(at)+2 || ws[0].Text != "set" || !slices.Equal(texts(ws[1:len(at)+1]), at) {
			continue
		}
		if k := ws[len(at)+1].Text; !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
