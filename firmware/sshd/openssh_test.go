package sshd

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestOpenSSHClient logs in with the OpenSSH client, as users will: x/crypto
// on both ends could agree on a mistake that OpenSSH would refuse.
func TestOpenSSHClient(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no OpenSSH client:", err)
	}
	checkGoroutines(t)

	dir := t.TempDir()
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	blk, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}

	s := passwordServer(t)
	s.HostKeyPath = filepath.Join(dir, "ssh_host_ed25519_key")
	s.AuthorizedKeys = func() []ssh.PublicKey { return []ssh.PublicKey{pub} }
	s.Session = func(ctx context.Context, ch io.ReadWriter, user, term string, winch <-chan WindowSize) error {
		var size WindowSize
		select {
		case size = <-winch:
		case <-ctx.Done():
			return ctx.Err()
		}
		line, err := bufio.NewReader(ch).ReadString('\r')
		if err != nil {
			return fmt.Errorf("reading a line: %w", err)
		}
		fmt.Fprintf(ch, "\r\n%s on %s %dx%d typed %q\r\n", user, term, size.Cols, size.Rows, strings.TrimSpace(line))
		return nil
	}
	addr, _ := start(t, s)
	_, port, _ := net.SplitHostPort(addr)

	run := func(stdin string, env []string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, sshBin, append([]string{
			"-F", "/dev/null", "-p", port, "-i", keyFile, "-o", "IdentitiesOnly=yes",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "LogLevel=ERROR",
		}, args...)...)
		cmd.Env = append(append(os.Environ(), "TERM=vt220"), env...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ssh %q: %v\n%s", args, err, out)
		}
		return string(out)
	}

	batch := []string{"-o", "BatchMode=yes"}
	if got, want := run("", nil, append(batch, "root@127.0.0.1", "show", "version")...), "root ran show version\n"; got != want {
		t.Errorf("ssh exec: got %q, want %q", got, want)
	}
	// A password, typed by an askpass program since there is no terminal.
	askpass := filepath.Join(dir, "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho juniper123\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	got := run("", []string{"SSH_ASKPASS=" + askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"},
		"-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1", "root@127.0.0.1", "show", "route")
	if want := "root ran show route\n"; got != want {
		t.Errorf("ssh exec with a password: got %q, want %q", got, want)
	}
	// -tt asks for a pty although stdin is not a terminal, whose size
	// the client then does not know.
	got = run("show route\r", nil, append(batch, "-tt", "root@127.0.0.1")...)
	if want := `root on vt220 0x0 typed "show route"`; !strings.Contains(got, want) {
		t.Errorf("ssh shell: got %q, want it to contain %q", got, want)
	}
}
