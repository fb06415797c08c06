// Command palisade-cfg checks, converts and packs Palisade configurations on
// a host. See README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/tools/cfgdisk"
)

func main() {
	code, err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "palisade-cfg:", err)
	}
	os.Exit(code)
}

const usage = `usage:
  palisade-cfg check FILE...
  palisade-cfg compile FILE -o OUT.cbor
  palisade-cfg show FILE [--format set|text|json] [--secrets] [--defaults]
  palisade-cfg diff A B
  palisade-cfg disk FILE -o OUT.img
FILE may be in the set form, the brace form or CBOR; the form is detected.`

// errInvalid marks a configuration that does not validate: exit status 1.
var errInvalid = errors.New("configuration is not valid")

func run(args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2, nil
	}
	verb, rest := args[0], args[1:]
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output file")
	format := fs.String("format", "text", "show format: set, text or json")
	secrets := fs.Bool("secrets", false, "show secrets instead of masking them")
	defaults := fs.Bool("defaults", false, "also print every default and proposal set")
	if err := fs.Parse(interleave(rest)); err != nil {
		return 2, nil
	}
	files := fs.Args()
	var err error
	switch verb {
	case "check":
		if len(files) == 0 {
			return 2, errors.New("check needs at least one FILE")
		}
		err = check(files, stdout)
	case "compile":
		if len(files) != 1 || *out == "" {
			return 2, errors.New("compile needs FILE -o OUT.cbor")
		}
		err = compile(files[0], *out, stdout)
	case "show":
		if len(files) != 1 && !*defaults {
			return 2, errors.New("show needs FILE")
		}
		err = show(files, *format, *secrets, *defaults, stdout)
	case "diff":
		if len(files) != 2 {
			return 2, errors.New("diff needs A B")
		}
		err = diff(files[0], files[1], stdout)
	case "disk":
		if len(files) != 1 || *out == "" {
			return 2, errors.New("disk needs FILE -o OUT.img")
		}
		var c *config.Config
		if c, err = load(files[0], stdout); err == nil {
			err = cfgdisk.Build(c, *out, time.Now())
		}
	default:
		fmt.Fprintln(stderr, usage)
		return 2, nil
	}
	if errors.Is(err, errInvalid) {
		return 1, nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// interleave lets flags follow the file names (`show FILE --format set`).
func interleave(args []string) []string {
	var flags, files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			if (a == "-o" || a == "--o" || a == "-format" || a == "--format") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		files = append(files, a)
	}
	return append(flags, files...)
}

// parse reads one file in any form and returns it with its problems
// (parse errors, or validation errors and warnings), located.
func parse(path string) (*config.Config, []*config.Problem, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if config.IsCBOR(b) {
		c, err := config.DecodeCBOR(b)
		if err != nil {
			return nil, []*config.Problem{{File: path, Message: err.Error()}}, nil
		}
		return c, c.Validate(), nil
	}
	c, src, err := config.Parse(path, string(b))
	if err != nil {
		var probs []*config.Problem
		for _, e := range unjoin(err) {
			var p *config.Problem
			if errors.As(e, &p) {
				probs = append(probs, p)
			} else {
				probs = append(probs, &config.Problem{File: path, Message: e.Error()})
			}
		}
		return nil, probs, nil
	}
	ps := c.Validate()
	src.Locate(ps)
	return c, ps, nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// load parses and validates, printing problems; errInvalid if any is an error.
func load(path string, w io.Writer) (*config.Config, error) {
	c, ps, err := parse(path)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		fmt.Fprintln(w, p)
	}
	if c == nil || len(config.Errors(ps)) > 0 {
		return nil, errInvalid
	}
	return c, nil
}

func check(files []string, w io.Writer) error {
	var bad bool
	for _, f := range files {
		if _, err := load(f, w); err != nil {
			if !errors.Is(err, errInvalid) {
				return err
			}
			bad = true
		}
	}
	if bad {
		return errInvalid
	}
	return nil
}

func compile(in, out string, w io.Writer) error {
	c, err := load(in, w)
	if err != nil {
		return err
	}
	b, err := c.MarshalCBOR()
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o600)
}

func show(files []string, format string, secrets, defaults bool, w io.Writer) error {
	if len(files) == 1 {
		c, err := load(files[0], io.Discard)
		if err != nil {
			return err
		}
		o := config.RenderOptions{Secrets: secrets}
		switch format {
		case "set":
			fmt.Fprint(w, c.SetText(o))
		case "text":
			fmt.Fprint(w, c.Text(o))
		case "json":
			b, err := c.JSON(o)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, string(b))
		default:
			return fmt.Errorf("unknown format %q: use set, text or json", format)
		}
	}
	if defaults {
		fmt.Fprint(w, config.DefaultsText())
	}
	return nil
}

func diff(a, b string, w io.Writer) error {
	ca, err := load(a, io.Discard)
	if err != nil {
		return fmt.Errorf("%s: %w", a, err)
	}
	cb, err := load(b, io.Discard)
	if err != nil {
		return fmt.Errorf("%s: %w", b, err)
	}
	fmt.Fprint(w, config.Compare(ca, cb))
	return nil
}
