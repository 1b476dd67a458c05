"""The metadata by which a tracked resource names its OS object, for
`rescoord leaks --attach TARGET --reconcile` (docs/importers.md,
"Reconciling"; docs/python.md, "Reconciling").

os_metadata(obj) reads it from a live object: fd and path of a file
object, fd and addresses of a socket (path of a unix socket), pid of a
subprocess.Popen or QProcess, tid of a started threading.Thread.  The
addresses are written as /proc/net shows them (and as rescoord's proc:
snapshot writes them): "127.0.0.1:5000", "[::1]:5000",
"[::ffff:127.0.0.1]:5000".  Nothing here raises: what cannot be read is
left out, and an object of another kind gives None.
"""

import io
import os
import socket
import subprocess
import threading

from . import _qt

__all__ = ["os_metadata", "inet_address"]


def _ipv6_text(packed):
    """RFC 5952 text of a 16-byte address, as Go's netip writes it: an
    IPv4-mapped address as ::ffff:a.b.c.d, the first longest run of two or
    more zero groups as ::, hex in lower case without leading zeros."""
    if packed[:12] == b"\0" * 10 + b"\xff\xff":
        return "::ffff:" + ".".join(str(b) for b in packed[12:])
    words = [packed[i] << 8 | packed[i + 1] for i in range(0, 16, 2)]
    start, end = -1, -1
    i = 0
    while i < 8:
        j = i
        while j < 8 and words[j] == 0:
            j += 1
        if j - i >= 2 and j - i > end - start:
            start, end = i, j
        i = j + 1 if j == i else j
    if start < 0:
        return ":".join("%x" % w for w in words)
    return (":".join("%x" % w for w in words[:start]) + "::"
            + ":".join("%x" % w for w in words[end:]))


def inet_address(family, addr):
    """addr (as getsockname / getpeername return it) as /proc/net shows
    it, or None: "a.b.c.d:port" for AF_INET, "[addr]:port" for AF_INET6
    (no zone)."""
    try:
        if family == socket.AF_INET:
            host, port = addr[0], int(addr[1])
            return "%s:%d" % (socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, host)), port)
        if family == socket.AF_INET6:
            host, port = addr[0].split("%", 1)[0], int(addr[1])
            return "[%s]:%d" % (_ipv6_text(socket.inet_pton(socket.AF_INET6, host)), port)
    except (OSError, ValueError, TypeError, IndexError):
        pass
    return None


def _unix_path(name):
    """A unix socket's name as /proc/net/unix shows it: the path, or @name
    for an abstract one; None when unnamed."""
    if isinstance(name, bytes):
        if not name:
            return None
        if name[:1] == b"\0":
            name = "@" + name[1:].decode("utf-8", "replace")
        else:
            name = os.fsdecode(name)
    if isinstance(name, str) and name:
        if name[0] == "\0":
            return "@" + name[1:]
        return name
    return None


def _fd(obj):
    try:
        fd = obj.fileno()
    except (OSError, ValueError, AttributeError, TypeError, io.UnsupportedOperation):
        return None
    return fd if isinstance(fd, int) and fd >= 0 else None


def _socket_md(s):
    md = {}
    fd = _fd(s)
    if fd is None:
        return None  # closed: it names nothing
    md["fd"] = fd
    fam = s.family
    if fam == getattr(socket, "AF_UNIX", None):
        try:
            p = _unix_path(s.getsockname())
        except OSError:
            p = None
        if p:
            md["path"] = p
        return md
    if fam not in (socket.AF_INET, socket.AF_INET6):
        return md
    try:
        local = inet_address(fam, s.getsockname())
    except OSError:
        local = None
    if local is None:
        return md
    md["local"] = local
    try:
        remote = inet_address(fam, s.getpeername())
    except OSError:  # not connected: a listener or an unconnected datagram socket
        remote = None
    if remote is not None:
        md["remote"] = remote
    return md


def _file_md(f):
    try:
        if f.closed:
            return None
    except (ValueError, AttributeError):
        return None
    md = {}
    fd = _fd(f)
    if fd is not None:
        md["fd"] = fd
    name = getattr(f, "name", None)
    if isinstance(name, bytes):
        try:
            name = os.fsdecode(name)
        except (UnicodeDecodeError, ValueError):
            name = None
    if isinstance(name, str) and name:
        try:
            md["path"] = os.path.abspath(name)
        except (OSError, ValueError):
            pass
    return md or None


def _qt_md(obj):
    qc = _qt.QtCore
    if qc is None or not isinstance(obj, qc.QObject) or _qt.is_deleted(obj):
        return None
    try:
        if isinstance(obj, qc.QProcess):
            pid = int(obj.processId())
            return {"pid": pid} if pid > 0 else None
    except (RuntimeError, TypeError, ValueError):
        pass
    # A QThread's native id is not portably obtainable (currentThreadId()
    # is a pthread_t on Linux, not a tid): a QThread names no thread.
    return None


def os_metadata(obj):
    """The metadata naming obj's OS object, or None (see the module)."""
    if obj is None:
        return None
    try:
        if _qt.is_qobject(obj):
            return _qt_md(obj)
        if isinstance(obj, threading.Thread):
            tid = obj.native_id if obj.is_alive() else None
            return {"tid": tid} if isinstance(tid, int) else None
        if isinstance(obj, subprocess.Popen):
            return {"pid": obj.pid} if isinstance(obj.pid, int) and obj.pid > 0 else None
        if isinstance(obj, socket.socket):
            return _socket_md(obj)
        if isinstance(obj, io.IOBase):
            return _file_md(obj)
    except Exception:  # noqa: BLE001 - the snapshot path never raises
        return None
    return None
