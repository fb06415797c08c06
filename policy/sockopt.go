package policy

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// readBufferBytes holds the acknowledgements of a batch of tens of
// thousands of objects; the kernel reports ENOBUFS when they do not fit.
// sendBufferBytes bounds one batch: netlink refuses a message larger than
// the send buffer (EMSGSIZE), and a batch is one message. Both are limits;
// memory is only used for what is sent and queued.
const (
	readBufferBytes = 64 << 20
	sendBufferBytes = 256 << 20
)

// bigBuffers raises the socket's buffers past rmem_max and wmem_max, which
// SO_*BUFFORCE allows with CAP_NET_ADMIN (needed for nftables anyway).
func bigBuffers(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, readBufferBytes)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sendBufferBytes)
		}
	}); err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	if serr != nil {
		// Without the privilege, fall back to what rmem_max and wmem_max
		// permit; small rulesets still fit.
		if err := c.SetReadBuffer(readBufferBytes); err != nil {
			return err
		}
		return c.SetWriteBuffer(sendBufferBytes)
	}
	return nil
}
