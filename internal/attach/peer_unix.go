//go:build linux || darwin

package attach

import "net"

// peerUID is the uid of the process that listens at the other end of c,
// from the kernel (socketPeerUID): it cannot be forged by the peer.
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var uid int
	var serr error
	if err := raw.Control(func(fd uintptr) { uid, serr = socketPeerUID(int(fd)) }); err != nil {
		return 0, err
	}
	return uid, serr
}
