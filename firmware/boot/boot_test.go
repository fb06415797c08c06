package boot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/palisade/palisade/drivers/kmod"
	"github.com/palisade/palisade/firmware/commit"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/software"
	"github.com/palisade/palisade/firmware/store"
)

// fakeEnv is a box without hardware: its files in a temporary tree, no
// mounts, modules that "load", no firmware slot, a netlink handle of the
// test's own namespace (no port matches the empty sysfs), and a
// configuration disk that is a directory.
func fakeEnv(t *testing.T, said *[]string, modules *[]string) Env {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := os.MkdirAll(filepath.Join(dir, "sys", "class", "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Env{
		Log:       slog.New(slog.DiscardHandler),
		Say:       func(format string, a ...any) { *said = append(*said, fmt.Sprintf(format, a...)) },
		Now:       func() time.Time { return time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC) },
		BoardFile: write("board", "qemu-x86_64\n"), VersionFile: write("version", "9.9-test\n"),
		CmdlineFile: write("cmdline", "console=ttyS0 palisade.modules=extra_a,extra_b\n"),
		Sysfs:       filepath.Join(dir, "sys"),
		Mount:       func() error { return errors.New("no mounts in a test") },
		LoadModules: func(_ context.Context, names []string) ([]kmod.Result, error) {
			*modules = append(*modules, names...)
			var rs []kmod.Result
			for _, n := range names {
				r := kmod.Result{Name: n, State: kmod.Loaded}
				if n == "extra_b" {
					r.State, r.Err = kmod.Failed, errors.New("no such module")
				}
				rs = append(rs, r)
			}
			return rs, nil
		},
		StartSlot:  func(string) (*software.Boot, error) { return nil, nil },
		Netlink:    func() (*netlink.Handle, error) { return netlink.NewHandle() },
		ConfigDisk: func(*slog.Logger) (string, error) { return "", errors.New("no configuration disk (a test)") },
	}
}

type countStage struct{ hosts []string }

func (c *countStage) Name() string { return "count" }
func (c *countStage) Apply(_ context.Context, in *commit.Intent) error {
	c.hosts = append(c.hosts, in.Config.HostName(""))
	return nil
}

// TestBootSteps runs the whole boot over a fake environment: the steps run
// in their order, a failing step that is not required (mounts, one module)
// is reported and boot goes on, the board's modules and the command line's
// extra ones are asked for, and without a configuration disk the factory
// default is committed through the stages.
func TestBootSteps(t *testing.T) {
	var said, modules []string
	env := fakeEnv(t, &said, &modules)
	var logs bytes.Buffer
	env.Log = slog.New(slog.NewTextHandler(&logs, nil))
	st := &countStage{}
	box, err := Up(context.Background(), env, func(*Box) []commit.Stage { return []commit.Stage{st} })
	if err != nil {
		t.Fatal(err)
	}
	if box.Board.Name != "qemu-x86_64" || box.Version != "9.9-test" {
		t.Errorf("board %q version %q", box.Board.Name, box.Version)
	}
	if n := len(modules); n < 3 || modules[n-2] != "extra_a" || modules[n-1] != "extra_b" {
		t.Errorf("modules asked for: %v, want the board's then extra_a, extra_b", modules)
	}
	want := []string{
		"module extra_b failed to load: no such module",
		"Palisade 9.9-test on board qemu-x86_64 (amd64)",
		"no configuration disk (a test): running the factory default configuration",
		"configuration applied: host palisade",
	}
	if got := strings.Join(said, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("said:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if !strings.Contains(logs.String(), "step=mounts") {
		t.Errorf("the failed mounts step was not logged:\n%s", logs.String())
	}
	if len(st.hosts) != 1 || st.hosts[0] != "palisade" || box.Pipeline.Active().HostName("") != "palisade" {
		t.Errorf("stages applied %v", st.hosts)
	}
}

// A required step that fails ends the boot with its name: without the
// board nothing after it can run.
func TestBootStopsWithoutBoard(t *testing.T) {
	var said, modules []string
	env := fakeEnv(t, &said, &modules)
	env.BoardFile = filepath.Join(t.TempDir(), "missing")
	_, err := Up(context.Background(), env, func(*Box) []commit.Stage { return nil })
	if err == nil || !strings.Contains(err.Error(), "boot step board") {
		t.Fatalf("got %v, want the board step's error", err)
	}
	if len(modules) != 0 {
		t.Errorf("modules were loaded after the board step failed: %v", modules)
	}
}

// With a configuration disk, the newest stored configuration that compiles
// is applied; a broken newer one is skipped and said.
func TestBootAppliesStoredConfiguration(t *testing.T) {
	var said, modules []string
	env := fakeEnv(t, &said, &modules)
	dir := t.TempDir()
	st := &store.Store{Dir: dir}
	for _, h := range []string{"first", "second"} {
		c := mustParse(t, "set system host-name "+h+"\n")
		if _, err := st.Commit(c, store.Meta{Time: time.Now(), User: "root"}); err != nil {
			t.Fatal(err)
		}
	}
	env.ConfigDisk = func(*slog.Logger) (string, error) { return dir, nil }
	stage := &countStage{}
	if _, err := Up(context.Background(), env, func(*Box) []commit.Stage { return []commit.Stage{stage} }); err != nil {
		t.Fatal(err)
	}
	if len(stage.hosts) != 1 || stage.hosts[0] != "second" {
		t.Errorf("applied %v, want the newest (second)", stage.hosts)
	}
}

func mustParse(t *testing.T, text string) *config.Config {
	t.Helper()
	c, _, err := config.Parse("t", text)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
