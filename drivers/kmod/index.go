// Package kmod loads kernel modules in a given order, each after its dependencies from modules.dep.
//
// It reads only modules.dep and modules.builtin: no aliases and no soft dependencies, so a board lists every
// module it needs by name. Module names use underscores; files may be named with dashes (ghash-generic.ko is
// the module ghash_generic), as the kernel treats both alike.
//
// The Index half (parsing and dependency closure) is pure and is also used on the host by the image builder
// to pick which .ko files go into the initramfs.
package kmod

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Name returns the module name of a module file path: "kernel/crypto/ghash-generic.ko" -> "ghash_generic".
func Name(file string) string {
	base := path.Base(file)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return Normalize(base)
}

// Normalize returns the canonical spelling of a module name: dashes become underscores.
func Normalize(name string) string {
	return strings.ReplaceAll(name, "-", "_")
}

// Index is the content of a kernel's modules.dep and modules.builtin.
type Index struct {
	paths   map[string]string   // module name -> file path relative to /lib/modules/RELEASE
	deps    map[string][]string // module name -> dependency names, as listed (load them in reverse)
	builtin map[string]bool
}

// ErrNotFound is returned (wrapped) for a module that is neither a module file nor built in.
var ErrNotFound = errors.New("module not found")

// ParseIndex reads modules.dep and, if builtin is not nil, modules.builtin.
func ParseIndex(dep, builtin io.Reader) (*Index, error) {
	ix := &Index{paths: map[string]string{}, deps: map[string][]string{}, builtin: map[string]bool{}}
	sc := bufio.NewScanner(dep)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		file, rest, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("modules.dep line %d: no ':' in %q", line, text)
		}
		name := Name(file)
		ix.paths[name] = file
		var deps []string
		for _, d := range strings.Fields(rest) {
			deps = append(deps, Name(d))
		}
		ix.deps[name] = deps
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading modules.dep: %w", err)
	}
	if builtin != nil {
		sc := bufio.NewScanner(builtin)
		for sc.Scan() {
			if t := strings.TrimSpace(sc.Text()); t != "" {
				ix.builtin[Name(t)] = true
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading modules.builtin: %w", err)
		}
	}
	return ix, nil
}

// ReadIndex reads modules.dep and modules.builtin (optional) from dir, a /lib/modules/RELEASE directory.
func ReadIndex(dir string) (*Index, error) {
	dep, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("opening module index: %w", err)
	}
	defer dep.Close()
	var builtin io.Reader
	if f, err := os.Open(filepath.Join(dir, "modules.builtin")); err == nil {
		defer f.Close()
		builtin = f
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("opening modules.builtin: %w", err)
	}
	return ParseIndex(dep, builtin)
}

// Path returns the file of module name, relative to the /lib/modules/RELEASE directory.
func (ix *Index) Path(name string) (string, bool) {
	p, ok := ix.paths[Normalize(name)]
	return p, ok
}

// Builtin reports whether module name is built into the kernel.
func (ix *Index) Builtin(name string) bool {
	return ix.builtin[Normalize(name)]
}

// LoadOrder returns name and its dependencies in an order that loads each after what it needs.
// Built-in modules are left out. The error wraps ErrNotFound for an unknown module.
func (ix *Index) LoadOrder(name string) ([]string, error) {
	name = Normalize(name)
	if _, ok := ix.paths[name]; !ok {
		if ix.builtin[name] {
			return nil, nil
		}
		return nil, fmt.Errorf("module %s: %w", name, ErrNotFound)
	}
	var order []string
	deps := ix.deps[name]
	// depmod lists dependencies so that loading them from last to first works (as modprobe does).
	for i := len(deps) - 1; i >= 0; i-- {
		if _, ok := ix.paths[deps[i]]; !ok {
			return nil, fmt.Errorf("module %s needs %s: %w", name, deps[i], ErrNotFound)
		}
		order = append(order, deps[i])
	}
	return append(order, name), nil
}

// Closure returns the modules names need, dependencies first, each once, in the order they would be
// loaded. Unknown modules are collected into the returned error (errors.Join) and the rest is still returned.
func (ix *Index) Closure(names []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	var errs []error
	for _, n := range names {
		order, err := ix.LoadOrder(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, m := range order {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out, errors.Join(errs...)
}

// WriteDep writes a modules.dep holding only the given modules (which must be closed under dependencies,
// as Closure returns), in the given order.
func (ix *Index) WriteDep(w io.Writer, names []string) error {
	bw := bufio.NewWriter(w)
	for _, n := range names {
		p, ok := ix.paths[Normalize(n)]
		if !ok {
			return fmt.Errorf("writing modules.dep: module %s: %w", n, ErrNotFound)
		}
		fmt.Fprintf(bw, "%s:", p)
		for _, d := range ix.deps[Normalize(n)] {
			fmt.Fprintf(bw, " %s", ix.paths[d])
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}
