package disk

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EFI names of the architectures: the boot loader's file in systemd-boot-efi and the removable-media
// path the firmware boots without any EFI variable (UEFI 2.x, 3.5.1.1).
var efiArch = map[string]struct{ loader, removable string }{
	"amd64": {"systemd-bootx64.efi", "EFI/BOOT/BOOTX64.EFI"},
	"arm64": {"systemd-bootaa64.efi", "EFI/BOOT/BOOTAA64.EFI"},
}

// SystemdBootPackage is the Debian package holding systemd-boot's EFI binaries.
const SystemdBootPackage = "systemd-boot-efi"

// FetchSystemdBoot returns the path of systemd-boot's EFI binary for arch, downloading Debian's
// systemd-boot-efi for that architecture into cacheDir and unpacking it there (never installing it on the
// host). For a foreign architecture it uses the private apt state the kernel fetch keeps under
// cacheDir/apt/ARCH, updating it when it has no lists yet.
func FetchSystemdBoot(ctx context.Context, cacheDir, arch string, logf func(string, ...any)) (string, error) {
	names, ok := efiArch[arch]
	if !ok {
		return "", fmt.Errorf("no EFI boot loader for architecture %q", arch)
	}
	cacheDir, err := filepath.Abs(cacheDir)
	if err != nil {
		return "", err
	}
	root := filepath.Join(cacheDir, "systemd-boot", arch)
	bin := filepath.Join(root, "usr", "lib", "systemd", "boot", "efi", names.loader)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	host, err := run(ctx, "", "dpkg", "--print-architecture")
	if err != nil {
		return "", err
	}
	var opts []string
	pkg := SystemdBootPackage
	if strings.TrimSpace(string(host)) != arch {
		private := filepath.Join(cacheDir, "apt", arch)
		opts = []string{
			"-o", "Dir::State::Lists=" + filepath.Join(private, "lists"),
			"-o", "Dir::Cache=" + filepath.Join(private, "cache"),
			"-o", "Dir::State::status=/dev/null",
			"-o", "APT::Architecture=" + arch,
			"-o", "APT::Architectures::=" + arch,
		}
		pkg += ":" + arch
		for _, d := range []string{filepath.Join(private, "lists", "partial"), filepath.Join(private, "cache", "archives", "partial")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return "", fmt.Errorf("making apt state for %s: %w", arch, err)
			}
		}
		if m, _ := filepath.Glob(filepath.Join(private, "lists", "*Packages*")); len(m) == 0 {
			logf("updating the %s package lists in %s", arch, private)
			if _, err := run(ctx, "", "apt-get", append(opts, "-q", "update")...); err != nil {
				return "", err
			}
		}
	}
	debDir := filepath.Join(cacheDir, "deb", arch)
	if err := os.MkdirAll(debDir, 0o755); err != nil {
		return "", fmt.Errorf("making %s: %w", debDir, err)
	}
	logf("downloading %s (%s)", SystemdBootPackage, arch)
	if _, err := run(ctx, debDir, "apt-get", append(opts, "-q", "download", pkg)...); err != nil {
		return "", fmt.Errorf("fetching systemd-boot: %w", err)
	}
	debs, _ := filepath.Glob(filepath.Join(debDir, SystemdBootPackage+"_*_"+arch+".deb"))
	if len(debs) == 0 {
		return "", fmt.Errorf("fetching systemd-boot: no %s .deb in %s", SystemdBootPackage, debDir)
	}
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return "", fmt.Errorf("unpacking systemd-boot: %w", err)
	}
	if _, err := run(ctx, "", "dpkg", "-x", debs[len(debs)-1], tmp); err != nil {
		return "", fmt.Errorf("unpacking systemd-boot: %w", err)
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return "", fmt.Errorf("unpacking systemd-boot: %w", err)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s has no %s: %w", debs[len(debs)-1], names.loader, err)
	}
	return bin, nil
}

// run runs a command and returns its stdout; the error carries its stderr.
func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("running %s %s: %w\n%s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
