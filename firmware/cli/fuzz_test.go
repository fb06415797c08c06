package cli

import (
	"strings"
	"testing"
)

// FuzzParseLine checks that the line parser never panics, that word
// offsets point into the line, and that unquoted words survive a
// re-join: the parser's output read back gives the same words.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"", "show route", "sh sec ike sa index 1 detail", `set system host-name "a b"`,
		`show configuration | display set | match "ge-0/0/[01]"`, "| count", "a|b||c |", `"unterminated`,
		`set security ike policy P pre-shared-key ascii-text "$ABC\"123"`, "\x03\x04\t\r\n", "ping 10.0.0.1 count 3 |  last 2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLine(s)
		if err != nil {
			return
		}
		all := append([]Word(nil), l.Words...)
		for _, p := range l.Pipes {
			all = append(all, p...)
		}
		for _, w := range all {
			if w.Pos < 0 || w.Pos >= len(s) {
				t.Fatalf("word %q at %d outside %q", w.Text, w.Pos, s)
			}
			if !w.Quoted && !strings.HasPrefix(s[w.Pos:], w.Text) {
				t.Fatalf("unquoted word %q is not at %d of %q", w.Text, w.Pos, s)
			}
		}
		if len(l.Pipes) == 0 {
			var parts []string
			for _, w := range l.Words {
				parts = append(parts, quoteWord(w.Text))
			}
			again, err := ParseLine(strings.Join(parts, " "))
			if err != nil {
				t.Fatalf("re-parse of %q: %v", strings.Join(parts, " "), err)
			}
			if strings.Join(texts(again.Words), "\x00") != strings.Join(texts(l.Words), "\x00") {
				t.Fatalf("round trip of %q: %q then %q", s, texts(l.Words), texts(again.Words))
			}
		}
		// The session's own entry points must not panic either.
		sess := newTestSession(false)
		sess.complete(s)
		sess.configMode = true
		sess.complete(s)
	})
}
