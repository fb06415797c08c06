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

	"github.com/palisade/palisade/firmware/store"
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
// file or the whole key (store.WriteAtomic), with mode 0600.
func writeKeyFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("making the directory for the SSH host key: %w", err)
	}
	if err := store.WriteAtomic(path, data); err != nil {
		return fmt.Errorf("writing SSH host key: %w", err)
	}
	return nil
}
