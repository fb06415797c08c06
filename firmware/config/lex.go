package config

import (
	"fmt"
	"strings"
)

// token is one word of configuration text. Punctuation ({ } ; [ ]) comes as
// its own token with punct set, so that a quoted "{" stays a value.
type token struct {
	text  string
	punct bool
	line  int
}

// lex splits Junos configuration text into tokens. It accepts double-quoted
// strings with backslash escapes, `#` comments to the end of the line and
// `/* */` comments. Newlines matter to the set form, so each token carries
// its line.
func lex(src string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated /* comment", line)
			}
			line += strings.Count(src[i:i+2+end], "\n")
			i += end + 4
		case c == '{' || c == '}' || c == ';' || c == '[' || c == ']':
			toks = append(toks, token{text: string(c), punct: true, line: line})
			i++
		case c == '"':
			start := line
			var b strings.Builder
			i++
			closed := false
			for i < len(src) {
				ch := src[i]
				if ch == '\\' && i+1 < len(src) {
					b.WriteByte(src[i+1])
					if src[i+1] == '\n' {
						line++
					}
					i += 2
					continue
				}
				if ch == '"' {
					closed = true
					i++
					break
				}
				if ch == '\n' {
					line++
				}
				b.WriteByte(ch)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("line %d: unterminated quoted string", start)
			}
			toks = append(toks, token{text: b.String(), line: start})
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n{};[]\"", rune(src[j])) {
				j++
			}
			toks = append(toks, token{text: src[i:j], line: line})
			i = j
		}
	}
	return toks, nil
}

// quote renders a value so that lex reads it back unchanged.
func quote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\r\n{};[]\"#\\'$!*") && !strings.HasPrefix(v, "/*") {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
