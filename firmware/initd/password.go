package initd

import (
	"crypto/subtle"

	"github.com/palisade/palisade/firmware/config"
)

// VerifyPassword checks a password against root-authentication.
// TODO(issue 5): crypt hashes ($6$, $2b$) through firmware/auth.
func VerifyPassword(ra *config.RootAuthentication, pass string) bool {
	if ra.PlainTextPassword != "" {
		return subtle.ConstantTimeCompare([]byte(ra.PlainTextPassword), []byte(pass)) == 1
	}
	return false
}
