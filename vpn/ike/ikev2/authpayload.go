package ikev2

import "fmt"

// AuthMethod is the AUTH payload's method (RFC 7296 3.8).
type AuthMethod uint8

// AuthSharedKey is the Shared Key Message Integrity Code method.
const AuthSharedKey AuthMethod = 2

// Auth is the Authentication payload.
type Auth struct {
	Method AuthMethod
	Data   []byte
}

// Type implements Payload.
func (*Auth) Type() PayloadType { return PayloadAuth }

// AppendBody implements Payload.
func (a *Auth) AppendBody(b []byte) []byte {
	return append(append(b, byte(a.Method), 0, 0, 0), a.Data...)
}

func decodeAuth(b []byte) (*Auth, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("AUTH: %w", errShort)
	}
	return &Auth{Method: AuthMethod(b[0]), Data: b[4:]}, nil
}
