package kmod

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// depmodOrdered reports whether ix is as depmod writes it, the only case in which Closure promises its
// order: each module lists all it needs, directly or not, so that loading the list from last to first
// works.
func depmodOrdered(ix *Index) bool {
	for _, deps := range ix.deps {
		for i, d := range deps {
			for _, dd := range ix.deps[d] {
				if !slices.Contains(deps, dd) || slices.Contains(deps[:i+1], dd) {
					return false
				}
			}
		}
	}
	return true
}

// FuzzParseIndex feeds modules.dep and modules.builtin to ParseIndex. It returns an index or an error,
// never both; every module it knows has a file whose module name is that module's; Closure of every
// module lists each once, after its dependencies (in a modules.dep as depmod writes it); and WriteDep writes a modules.dep that parses back to
// the same files and dependencies.
func FuzzParseIndex(f *testing.F) {
	dir := filepath.Join("testdata", "lib", "modules", release)
	dep, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if err != nil {
		f.Fatal(err)
	}
	builtin, err := os.ReadFile(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(dep, builtin)
	f.Add(dep[:len(dep)/2], builtin[:len(builtin)/2])
	f.Add([]byte("# comment\n\n  kernel/a-b.ko.xz:  kernel/c.ko kernel/a-b.ko\nkernel/c.ko:\n"), []byte("kernel/c.ko\n"))
	f.Add([]byte("no colon here\n"), []byte(nil))
	f.Add([]byte(":\n.ko: .ko\nx.ko: y.ko\ny.ko: x.ko\n"), []byte("\n \n"))
	f.Add(bytes.Repeat([]byte("a"), 1<<20+1), []byte(nil))
	f.Fuzz(func(t *testing.T, dep, builtin []byte) {
		var br *bytes.Reader
		if builtin != nil {
			br = bytes.NewReader(builtin)
		}
		ix, err := ParseIndex(bytes.NewReader(dep), br)
		if (ix == nil) == (err == nil) {
			t.Fatalf("ParseIndex = %v, %v", ix, err)
		}
		if err != nil {
			return
		}
		var names []string
		for name, p := range ix.paths {
			if Name(p) != name {
				t.Fatalf("module %q has the file %q, of module %q", name, p, Name(p))
			}
			if got, ok := ix.Path(name); !ok || got != p {
				t.Fatalf("Path(%q) = %q, %v; want %q", name, got, ok, p)
			}
			names = append(names, name)
		}
		sort.Strings(names)
		for _, line := range strings.Split(string(builtin), "\n") {
			if line = strings.TrimSpace(line); line != "" && !ix.Builtin(Name(line)) {
				t.Fatalf("%q of modules.builtin is not built in", line)
			}
		}

		out, err := ix.Closure(names)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("Closure: %v does not wrap ErrNotFound", err)
		}
		pos := map[string]int{}
		for i, m := range out {
			if _, dup := pos[m]; dup {
				t.Fatalf("Closure lists %q twice: %q", m, out)
			}
			if _, ok := ix.paths[m]; !ok {
				t.Fatalf("Closure lists %q, which has no file", m)
			}
			pos[m] = i
		}
		for _, n := range names {
			order, err := ix.LoadOrder(n)
			if err != nil {
				continue
			}
			if order[len(order)-1] != n || len(order) != len(ix.deps[n])+1 {
				t.Fatalf("LoadOrder(%q) = %q, deps %q", n, order, ix.deps[n])
			}
			if _, ok := pos[n]; !ok {
				t.Fatalf("Closure leaves out %q, which loads", n)
			}
			for _, d := range order[:len(order)-1] {
				if depmodOrdered(ix) && d != n && pos[d] > pos[n] {
					t.Fatalf("Closure loads %q before its dependency %q: %q", n, d, out)
				}
			}
		}

		// modules.dep separates files by white space, so only files without it can be written back.
		for _, p := range ix.paths {
			if p == "" || strings.ContainsAny(p, " \t\r\n\v\f") {
				return
			}
		}
		var b bytes.Buffer
		if err := ix.WriteDep(&b, out); err != nil {
			t.Fatalf("WriteDep(%q): %v", out, err)
		}
		ix2, err := ParseIndex(bytes.NewReader(b.Bytes()), nil)
		if err != nil {
			t.Fatalf("parsing our own modules.dep: %v\n%s", err, b.Bytes())
		}
		for _, m := range out {
			complete := true
			for _, d := range ix.deps[m] {
				_, known := ix.paths[d]
				complete = complete && known
			}
			if ix2.paths[m] != ix.paths[m] || (complete && !slices.Equal(ix2.deps[m], ix.deps[m])) {
				t.Fatalf("module %q: %q needs %q, written back as %q needs %q", m, ix.paths[m], ix.deps[m], ix2.paths[m], ix2.deps[m])
			}
		}
		if len(ix2.paths) != len(out) {
			t.Fatalf("WriteDep of %d modules wrote %d", len(out), len(ix2.paths))
		}
	})
}
