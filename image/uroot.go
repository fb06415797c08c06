package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// URootVersion is the u-root release whose commands go into the image.
const URootVersion = "v0.16.0"

// DefaultCommands are the u-root core commands for debugging in the field. The init does not need them.
func DefaultCommands() []string {
	// No shell: the console and SSH serve the Junos CLI, which has no way
	// to start one, and gosh cost 0.65 MB of the 8 MB budget.
	return []string{"cat", "dmesg", "free", "ip", "ls", "mount", "ps", "umount", "uname"}
}

// urootBusybox builds u-root's core commands as one busybox binary for arch and returns the archive
// records (bbin/bb, one link per command, bin/sh). The result is cached by everything that goes into it
// (u-root version, Go version, arch, commands), so rebuilding an image does not rebuild it.
//
// u-root runs inside its own module (from the module cache), so its commands need not be in our go.mod.
func urootBusybox(ctx context.Context, cacheDir, arch string, cmds []string, logf func(string, ...any)) ([]Record, error) {
	if len(cmds) == 0 {
		return nil, nil // u-root given no commands would build its whole core set
	}
	goVersion, err := command(ctx, "", nil, "go", "env", "GOVERSION")
	if err != nil {
		return nil, fmt.Errorf("finding the Go version: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", URootVersion, bytes.TrimSpace(goVersion), arch, strings.Join(cmds, " "))
	key := hex.EncodeToString(h.Sum(nil))[:16]
	cached := filepath.Join(cacheDir, "uroot", fmt.Sprintf("bb-%s-%s.cpio", arch, key))
	if data, err := os.ReadFile(cached); err == nil {
		return ReadCPIO(bytes.NewReader(data))
	}

	tool, err := urootTool(ctx, cacheDir, logf)
	if err != nil {
		return nil, err
	}
	out, err := command(ctx, "", nil, "go", "mod", "download", "-json", "github.com/u-root/u-root@"+URootVersion)
	if err != nil {
		return nil, fmt.Errorf("fetching u-root sources: %w", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return nil, fmt.Errorf("fetching u-root sources: no module dir in %q (%v)", out, err)
	}
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		return nil, fmt.Errorf("making u-root cache dir: %w", err)
	}
	// A file of its own: two builds of the same board may run at once.
	f, err := os.CreateTemp(filepath.Dir(cached), "bb-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("making u-root output: %w", err)
	}
	f.Close()
	absTmp, err := filepath.Abs(f.Name())
	if err != nil {
		return nil, err
	}
	defer os.Remove(absTmp)
	args := []string{"-o", absTmp, "-base=/dev/null", "-initcmd=", "-uinitcmd=", "-defaultsh="}
	for _, c := range cmds {
		args = append(args, "./cmds/core/"+c)
	}
	logf("building u-root %s commands for %s: %s", URootVersion, arch, strings.Join(cmds, " "))
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch, "GOFLAGS=-buildvcs=false", "GOWORK=off"}
	if _, err := command(ctx, mod.Dir, env, tool, args...); err != nil {
		return nil, fmt.Errorf("building u-root commands: %w", err)
	}
	data, err := os.ReadFile(absTmp)
	if err != nil {
		return nil, fmt.Errorf("reading u-root's archive: %w", err)
	}
	recs, err := ReadCPIO(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading u-root's archive: %w", err)
	}
	if err := os.Rename(absTmp, cached); err != nil {
		return nil, fmt.Errorf("caching u-root's archive: %w", err)
	}
	return recs, nil
}

// urootTool installs the u-root command of URootVersion into cacheDir/bin (once) and returns its path.
func urootTool(ctx context.Context, cacheDir string, logf func(string, ...any)) (string, error) {
	bin, err := filepath.Abs(filepath.Join(cacheDir, "bin", "u-root-"+URootVersion))
	if err != nil {
		return "", err
	}
	tool := filepath.Join(bin, "u-root")
	if _, err := os.Stat(tool); err == nil {
		return tool, nil
	}
	logf("installing u-root %s", URootVersion)
	env := []string{"GOBIN=" + bin, "CGO_ENABLED=0", "GOOS=", "GOARCH=", "GOWORK=off"}
	if _, err := command(ctx, os.TempDir(), env, "go", "install", "github.com/u-root/u-root@"+URootVersion); err != nil {
		return "", fmt.Errorf("installing u-root: %w", err)
	}
	return tool, nil
}
