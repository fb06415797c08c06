package backend

import (
	"github.com/palisade/palisade/firmware/auth"
	"github.com/palisade/palisade/firmware/config"
)

// VerifyPassword checks a password against root-authentication: the crypt
// hash of encrypted-password ($6$, $5$, $2b$). A plain-text-password never
// reaches the running configuration: commit hashes it (auth.HashPlainText).
func VerifyPassword(ra *config.RootAuthentication, pass string) bool {
	return ra.EncryptedPassword != "" && auth.Verify(ra.EncryptedPassword, pass)
}
