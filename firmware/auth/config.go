package auth

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/palisade/palisade/firmware/config"
)

// HashPlainText returns c with a plain-text-password replaced by its
// SHA-512-crypt hash, as Junos does at commit; c itself is not changed.
func HashPlainText(c *config.Config, rnd io.Reader) (*config.Config, error) {
	if c.System == nil || c.System.RootAuthentication == nil || c.System.RootAuthentication.PlainTextPassword == "" {
		return c, nil
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	out := c.Clone()
	ra := out.System.RootAuthentication
	h, err := Hash(ra.PlainTextPassword, rnd)
	if err != nil {
		return nil, fmt.Errorf("system root-authentication plain-text-password: %w", err)
	}
	ra.EncryptedPassword, ra.PlainTextPassword = h, ""
	return out, nil
}
