// Package seedlab is the seed's two-site lab (the policy-based IPsec VPN example): two Palisade routers,
// SRX1 and SRX2, as QEMU guests of our image with the example's configurations, and three host network
// namespaces: host1 behind SRX1, host2 behind SRX2, and inet, the Internet between both routers'
// ge-0/0/1, which also routes to both host networks, so that a broken tunnel policy would leak
// host-to-host traffic in clear.
//
//	host1 10.100.11.10 -- ge-0/0/0 SRX1 ge-0/0/1 172.16.13.1 -- inet -- 172.16.23.1 ge-0/0/1 SRX2 ge-0/0/0 -- host2 10.100.22.10
//
// Start boots the lab and logs in on both consoles; Checks are the example's Verification steps as
// functions over a started lab, each with a verdict and the console and capture output behind it.
package seedlab

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/qemu"
	"github.com/palisade/palisade/tools/cfgdisk"
)

// The seed's configurations, copied from the example (Tables 1-5) so that the lab does not depend on
// anything outside this repository.
//
//go:embed testdata/srx1.set testdata/srx2.set
var seedConfigs embed.FS

// SeedConfig returns the seed's configuration of "srx1" or "srx2" in set form.
func SeedConfig(box string) ([]byte, error) {
	b, err := seedConfigs.ReadFile("testdata/" + box + ".set")
	if err != nil {
		return nil, fmt.Errorf("seed configuration of %s: %w", box, err)
	}
	return b, nil
}

// IKEv2Options returns o with both gateways switched to `version v2-only`,
// Palisade's policy-based VPN over IKEv2 (Junos allows it only over IKEv1).
func IKEv2Options(o Options) (Options, error) {
	for _, c := range []struct {
		box string
		dst *[]byte
	}{{"srx1", &o.SRX1Config}, {"srx2", &o.SRX2Config}} {
		b, err := SeedConfig(c.box)
		if err != nil {
			return o, err
		}
		*c.dst = append(b, "set security ike gateway IKE-GW version v2-only\n"...)
	}
	o.IKEMode = "IKEv2"
	return o, nil
}

// Options says what to boot. The zero value of every field but Board, Kernel and Initramfs is the seed.
type Options struct {
	Board             board.Board
	Kernel, Initramfs string // see qemu.ImagePaths
	// SRX1Config and SRX2Config are configurations in set, brace or CBOR form; nil means the seed's.
	SRX1Config, SRX2Config []byte
	// IKEMode is the mode check 1 expects in `show security ike
	// security-associations`: "Main" (the seed, IKEv1) when empty, "IKEv2"
	// for gateways with version v2-only.
	IKEMode string
	// Dir receives the config disks and console logs; "" means a temporary directory removed by Close.
	Dir string
	// GuestTimeout ends the routers' QEMUs; 0 means 15 minutes.
	GuestTimeout time.Duration
}

// Lab is the running lab.
type Lab struct {
	QEMU       *qemu.Lab
	SRX1, SRX2 *Router
	IKEMode    string // what check 1 expects: Main or IKEv2
	ownDir     string
}

// Routers returns SRX1 and SRX2.
func (l *Lab) Routers() []*Router { return []*Router{l.SRX1, l.SRX2} }

// Hosts of the lab, as LAB.md draws it.
const (
	host1Addr = "10.100.11.10"
	host2Addr = "10.100.22.10"
	inetSRX1  = "172.16.13.2" // inet's address on SRX1's side
)

// Start builds the two config disks, boots both routers and the namespaces, and logs in as root on both
// consoles. On error everything is removed again; otherwise Close removes it.
func Start(ctx context.Context, o Options) (_ *Lab, err error) {
	l := &Lab{IKEMode: o.IKEMode}
	if l.IKEMode == "" {
		l.IKEMode = "Main"
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "palisade-seedlab-"); err != nil {
			return nil, fmt.Errorf("making the lab directory: %w", err)
		}
		l.ownDir = dir
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.Close())
		}
	}()
	disks := map[string]string{}
	for name, text := range map[string][]byte{"srx1": o.SRX1Config, "srx2": o.SRX2Config} {
		if disks[name], err = buildDisk(dir, name, text); err != nil {
			return nil, err
		}
	}
	topo := qemu.SeedLab(o.Board, o.Kernel, o.Initramfs, disks["srx1"], disks["srx2"])
	topo.Dir = dir
	timeout := o.GuestTimeout
	if timeout == 0 {
		timeout = 15 * time.Minute
	}
	for i := range topo.Boxes {
		topo.Boxes[i].Timeout = timeout
	}
	if l.QEMU, err = qemu.Start(ctx, topo); err != nil {
		return nil, fmt.Errorf("starting the seed lab: %w", err)
	}
	l.SRX1 = &Router{Name: "srx1", Host: "SRX1", Local: netip.MustParseAddr("172.16.13.1"), Peer: netip.MustParseAddr("172.16.23.1"),
		LocalNet: netip.MustParsePrefix("10.100.11.0/24"), PeerNet: netip.MustParsePrefix("10.100.22.0/24"), lab: l.QEMU}
	l.SRX2 = &Router{Name: "srx2", Host: "SRX2", Local: netip.MustParseAddr("172.16.23.1"), Peer: netip.MustParseAddr("172.16.13.1"),
		LocalNet: netip.MustParsePrefix("10.100.22.0/24"), PeerNet: netip.MustParsePrefix("10.100.11.0/24"), lab: l.QEMU}
	// Both boot at once; log in on each as soon as it is up.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range l.Routers() {
		wg.Go(func() { errs[i] = r.Login(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return l, nil
}

// buildDisk writes DIR/NAME.img holding text (nil: the seed's configuration of name) as the active
// configuration, after validating it as a commit would.
func buildDisk(dir, name string, text []byte) (string, error) {
	if text == nil {
		var err error
		if text, err = SeedConfig(name); err != nil {
			return "", err
		}
	}
	var c *config.Config
	if config.IsCBOR(text) {
		var err error
		if c, err = config.DecodeCBOR(text); err != nil {
			return "", fmt.Errorf("configuration of %s: %w", name, err)
		}
	} else {
		var err error
		if c, _, err = config.Parse(name+".set", string(text)); err != nil {
			return "", fmt.Errorf("configuration of %s: %w", name, err)
		}
	}
	if probs := config.Errors(c.Validate()); len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, p := range probs {
			errs[i] = p
		}
		return "", fmt.Errorf("configuration of %s is not valid: %w", name, errors.Join(errs...))
	}
	disk := filepath.Join(dir, name+".img")
	if err := cfgdisk.Build(c, disk, time.Now()); err != nil {
		return "", fmt.Errorf("config disk of %s: %w", name, err)
	}
	return disk, nil
}

// Close stops both routers and removes the namespaces, TAPs and, if Start made it, the lab directory.
func (l *Lab) Close() error {
	var errs []error
	if l.QEMU != nil {
		errs = append(errs, l.QEMU.Close())
	}
	if l.ownDir != "" {
		errs = append(errs, os.RemoveAll(l.ownDir))
	}
	return errors.Join(errs...)
}

// Netns returns the real name of the lab's namespace "host1", "host2" or "inet".
func (l *Lab) Netns(logical string) string { return l.QEMU.Netns(logical) }
