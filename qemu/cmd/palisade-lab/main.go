// Command palisade-lab boots the seed's two-site lab (package qemu/seedlab): SRX1 and SRX2 as QEMU guests
// of the image `make image` built, with config disks made from the seed's configurations, and the host
// namespaces host1, host2 and inet. With -demo it runs the example's Verification steps on both consoles
// and says PASS or FAIL for each; with -keep (or without -demo) it leaves the lab up, prints how to attach
// to either console, and tears everything down at Ctrl-C.
//
//	palisade-lab [-board qemu-x86_64] [-out out] [-srx1 FILE] [-srx2 FILE] [-demo] [-reboot] [-keep]
//	palisade-lab -attach SOCKET
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/qemu"
	"github.com/palisade/palisade/qemu/seedlab"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "palisade-lab: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("palisade-lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boardName := fs.String("board", "qemu-x86_64", "QEMU board")
	outDir := fs.String("out", "out", "where `make image` wrote the images; the lab's disks and console logs go to OUT/lab")
	srx1 := fs.String("srx1", "", "configuration of SRX1 (set, brace or CBOR); default: the seed's srx1.set")
	srx2 := fs.String("srx2", "", "configuration of SRX2; default: the seed's srx2.set")
	demo := fs.Bool("demo", false, "run the Verification steps, print PASS or FAIL for each, and tear down (unless -keep)")
	reboot := fs.Bool("reboot", false, "with -demo: then reboot SRX2 and measure how long the tunnel takes to come back")
	keep := fs.Bool("keep", false, "keep the lab up (after the demo) until Ctrl-C, and print how to attach to the consoles")
	attach := fs.String("attach", "", "attach this terminal to a console `SOCKET` the lab printed (Ctrl-] leaves)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *attach != "" {
		return attachConsole(*attach, stdin, stdout)
	}
	b, err := board.Lookup(*boardName)
	if err != nil {
		return err
	}
	opts := seedlab.Options{Board: b, Dir: filepath.Join(*outDir, "lab"), GuestTimeout: 24 * time.Hour}
	opts.Kernel, opts.Initramfs = qemu.ImagePaths(*outDir, b.Name)
	for _, c := range []struct {
		path string
		dst  *[]byte
	}{{*srx1, &opts.SRX1Config}, {*srx2, &opts.SRX2Config}} {
		if c.path == "" {
			continue
		}
		if *c.dst, err = os.ReadFile(c.path); err != nil {
			return fmt.Errorf("reading a configuration: %w", err)
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return fmt.Errorf("making the lab directory: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	fmt.Fprintf(stdout, "palisade-lab: booting SRX1 and SRX2 (%s, %s) with the %s configurations\n", b.Name, opts.Kernel, configNames(*srx1, *srx2))
	lab, err := seedlab.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if err := lab.Close(); err != nil {
			fmt.Fprintf(stderr, "palisade-lab: tearing down: %v\n", err)
		} else {
			fmt.Fprintln(stdout, "palisade-lab: lab torn down (QEMUs stopped, namespaces and TAPs removed)")
		}
	}()
	fmt.Fprintf(stdout, "palisade-lab: both routers at the CLI prompt after %v; console logs in %s\n", time.Since(start).Round(100*time.Millisecond), opts.Dir)

	var demoErr error
	if *demo {
		demoErr = runDemo(ctx, lab, *reboot, start, stdout)
	}
	if !*demo || *keep {
		if err := keepUp(ctx, lab, stdout); err != nil {
			return errors.Join(demoErr, err)
		}
	}
	return demoErr
}

func configNames(srx1, srx2 string) string {
	if srx1 == "" && srx2 == "" {
		return "seed's"
	}
	return "given"
}

// runDemo runs the checks in the order of the example's Verification section, printing each command
// and output, then a verdict per check.
func runDemo(ctx context.Context, lab *seedlab.Lab, reboot bool, start time.Time, w io.Writer) error {
	took, err := lab.WaitTunnel(ctx, 90*time.Second)
	if err != nil {
		fmt.Fprintf(w, "palisade-lab: the tunnel did not come up: %v\n", err)
	} else {
		fmt.Fprintf(w, "palisade-lab: IKE SA UP on both routers %v after login (establish-tunnels immediately)\n", took.Round(100*time.Millisecond))
	}
	var results []seedlab.Result
	for _, c := range seedlab.Checks() {
		fmt.Fprintf(w, "\n=== Check %s: %s\n\n", c.ID, c.Name)
		t := time.Now()
		r := c.Run(ctx, lab)
		r.ID, r.Name, r.Took = c.ID, c.Name, time.Since(t)
		fmt.Fprintf(w, "%s\n%s\n", r.Evidence, r)
		results = append(results, r)
	}
	labTime := time.Since(start)
	fmt.Fprintf(w, "\n=== Summary\n\n")
	failed := 0
	for _, r := range results {
		fmt.Fprintln(w, r)
		if !r.Pass {
			failed++
		}
	}
	fmt.Fprintf(w, "\n%d of %d checks passed; boot, tunnel and checks took %v\n", len(results)-failed, len(results), labTime.Round(100*time.Millisecond))
	var errs []error
	if failed > 0 {
		errs = append(errs, fmt.Errorf("%d of %d checks failed", failed, len(results)))
	}
	if reboot {
		fmt.Fprintf(w, "\n=== SRX2 reboots (request system reboot); the tunnel must come back by itself\n\n")
		rec, err := lab.Reboot(ctx, lab.SRX2, 4*time.Minute)
		fmt.Fprintf(w, "%s\n", rec.Evidence)
		if rec.LostAnswers > 0 {
			fmt.Fprintf(w, "FAIL: the CLI did not act on the answer \"yes\" %d times (typed after the question appeared)\n", rec.LostAnswers)
			errs = append(errs, errors.New("reboot: the CLI lost the answer to its question"))
		}
		if err != nil {
			fmt.Fprintf(w, "FAIL reboot recovery: %v\n", err)
			errs = append(errs, err)
		} else {
			fmt.Fprintf(w, "PASS reboot recovery: %v\n", rec)
		}
	}
	return errors.Join(errs...)
}

// keepUp hands both consoles over to the user and waits for Ctrl-C.
func keepUp(ctx context.Context, lab *seedlab.Lab, w io.Writer) error {
	fmt.Fprintf(w, "\nThe lab is up. Both consoles are logged in as root; attach to one (Ctrl-] leaves, Enter shows the prompt):\n")
	for _, r := range lab.Routers() {
		g := r.Guest()
		if err := g.ReleaseConsole(); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s: go run ./qemu/cmd/palisade-lab -attach %s\n", r.Host, g.ConsoleSocket())
		fmt.Fprintf(w, "        or socat -,raw,echo=0,escape=0x1d UNIX-CONNECT:%s\n", g.ConsoleSocket())
		fmt.Fprintf(w, "        console log: %s\n", g.LogFile())
	}
	fmt.Fprintf(w, "Hosts: ip netns exec %s ping 10.100.22.10   (host2 is %s, the Internet is %s; e.g. tcpdump -ni any there)\n",
		lab.Netns("host1"), lab.Netns("host2"), lab.Netns("inet"))
	fmt.Fprintf(w, "Ctrl-C here tears the lab down.\n")
	<-ctx.Done()
	fmt.Fprintln(w)
	return nil
}
