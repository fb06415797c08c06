// Package cli is Palisade's Junos-style command line: the operational and
// configuration modes of one Session, the candidate configuration shared by
// all sessions (Editor), the show renderers with Junos's exact layouts, and
// the pipes (match, except, count, last, display set, compare).
//
// One tree of commands (tree.go) and the configuration schema
// (config.Schema, walked in path.go) drive parsing, `?` help and Tab
// completion, so the three never disagree. `?` and Tab also offer the
// names that exist where a value names a list entry or another object
// (names.go, with config.ReferencedNames), read from the candidate in
// configuration mode and from the active configuration otherwise. Everything the CLI needs from
// the box goes through the System interface; the init implements it, tests
// use a fake.
package cli
