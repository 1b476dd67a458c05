package registry

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// osMetadata is the metadata by which a resource names its OS object, for
// `rescoord leaks --reconcile` (docs/importers.md, "Reconciling"): fd and
// path of a file, fd and addresses of a socket, pid of a process. It is
// used when the resource is tracked without WithMetadata; nil for values
// of other kinds.
func osMetadata(v any) map[string]any {
	md := map[string]any{}
	switch v := v.(type) {
	case *os.File:
		if v == nil {
			return nil
		}
		if p, err := filepath.Abs(v.Name()); err == nil {
			md["path"] = p
		}
	case net.Conn:
		if v == nil {
			return nil
		}
		if a := v.LocalAddr(); a != nil {
			md["local"] = a.String()
		}
		if a := v.RemoteAddr(); a != nil && a.String() != "<nil>" {
			md["remote"] = a.String()
		}
	case net.Listener:
		if v == nil {
			return nil
		}
		if a := v.Addr(); a != nil {
			md["local"] = a.String()
		}
	case net.PacketConn:
		if v == nil {
			return nil
		}
		if a := v.LocalAddr(); a != nil {
			md["local"] = a.String()
		}
	case *os.Process:
		if v == nil {
			return nil
		}
		return map[string]any{"pid": v.Pid}
	case *exec.Cmd:
		if v == nil || v.Process == nil {
			return nil
		}
		return map[string]any{"pid": v.Process.Pid}
	default:
		return nil
	}
	// The descriptor, read without changing the file's mode (File.Fd
	// would make it blocking).
	if sc, ok := v.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { md["fd"] = int(fd) })
		}
	}
	if len(md) == 0 {
		return nil
	}
	return md
}
