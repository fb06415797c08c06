package cli

import (
	"errors"
	"strings"
)

// Word is one word of a command line.
type Word struct {
	Text   string // without quotes, escapes resolved
	Pos    int    // byte offset of its first character in the line
	Quoted bool
}

// Line is a command line split into the command's words and the stages of
// its pipes (`show route | match ge-0 | count`).
type Line struct {
	Words []Word
	Pipes [][]Word
	// Trailing reports white space after the last word, so that the last
	// word is complete (completion then lists what follows it).
	Trailing bool
}

// ErrUnterminatedQuote is returned for a line with an open double quote.
var ErrUnterminatedQuote = errors.New("unterminated quoted string")

// ParseLine splits s into words at unquoted white space and into pipe
// stages at unquoted `|`. Double quotes group words; a backslash inside
// quotes escapes the next character.
func ParseLine(s string) (Line, error) {
	var l Line
	cur := &l.Words
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '|':
			l.Pipes = append(l.Pipes, nil)
			cur = &l.Pipes[len(l.Pipes)-1]
			i++
		default:
			start := i
			var b strings.Builder
			quoted := false
			for i < len(s) {
				c = s[i]
				if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '|' {
					break
				}
				if c != '"' {
					b.WriteByte(c)
					i++
					continue
				}
				quoted = true
				i++
				closed := false
				for i < len(s) {
					c = s[i]
					if c == '\\' && i+1 < len(s) {
						b.WriteByte(s[i+1])
						i += 2
						continue
					}
					i++
					if c == '"' {
						closed = true
						break
					}
					b.WriteByte(c)
				}
				if !closed {
					return l, ErrUnterminatedQuote
				}
			}
			*cur = append(*cur, Word{Text: b.String(), Pos: start, Quoted: quoted})
		}
	}
	if n := len(s); n > 0 {
		c := s[n-1]
		l.Trailing = c == ' ' || c == '\t' || c == '|'
	}
	return l, nil
}

// texts returns the words' texts.
func texts(ws []Word) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Text
	}
	return out
}
