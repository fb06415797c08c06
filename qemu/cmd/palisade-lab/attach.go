package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/term"
)

// detachKey is Ctrl-], as in telnet.
const detachKey = 0x1d

// attachConsole connects the terminal to a guest console's unix socket, in raw mode, until Ctrl-] or
// until QEMU closes the socket. QEMU serves one client at a time: while another is attached, this
// waits.
func attachConsole(sock string, stdin *os.File, stdout io.Writer) error {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return fmt.Errorf("attaching to %s: %w", sock, err)
	}
	defer conn.Close()
	fmt.Fprintf(stdout, "attached to %s; Ctrl-] leaves\r\n", sock)
	if term.IsTerminal(int(stdin.Fd())) {
		st, err := term.MakeRaw(int(stdin.Fd()))
		if err != nil {
			return fmt.Errorf("raw mode: %w", err)
		}
		defer term.Restore(int(stdin.Fd()), st)
	}
	done := make(chan error, 2)
	go func() {
		_, err := io.Copy(stdout, conn)
		done <- err
	}()
	go func() {
		p := make([]byte, 1024)
		for {
			n, err := stdin.Read(p)
			if i := bytes.IndexByte(p[:n], detachKey); i >= 0 {
				conn.Write(p[:i])
				done <- nil
				return
			}
			if _, werr := conn.Write(p[:n]); werr != nil {
				done <- werr
				return
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	err = <-done
	fmt.Fprintf(stdout, "\r\ndetached from %s\r\n", sock)
	if err == io.EOF {
		return nil
	}
	return err
}
