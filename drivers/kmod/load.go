package kmod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultTimeout bounds the loading of one module when Loader.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Loader loads modules from Root/lib/modules/Release. The zero value loads from the running kernel's
// directory with finit_module(2) and DefaultTimeout.
type Loader struct {
	// Root is prepended to /lib/modules and /sys/module; "" means "/". Tests point it at a fake tree.
	Root string
	// Release is the kernel release directory name; "" means uname -r.
	Release string
	// Timeout bounds each module's load. finit_module cannot be interrupted: after a timeout the call goes on
	// in the background and its module is reported as failed; the loader moves on to the next one.
	Timeout time.Duration
	// Init loads one module file; nil means finit_module(2). Tests replace it.
	Init func(f *os.File, params string, flags int) error
}

// State is what happened to one module.
type State int

// The states of a Result.
const (
	Failed        State = iota
	Loaded              // inserted now
	AlreadyLoaded       // present before (or inserted by a module loaded earlier in this run)
	Builtin             // part of the kernel image
)

func (s State) String() string {
	switch s {
	case Loaded:
		return "loaded"
	case AlreadyLoaded:
		return "already loaded"
	case Builtin:
		return "built in"
	default:
		return "failed"
	}
}

// Result is the outcome for one requested module.
type Result struct {
	Name  string
	State State
	// Deps are the dependencies inserted for this module by this call, in load order.
	Deps []string
	// Err is set when State is Failed; it names the module (or dependency) that failed.
	Err  error
	Took time.Duration
}

// ModuleDir returns the directory modules are read from.
func (l Loader) ModuleDir() (string, error) {
	rel := l.Release
	if rel == "" {
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return "", fmt.Errorf("reading kernel release: %w", err)
		}
		rel = unix.ByteSliceToString(u.Release[:])
	}
	return filepath.Join(l.root(), "lib", "modules", rel), nil
}

func (l Loader) root() string {
	if l.Root == "" {
		return "/"
	}
	return l.Root
}

// LoadAll loads names in order, each after its dependencies. It returns one Result per name; a failure does
// not stop the others (a module whose dependency failed fails too). The error is set only when the module
// index itself cannot be read, in which case nothing was loaded.
func (l Loader) LoadAll(ctx context.Context, names []string) ([]Result, error) {
	dir, err := l.ModuleDir()
	if err != nil {
		return nil, err
	}
	ix, err := ReadIndex(dir)
	if err != nil {
		return nil, err
	}
	done := map[string]error{} // modules attempted in this call -> their error
	var results []Result
	for _, name := range names {
		if ctx.Err() != nil {
			results = append(results, Result{Name: Normalize(name), Err: fmt.Errorf("module %s: %w", name, ctx.Err())})
			continue
		}
		results = append(results, l.loadOne(ctx, ix, dir, Normalize(name), done))
	}
	return results, nil
}

func (l Loader) loadOne(ctx context.Context, ix *Index, dir, name string, done map[string]error) Result {
	start := time.Now()
	r := Result{Name: name}
	defer func() { r.Took = time.Since(start) }()
	if ix.Builtin(name) {
		r.State = Builtin
		return r
	}
	order, err := ix.LoadOrder(name)
	if err != nil {
		r.Err = err
		return r
	}
	r.State = AlreadyLoaded
	for _, m := range order {
		err, attempted := done[m]
		if !attempted {
			var inserted bool
			inserted, err = l.insert(ctx, ix, dir, m)
			done[m] = err
			if inserted && m != name {
				r.Deps = append(r.Deps, m)
			}
			if inserted && m == name {
				r.State = Loaded
			}
		}
		if err != nil {
			r.State = Failed
			if m != name {
				err = fmt.Errorf("module %s: dependency failed: %w", name, err)
			}
			r.Err = err
			return r
		}
	}
	return r
}

// insert loads one module file unless /sys/module/NAME shows it is there already.
func (l Loader) insert(ctx context.Context, ix *Index, dir, name string) (inserted bool, err error) {
	if _, err := os.Stat(filepath.Join(l.root(), "sys", "module", name)); err == nil {
		return false, nil
	}
	rel, _ := ix.Path(name)
	file := filepath.Join(dir, rel)
	f, err := os.Open(file)
	if err != nil {
		return false, fmt.Errorf("module %s: %w", name, err)
	}
	flags := 0
	if !strings.HasSuffix(file, ".ko") {
		flags = unix.MODULE_INIT_COMPRESSED_FILE // .ko.xz, .ko.zst: the kernel decompresses
	}
	init := l.Init
	if init == nil {
		init = func(f *os.File, params string, flags int) error {
			return unix.FinitModule(int(f.Fd()), params, flags)
		}
	}
	timeout := l.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ch := make(chan error, 1) // buffered: a timed-out call must not block forever on send
	go func() {
		defer f.Close()
		ch <- init(f, "", flags)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err = <-ch:
	case <-t.C:
		return false, fmt.Errorf("module %s: loading %s timed out after %v", name, file, timeout)
	case <-ctx.Done():
		return false, fmt.Errorf("module %s: %w", name, ctx.Err())
	}
	if errors.Is(err, unix.EEXIST) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("module %s: finit_module %s: %w", name, file, err)
	}
	return true, nil
}
