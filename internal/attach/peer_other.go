//go:build !linux && !darwin

package attach

import (
	"errors"
	"net"
)

// peerUID is not available here: without it no socket is trusted, and
// --allow-uid cannot help either (docs/attach.md, Discovery).
func peerUID(c *net.UnixConn) (int, error) {
	return -1, errors.New("this system does not tell the uid of a socket's peer (SO_PEERCRED)")
}
