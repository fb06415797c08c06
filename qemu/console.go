package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"sync"
)

// console is a guest's serial port: what the guest printed, read from QEMU's console socket into memory,
// with a cursor that Expect moves forward.
type console struct {
	conn net.Conn

	mu      sync.Mutex
	buf     []byte
	cursor  int           // Expect searches from here
	changed chan struct{} // closed and replaced whenever buf grows or the stream ends
	err     error         // set when the stream ended
}

func newConsole(conn net.Conn) *console {
	c := &console{conn: conn, changed: make(chan struct{})}
	go c.read()
	return c
}

// read drains the socket (a full socket buffer would stall the guest's UART) until it closes.
func (c *console) read() {
	p := make([]byte, 4096)
	for {
		n, err := c.conn.Read(p)
		c.mu.Lock()
		c.buf = append(c.buf, p[:n]...)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
				err = errConsoleClosed
			}
			c.err = err
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

var errConsoleClosed = errors.New("console closed (QEMU exited)")

// expect waits until re matches the output after the cursor and moves the cursor past the match. It returns
// the output from the old cursor to the end of the match.
func (c *console) expect(ctx context.Context, re *regexp.Regexp) (string, error) {
	for {
		c.mu.Lock()
		rest := c.buf[c.cursor:]
		if loc := re.FindIndex(rest); loc != nil {
			out := string(rest[:loc[1]])
			c.cursor += loc[1]
			c.mu.Unlock()
			return out, nil
		}
		changed, streamErr := c.changed, c.err
		c.mu.Unlock()
		if streamErr != nil {
			return "", fmt.Errorf("waiting for %q: %w; console after the last match:\n%s", re, streamErr, tail(rest, 3000))
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for %q: %w; console after the last match:\n%s", re, ctx.Err(), tail(rest, 3000))
		}
	}
}

// follow writes everything the guest printed, from the start, to w until ctx ends or the stream ends.
func (c *console) follow(ctx context.Context, w io.Writer) error {
	off := 0
	for {
		c.mu.Lock()
		chunk := append([]byte(nil), c.buf[off:]...)
		changed, streamErr := c.changed, c.err
		c.mu.Unlock()
		off += len(chunk)
		if len(chunk) > 0 {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		if streamErr != nil {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

func (c *console) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

func (c *console) write(p []byte) error {
	if _, err := c.conn.Write(p); err != nil {
		return fmt.Errorf("writing to console: %w", err)
	}
	return nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		return "..." + string(b[len(b)-n:])
	}
	return string(b)
}
