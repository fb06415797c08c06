package sshd

import (
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// hostKey loads the host key from s.HostKeyPath, or makes one and keeps it
// there when there is none yet.
func (s *Server) hostKey() (ssh.Signer, error) {
	if s.HostKeyPath == "" {
		s.log().Warn("ssh host key is not kept: clients will see a new one at every start")
		_, k, err := s.newHostKey()
		return k, err
	}
	b, err := os.ReadFile(s.HostKeyPath)
	switch {
	case err == nil:
		k, err := ssh.ParsePrivateKey(b)
		if err != nil {
			// Not replaced silently: a new key would make every
			// client warn of a man in the middle.
			return nil, fmt.Errorf("parsing SSH host key %s (remove the file to make a new key): %w", s.HostKeyPath, err)
		}
		return k, nil
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, fmt.Errorf("reading SSH host key: %w", err)
	}

	priv, k, err := s.newHostKey()
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "palisade ssh host key")
	if err != nil {
		return nil, fmt.Errorf("encoding the SSH host key: %w", err)
	}
	if err := writeKeyFile(s.HostKeyPath, pem.EncodeToMemory(blk)); err != nil {
		return nil, err
	}
	s.log().Info("ssh host key made", "path", s.HostKeyPath, "fingerprint", ssh.FingerprintSHA256(k.PublicKey()))
	return k, nil
}

// newHostKey makes an ed25519 key from s.Rand: deterministic for a given
// Rand (ed25519.GenerateKey reads a 32-byte seed), so tests can predict it.
func (s *Server) newHostKey() (ed25519.PrivateKey, ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(s.rand())
	if err != nil {
		return nil, nil, fmt.Errorf("making an SSH host key: %w", err)
	}
	k, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("making an SSH host key: %w", err)
	}
	return priv, k, nil
}

// writeKeyFile writes a private key so that a power loss leaves either no
// file or the whole key: write a temporary file, fsync it, rename it into
// place, fsync the directory. It is not store.WriteAtomic because the mode
// of a private key must be 0600 whatever that helper's temporary files get.
func writeKeyFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making the directory for the SSH host key: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing SSH host key %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("writing SSH host key %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing SSH host key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing SSH host key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing SSH host key %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming SSH host key into %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
