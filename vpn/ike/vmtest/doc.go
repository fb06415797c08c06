// Package vmtest holds the VPN's full data-path tests: our image boots as
// SRX1 in a QEMU guest (whose kernel does ESP), strongSwan's charon with
// userspace ESP (kernel-libipsec, so NAT-T on UDP 4500) runs in a host
// namespace on its untrust side, and pings cross the tunnel from a host
// namespace behind each. They run with PALISADE_VM=1, one QEMU test at a
// time, on an image built by `make image BOARD=qemu-x86_64`.
//
// It lives under vpn/ike so that it may use vpn/ike/internal/swtest.
// The package has no non-test code.
package vmtest
