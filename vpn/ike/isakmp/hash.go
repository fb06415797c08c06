package isakmp

// Hash is the Hash payload (HASH_I, HASH_R, quick mode HASH(1..3)).
type Hash struct{ Data []byte }

// Type implements Payload.
func (*Hash) Type() PayloadType { return PayloadHash }

// AppendBody implements Payload.
func (h *Hash) AppendBody(b []byte) []byte { return append(b, h.Data...) }
