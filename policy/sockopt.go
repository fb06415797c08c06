package policy

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// readBufferBytes holds the acknowledgements of a batch of tens of
// thousands of objects; the kernel reports ENOBUFS when they do not fit.
const readBufferBytes = 64 << 20

// bigReadBuffer raises the socket's receive buffer past rmem_max, which
// SO_RCVBUFFORCE allows with CAP_NET_ADMIN (needed for nftables anyway).
func bigReadBuffer(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, readBufferBytes)
	}); err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	if serr != nil {
		// Without the privilege, fall back to what rmem_max permits.
		return c.SetReadBuffer(readBufferBytes)
	}
	return nil
}
