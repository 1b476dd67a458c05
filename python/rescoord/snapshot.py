"""Snapshots of a ResourceManagementService, and writing them safely.

The format is docs/snapshot-format.md (rescoord/v1).
"""

import json
import os
import stat
import tempfile


def snapshot(service, component=None):
    """service.snapshot(component): a rescoord/v1 dict."""
    return service.snapshot(component)


def write_snapshot(service, path, component=None):
    """service.write_snapshot(path, component)."""
    return service.write_snapshot(path, component)


def flush(service):
    """service.flush(): Qt events and deferred deletes, garbage, sweep."""
    service.flush()


def write_json_atomic(path, obj):
    """Write obj as JSON to path atomically: a temporary file (mode 0600) in
    the same directory, fsynced, then renamed over path, and the directory
    fsynced.  path must not be a symbolic link (nor be one of the link's
    targets): a link there is refused with ValueError, so a planted link
    cannot redirect the write.  Readers see the old file or the new one,
    never a part."""
    path = os.fspath(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise ValueError("%s is a symbolic link: refusing to write a snapshot through it" % path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ValueError("%s is not a regular file" % path)
    d = os.path.dirname(os.path.abspath(path))
    data = json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
