package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/palisade/palisade/board"
)

// Kernel is an extracted Debian kernel package with its modules.dep.
type Kernel struct {
	// Package, Version and SHA256 describe the .deb actually used (the pinned one, or the fallback).
	Package, Version, SHA256 string
	// Fallback is true when the pinned version was not served and Package/Version are what the meta
	// package resolved to.
	Fallback bool
	// Root is the extracted tree; Image is the kernel image file in it; Release names Root/lib/modules/Release.
	Root, Image, Release string
}

// ModuleDir returns the kernel's /lib/modules/RELEASE directory.
func (k Kernel) ModuleDir() string { return filepath.Join(k.Root, "lib", "modules", k.Release) }

// apt runs apt-get/apt-cache for one architecture. For the host's own architecture it uses the system's apt
// state; for another one it uses a private state under cache/apt/ARCH, so the host's dpkg architectures are
// never touched.
type apt struct {
	arch    string
	private string // "" for the host's state
	logf    func(format string, args ...any)
	updated bool
}

func newApt(ctx context.Context, cacheDir, arch string, logf func(string, ...any)) (*apt, error) {
	out, err := command(ctx, "", nil, "dpkg", "--print-architecture")
	if err != nil {
		return nil, fmt.Errorf("finding the host architecture: %w", err)
	}
	a := &apt{arch: arch, logf: logf}
	if strings.TrimSpace(string(out)) != arch {
		a.private = filepath.Join(cacheDir, "apt", arch)
	}
	return a, nil
}

func (a *apt) options() []string {
	if a.private == "" {
		return nil
	}
	return []string{
		"-o", "Dir::State::Lists=" + filepath.Join(a.private, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(a.private, "cache"),
		"-o", "Dir::State::status=/dev/null",
		"-o", "APT::Architecture=" + a.arch,
		"-o", "APT::Architectures::=" + a.arch,
	}
}

// update refreshes the package lists, at most once per build: the private ones when they are missing or
// force is set, the host's only when force is set (a download failed).
func (a *apt) update(ctx context.Context, force bool) error {
	if a.updated || (a.private == "" && !force) {
		return nil
	}
	if a.private == "" {
		a.logf("updating the host's package lists")
		a.updated = true
		_, err := command(ctx, "", nil, "apt-get", "-q", "update")
		return err
	}
	lists := filepath.Join(a.private, "lists")
	if !force {
		if m, _ := filepath.Glob(filepath.Join(lists, "*Packages*")); len(m) > 0 {
			return nil
		}
	}
	for _, d := range []string{filepath.Join(lists, "partial"), filepath.Join(a.private, "cache", "archives", "partial")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("making apt state for %s: %w", a.arch, err)
		}
	}
	a.logf("updating the %s package lists in %s", a.arch, a.private)
	a.updated = true
	_, err := command(ctx, "", nil, "apt-get", append(a.options(), "-q", "update")...)
	return err
}

func (a *apt) getCmd(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return command(ctx, dir, nil, "apt-get", append(a.options(), args...)...)
}

func (a *apt) cacheCmd(ctx context.Context, args ...string) ([]byte, error) {
	return command(ctx, "", nil, "apt-cache", append(a.options(), args...)...)
}

// download fetches pkg (pkg or pkg=version) into dir and returns the .deb's path.
func (a *apt) download(ctx context.Context, dir, pkg string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("making download dir: %w", err)
	}
	before, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if _, err := a.getCmd(ctx, dir, "-q", "download", pkg); err != nil {
		return "", err
	}
	name, _, _ := strings.Cut(pkg, "=")
	after, _ := filepath.Glob(filepath.Join(dir, name+"_*_"+a.arch+".deb"))
	for _, f := range after {
		if !contains(before, f) {
			return f, nil
		}
	}
	if len(after) == 1 {
		return after[0], nil // downloaded again over the same name
	}
	return "", fmt.Errorf("apt-get download %s: no new .deb in %s", pkg, dir)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// resolveMeta returns the package meta (linux-image-amd64) depends on now, and its candidate version.
func (a *apt) resolveMeta(ctx context.Context, meta string) (pkg, version string, err error) {
	out, err := a.cacheCmd(ctx, "depends", meta)
	if err != nil {
		return "", "", fmt.Errorf("resolving %s: %w", meta, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			pkg = f[1]
			break
		}
	}
	if pkg == "" {
		return "", "", fmt.Errorf("resolving %s: no linux-image dependency in:\n%s", meta, out)
	}
	out, err = a.cacheCmd(ctx, "policy", pkg)
	if err != nil {
		return "", "", fmt.Errorf("finding the version of %s: %w", pkg, err)
	}
	sc = bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Candidate:"); ok {
			version = strings.TrimSpace(v)
		}
	}
	if version == "" || version == "(none)" {
		return "", "", fmt.Errorf("finding the version of %s: no candidate", pkg)
	}
	return pkg, version, nil
}

func sha256File(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func debName(pkg, version, arch string) string {
	return fmt.Sprintf("%s_%s_%s.deb", pkg, strings.ReplaceAll(version, ":", "%3a"), arch)
}

// FetchKernel returns b's kernel, extracted under cacheDir with modules.dep built, fetching what is missing.
// The pinned .deb must match its checksum. When the pinned version is no longer served, it falls back to
// what the board's meta package resolves to and says so through logf.
func FetchKernel(ctx context.Context, cacheDir string, b board.Board, logf func(string, ...any)) (Kernel, error) {
	pin := b.Kernel
	debDir := filepath.Join(cacheDir, "deb", b.Arch)
	k := Kernel{Package: pin.Package, Version: pin.Version, SHA256: pin.SHA256}
	deb := filepath.Join(debDir, debName(pin.Package, pin.Version, b.Arch))
	a, err := newApt(ctx, cacheDir, b.Arch, logf)
	if err != nil {
		return Kernel{}, err
	}
	if sum, err := sha256File(deb); err != nil || sum != pin.SHA256 {
		if err == nil {
			logf("cached %s has sha256 %s, want %s: fetching it again", deb, sum, pin.SHA256)
			os.Remove(deb)
		}
		if err := a.update(ctx, false); err != nil {
			return Kernel{}, err
		}
		logf("downloading %s %s (%s)", pin.Package, pin.Version, b.Arch)
		got, err := a.download(ctx, debDir, pin.Package+"="+pin.Version)
		if err != nil {
			// The lists may be stale: refresh once and retry.
			if uerr := a.update(ctx, true); uerr == nil {
				got, err = a.download(ctx, debDir, pin.Package+"="+pin.Version)
			}
		}
		if err != nil {
			logf("pinned kernel %s %s could not be downloaded: %v", pin.Package, pin.Version, err)
			k, deb, err = fallbackKernel(ctx, a, debDir, b, logf)
			if err != nil {
				return Kernel{}, err
			}
		} else {
			deb = got
			sum, err := sha256File(deb)
			if err != nil {
				return Kernel{}, fmt.Errorf("checking the kernel package: %w", err)
			}
			if sum != pin.SHA256 {
				return Kernel{}, fmt.Errorf("kernel package %s has sha256 %s, board %s pins %s: refusing to use it",
					deb, sum, b.Name, pin.SHA256)
			}
		}
	}
	k.Root = filepath.Join(cacheDir, "kernel", b.Arch, strings.TrimSuffix(filepath.Base(deb), ".deb"))
	if err := extractKernel(ctx, cacheDir, deb, &k, logf); err != nil {
		return Kernel{}, err
	}
	return k, nil
}

func fallbackKernel(ctx context.Context, a *apt, debDir string, b board.Board, logf func(string, ...any)) (Kernel, string, error) {
	if err := a.update(ctx, true); err != nil {
		return Kernel{}, "", err
	}
	pkg, version, err := a.resolveMeta(ctx, b.Kernel.Meta)
	if err != nil {
		return Kernel{}, "", fmt.Errorf("falling back from the pinned kernel: %w", err)
	}
	deb := filepath.Join(debDir, debName(pkg, version, b.Arch))
	if _, err := os.Stat(deb); err != nil {
		deb, err = a.download(ctx, debDir, pkg+"="+version)
		if err != nil {
			return Kernel{}, "", fmt.Errorf("falling back to %s %s: %w", pkg, version, err)
		}
	}
	sum, err := sha256File(deb)
	if err != nil {
		return Kernel{}, "", fmt.Errorf("checking the fallback kernel: %w", err)
	}
	banner := strings.Repeat("!", 78)
	logf("%s", banner)
	logf("WARNING: board %s pins %s %s, which Debian no longer serves.", b.Name, b.Kernel.Package, b.Kernel.Version)
	logf("WARNING: USING %s %s (from %s) instead, sha256 %s", pkg, version, b.Kernel.Meta, sum)
	logf("WARNING: the build is not reproducible until board/board.go pins this version.")
	logf("%s", banner)
	return Kernel{Package: pkg, Version: version, SHA256: sum, Fallback: true}, deb, nil
}

// extractKernel unpacks deb into k.Root (once; a marker file says it is complete) and runs depmod.
func extractKernel(ctx context.Context, cacheDir, deb string, k *Kernel, logf func(string, ...any)) error {
	marker := filepath.Join(k.Root, ".palisade-complete")
	if _, err := os.Stat(marker); err != nil {
		logf("extracting %s", filepath.Base(deb))
		if err := os.RemoveAll(k.Root); err != nil {
			return fmt.Errorf("clearing %s: %w", k.Root, err)
		}
		if err := os.MkdirAll(filepath.Dir(k.Root), 0o755); err != nil {
			return fmt.Errorf("making kernel cache dir: %w", err)
		}
		if _, err := command(ctx, "", nil, "dpkg", "-x", deb, k.Root); err != nil {
			return fmt.Errorf("extracting the kernel: %w", err)
		}
		rel, err := findRelease(k.Root)
		if err != nil {
			return err
		}
		depmod, err := Depmod(ctx, cacheDir, logf)
		if err != nil {
			return err
		}
		if _, err := command(ctx, "", nil, depmod, "-b", k.Root, rel); err != nil {
			return fmt.Errorf("building modules.dep: %w", err)
		}
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return fmt.Errorf("marking the kernel extracted: %w", err)
		}
	}
	rel, err := findRelease(k.Root)
	if err != nil {
		return err
	}
	k.Release = rel
	images, _ := filepath.Glob(filepath.Join(k.Root, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return fmt.Errorf("kernel package %s: want one boot/vmlinuz-*, found %v", k.Package, images)
	}
	k.Image = images[0]
	return nil
}

func findRelease(root string) (string, error) {
	dirs, err := os.ReadDir(filepath.Join(root, "lib", "modules"))
	if err != nil {
		return "", fmt.Errorf("finding the kernel release: %w", err)
	}
	if len(dirs) != 1 {
		return "", fmt.Errorf("finding the kernel release: want one directory in %s/lib/modules, found %d", root, len(dirs))
	}
	return dirs[0].Name(), nil
}

// Depmod returns a depmod command from Debian's kmod package, fetched for the host into cacheDir/tools:
// kmod is multi-call, so it is reached through a link named depmod.
func Depmod(ctx context.Context, cacheDir string, logf func(string, ...any)) (string, error) {
	dir, err := filepath.Abs(filepath.Join(cacheDir, "tools", "kmod"))
	if err != nil {
		return "", err
	}
	link := filepath.Join(dir, "depmod")
	if _, err := os.Stat(link); err == nil {
		return link, nil
	}
	logf("fetching kmod for depmod")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("making %s: %w", dir, err)
	}
	deb, err := (&apt{logf: logf}).downloadHost(ctx, dir, "kmod")
	if err != nil {
		return "", fmt.Errorf("fetching kmod: %w", err)
	}
	root := filepath.Join(dir, "root")
	if _, err := command(ctx, "", nil, "dpkg", "-x", deb, root); err != nil {
		return "", fmt.Errorf("extracting kmod: %w", err)
	}
	bin := filepath.Join(root, "bin", "kmod")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("kmod package has no bin/kmod: %w", err)
	}
	if err := os.Symlink(bin, link); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("linking depmod: %w", err)
	}
	return link, nil
}

func (a *apt) downloadHost(ctx context.Context, dir, pkg string) (string, error) {
	if _, err := command(ctx, dir, nil, "apt-get", "-q", "download", pkg); err != nil {
		return "", err
	}
	m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(m) == 0 {
		return "", fmt.Errorf("apt-get download %s: no .deb in %s", pkg, dir)
	}
	return m[len(m)-1], nil
}
