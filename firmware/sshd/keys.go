package sshd

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ParseAuthorizedKeys parses the public keys of "system root-authentication
// ssh-ed25519|ssh-rsa", each in authorized_keys form: "ssh-ed25519 AAAA...
// comment". Blank strings are skipped. A key with authorized_keys options
// (from="...", command="...") is refused rather than accepted without the
// restriction it asks for. It returns the keys it could parse, and an error
// naming each string it could not, so that one bad key does not lock out
// the holders of the others.
func ParseAuthorizedKeys(lines []string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	var errs []error
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(line))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("SSH public key %d %q: %w", i+1, abbrev(line), err))
		case len(opts) > 0:
			errs = append(errs, fmt.Errorf("SSH public key %d %q: options (%s) are not supported", i+1, abbrev(line), strings.Join(opts, ",")))
		case len(bytes.TrimSpace(rest)) > 0:
			errs = append(errs, fmt.Errorf("SSH public key %d %q: more than one key in one string", i+1, abbrev(line)))
		default:
			keys = append(keys, k)
		}
	}
	return keys, errors.Join(errs...)
}

// abbrev keeps a key's type and the start of its base64, enough to find
// the line; base64 keys run to hundreds of characters.
func abbrev(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
