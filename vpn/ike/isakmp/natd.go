package isakmp

// NATD is the NAT Discovery payload (RFC 3947 3.2): HASH(CKY-I | CKY-R | IP | Port).
type NATD struct{ Hash []byte }

// Type implements Payload.
func (*NATD) Type() PayloadType { return PayloadNATD }

// AppendBody implements Payload.
func (n *NATD) AppendBody(b []byte) []byte { return append(b, n.Hash...) }
