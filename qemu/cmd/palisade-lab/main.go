// Command palisade-lab boots the seed's two-site lab (../shared/seed/LAB.md): srx1 and srx2 with config
// disks built from their set files, host namespaces host1, host2 and inet. It prints both consoles with a
// prefix and runs until interrupted; with -demo it waits for both boxes, pings host2 from host1, shows
// the IKE and IPsec SAs on srx1, and exits.
//
//	palisade-lab [-board qemu-x86_64] [-out out] [-srx1 FILE] [-srx2 FILE] [-demo]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/palisade/palisade/board"
	"github.com/palisade/palisade/qemu"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "palisade-lab: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("palisade-lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boardName := fs.String("board", "qemu-x86_64", "QEMU board")
	outDir := fs.String("out", "out", "where `make image` wrote the images; the lab's disks go to OUT/lab")
	srx1 := fs.String("srx1", "../shared/seed/srx1.set", "configuration of srx1")
	srx2 := fs.String("srx2", "../shared/seed/srx2.set", "configuration of srx2")
	demo := fs.Bool("demo", false, "run the demo checks and exit")
	prompt := fs.String("prompt", `login: `, "regexp that shows a box finished booting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := board.Lookup(*boardName)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	labDir := filepath.Join(*outDir, "lab")
	if err := os.MkdirAll(labDir, 0o755); err != nil {
		return fmt.Errorf("making %s: %w", labDir, err)
	}
	disks := map[string]string{}
	for name, cfg := range map[string]string{"srx1": *srx1, "srx2": *srx2} {
		disk := filepath.Join(labDir, name+".img")
		out, err := exec.CommandContext(ctx, "go", "run", "./tools/palisade-cfg", "disk", cfg, "-o", disk).CombinedOutput()
		if err != nil {
			return fmt.Errorf("building the config disk of %s from %s: %w\n%s", name, cfg, err, out)
		}
		disks[name] = disk
	}
	k, i := qemu.ImagePaths(*outDir, b.Name)
	topo := qemu.SeedLab(b, k, i, disks["srx1"], disks["srx2"])
	topo.Dir = labDir
	lab, err := qemu.Start(ctx, topo)
	if err != nil {
		return err
	}
	defer lab.Close()

	var mu sync.Mutex // one line at a time on stdout
	followCtx, stopFollow := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, g := range lab.Guests() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.Follow(followCtx, &prefixWriter{w: stdout, mu: &mu, prefix: g.Box.Name + "| "})
		}()
	}
	defer func() { stopFollow(); wg.Wait() }()
	fmt.Fprintf(stdout, "palisade-lab: namespaces host1=%s host2=%s inet=%s; console logs in %s\n",
		lab.Netns("host1"), lab.Netns("host2"), lab.Netns("inet"), labDir)

	if !*demo {
		<-ctx.Done()
		return nil
	}
	bootCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	re := regexp.MustCompile(*prompt)
	for _, g := range lab.Guests() {
		if _, err := g.Expect(bootCtx, re); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "palisade-lab: %s booted in %v\n", g.Box.Name, time.Since(g.Started()).Round(100*time.Millisecond))
	}
	var errs []error
	for _, dst := range []string{"10.100.11.1", "10.100.22.10"} {
		out, err := lab.Exec(bootCtx, "host1", "ping", "-c", "3", "-W", "5", dst)
		fmt.Fprintf(stdout, "palisade-lab: host1$ ping -c 3 %s\n%s", dst, out)
		errs = append(errs, err)
	}
	srx1Guest := lab.Guest("srx1")
	for _, line := range []string{"root", "show security ike security-associations", "show security ipsec security-associations"} {
		if err := srx1Guest.Send(line); err != nil {
			errs = append(errs, err)
		}
		time.Sleep(time.Second)
	}
	return errors.Join(errs...)
}

// prefixWriter writes whole lines, each with a prefix.
type prefixWriter struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix string
	part   []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.part = append(p.part, b...)
	for {
		i := bytes.IndexByte(p.part, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, bytes.TrimRight(p.part[:i], "\r"))
		p.mu.Unlock()
		p.part = p.part[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}
