package attach

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
)

// PeerError refuses a unix socket served by another user: nothing (no
// token, no cleanup) was sent to it.
type PeerError struct {
	// Socket is the socket's path.
	Socket string
	// UID is the uid of the process serving it; Self is the caller's.
	UID, Self int
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("refusing %s: the process serving it runs as uid %d, not as you (uid %d); pass --allow-uid %d if you trust it",
		e.Socket, e.UID, e.Self, e.UID)
}

// checkPeer refuses conn unless the process at its other end runs as the
// caller's effective uid or one of allow. It runs right after connect,
// before a byte is written.
func checkPeer(conn net.Conn, t Target, allow []int) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("cannot check who serves %s: not a unix socket", t.Addr)
	}
	uid, err := peerUID(uc)
	if err != nil {
		return fmt.Errorf("cannot check who serves %s: %v", t.Addr, err)
	}
	self := os.Geteuid()
	if uid == self || slices.Contains(allow, uid) {
		return nil
	}
	return &PeerError{Socket: t.Addr, UID: uid, Self: self}
}

// ParseUIDs parses a comma-separated list of uids (the --allow-uid flag).
func ParseUIDs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid uid %q: want a number", f)
		}
		out = append(out, int(n))
	}
	return out, nil
}
