package seedlab

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Capture is tcpdump running in one of the lab's namespaces.
type Capture struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr strings.Builder
	done   chan struct{}
}

// StartCapture runs `tcpdump -l -nn ARGS...` in the namespace netns ("host1", "host2", "inet") and
// returns once tcpdump listens. Stop it to get what it printed.
func (l *Lab) StartCapture(ctx context.Context, netns string, args ...string) (*Capture, error) {
	c := &Capture{done: make(chan struct{})}
	c.cmd = l.QEMU.Command(context.WithoutCancel(ctx), netns, "tcpdump", append([]string{"-l", "-nn"}, args...)...)
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("tcpdump in %s: %w", netns, err)
	}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("tcpdump in %s: %w", netns, err)
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting tcpdump in %s (apt-get install tcpdump): %w", netns, err)
	}
	listening := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, s.Text())
			c.mu.Unlock()
		}
	})
	wg.Go(func() {
		s := bufio.NewScanner(stderr)
		once := sync.OnceFunc(func() { close(listening) })
		for s.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(s.Text() + "\n")
			c.mu.Unlock()
			if strings.Contains(s.Text(), "listening on") {
				once()
			}
		}
		io.Copy(io.Discard, stderr)
	})
	go func() {
		wg.Wait()
		c.cmd.Wait()
		close(c.done)
	}()
	select {
	case <-listening:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("tcpdump in %s %s ended: %s", netns, strings.Join(args, " "), strings.TrimSpace(c.stderrText()))
	case <-time.After(10 * time.Second):
		c.Stop()
		return nil, fmt.Errorf("tcpdump in %s %s did not start listening within 10s: %s", netns, strings.Join(args, " "), strings.TrimSpace(c.stderrText()))
	case <-ctx.Done():
		c.Stop()
		return nil, fmt.Errorf("tcpdump in %s: %w", netns, ctx.Err())
	}
}

func (c *Capture) stderrText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// Stop ends tcpdump, after a short grace period for packets still in flight, and returns the lines it
// printed.
func (c *Capture) Stop() []string {
	time.Sleep(300 * time.Millisecond)
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}
