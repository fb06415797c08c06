package cli

import (
	"strings"

	"github.com/palisade/palisade/firmware/config"
)

// Commit problems are shown as Junos shows them: the hierarchy level in
// brackets, the statement quoted under it, the message under that, and one
// header for consecutive problems at the same level:
//
//	[edit security zones security-zone trust]
//	  'interfaces ge-0/0/5.0'
//	    interface ge-0/0/5.0 is not configured under interfaces
//	error: configuration check-out failed

// problemLines renders problems (warnings get "warning: " before the
// message) and returns the lines.
func problemLines(ps []*config.Problem) []string {
	var out []string
	last := ""
	for _, p := range ps {
		msg := p.Message
		if p.Warning {
			msg = "warning: " + msg
		}
		level, stmt, ok := splitStatement(p.Statement)
		if !ok {
			// A problem of the whole configuration, or a statement the
			// schema cannot place: the statement as written, then the
			// message, so that the user still sees what to fix.
			line := msg
			if p.Statement != "" {
				line = p.Statement + ": " + msg
			}
			if !p.Warning {
				line = "error: " + line
			}
			out = append(out, line)
			last = ""
			continue
		}
		if h := "[edit" + level + "]"; h != last {
			out = append(out, h)
			last = h
		}
		out = append(out, "  '"+stmt+"'", "    "+msg)
	}
	return out
}

// splitStatement splits a set statement into its hierarchy level (with a
// leading space, "" at the top) and the statement within it. A statement
// that names a block itself ("policy P") is shown under its parent.
func splitStatement(set string) (level, stmt string, ok bool) {
	text, found := strings.CutPrefix(set, "set ")
	if !found {
		return "", "", false
	}
	l, err := ParseLine(text)
	if err != nil || len(l.Words) == 0 {
		return "", "", false
	}
	st, serr := walkPath(nil, l.Words)
	if serr != nil {
		return "", "", false
	}
	cut := 0
	for i := len(st.levels) - 1; i >= 0; i-- {
		if st.levels[i] < len(st.path) {
			cut = st.levels[i]
			break
		}
	}
	words := quoteWords(st.path)
	if cut > 0 {
		level = " " + strings.Join(words[:cut], " ")
	}
	return level, strings.Join(words[cut:], " "), true
}

// commitProblems takes the configuration problems out of a failed commit's
// error; the rest are errors of their own (a stage that failed to apply).
func commitProblems(err error) (ps []*config.Problem, others []error) {
	var walk func(error)
	walk = func(err error) {
		if p, ok := err.(*config.Problem); ok {
			ps = append(ps, p)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		others = append(others, err)
	}
	walk(err)
	return ps, others
}
