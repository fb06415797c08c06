package ikev2

// VendorID is the Vendor ID payload.
type VendorID struct{ Data []byte }

// Type implements Payload.
func (*VendorID) Type() PayloadType { return PayloadVendor }

// AppendBody implements Payload.
func (v *VendorID) AppendBody(b []byte) []byte { return append(b, v.Data...) }
