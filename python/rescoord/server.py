"""Serving a ResourceManagementService over rescoord's attach protocol.

The same endpoints, discovery file, socket and directory modes, and
refusals as pkg/registry's server (docs/attach-protocol.md), so that
`rescoord ps`, `--attach NAME`, `watch`, `record` and `cleanup --attach`
work on Python applications.  Standard library only: the HTTP/1.1 server is
http.server's request parsing on threads of its own.
"""

import errno
import gzip
import hmac
import http.server
import ipaddress
import json
import logging
import os
import queue
import re
import sys
import selectors
import socket
import stat
import tempfile
import threading
import time
import urllib.parse

from . import _qt
from . import leakcount

log = logging.getLogger("rescoord.server")

DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_WRITE_TIMEOUT = 30.0
DEFAULT_IDLE_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 16
DEFAULT_PROGRESS_INTERVAL = 1.0
CLIENT_HEADER = "X-Rescoord-Client"
_CHUNK = 256 << 10
_MAX_BODY = 1 << 20


class ServeError(Exception):
    """serve() refused its options or could not listen."""


# --- runtime directory and discovery (docs/attach.md, Discovery) --------------



def _os_named(name, fn):
    """fn, run in a thread that first gives its OS thread name (Linux,
    15 bytes at most): the attach server's threads are named rescoord-…,
    so that `rescoord leaks --reconcile` leaves them out (docs/importers.md,
    "Reconciling") even before Python 3.14 names OS threads itself."""

    def run(*args, **kwargs):
        _set_os_thread_name(name)
        return fn(*args, **kwargs)

    return run


def _set_os_thread_name(name):
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError, ValueError):
        pass

def runtime_dir(environ=None):
    """$XDG_RUNTIME_DIR/rescoord, else rescoord-UID in the temporary directory."""
    env = os.environ if environ is None else environ
    d = env.get("XDG_RUNTIME_DIR")
    if d:
        return os.path.join(d, "rescoord")
    return os.path.join(tempfile.gettempdir(), "rescoord-%d" % os.getuid())


def _open_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP or (e.errno == errno.ENOTDIR and os.path.islink(path)):
            raise ServeError("refusing runtime directory %s: it is a symbolic link" % path) from None
        if e.errno == errno.ENOTDIR:
            raise ServeError("refusing runtime directory %s: it is not a directory" % path) from None
        raise
    return fd


def ensure_dir(path):
    """Create the runtime directory with mode 0700, or accept it only when it
    is a real directory of ours that no one else can write; returns an open
    descriptor of it (the caller closes it)."""
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o700, exist_ok=True)
    created = True
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        created = False
    fd = _open_dir(path)
    try:
        st = os.fstat(fd)
        uid = os.geteuid()
        if st.st_uid != uid:
            raise ServeError("refusing runtime directory %s: it belongs to uid %d, not to you (uid %d); "
                             "set XDG_RUNTIME_DIR to a directory of your own, or pass runtime_dir="
                             % (path, st.st_uid, uid))
        perm = stat.S_IMODE(st.st_mode)
        if created and perm != 0o700:
            os.fchmod(fd, 0o700)  # the umask may have taken bits away
        elif not created and perm & 0o022:
            raise ServeError("refusing runtime directory %s: it is writable by other users (mode %04o) "
                             "and rescoord did not create it" % (path, perm))
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_discovery(directory, entry):
    """Write PID.json (mode 0600) into directory, atomically, never through a
    symbolic link, relative to the checked directory; returns its path."""
    dfd = ensure_dir(directory)
    try:
        data = (json.dumps(entry, indent=2) + "\n").encode()
        name = "%d.json" % entry["pid"]
        tmp = ".%s.%s.tmp" % (name, os.urandom(6).hex())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=dfd)
        try:
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        try:
            os.fsync(dfd)
        except OSError:
            pass
        return os.path.join(directory, name)
    finally:
        os.close(dfd)


def _remove_stale_socket(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ServeError("%s exists and is not a socket" % path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        s.close()
    raise ServeError("%s is in use by another process" % path)


def loopback_host(host):
    """Whether a Host header (with or without its port) is localhost or a
    loopback IP literal (127.0.0.0/8, [::1])."""
    h = host
    if h.startswith("["):
        end = h.find("]")
        if end < 0:
            return False
        rest = h[end + 1:]
        if rest and not re.fullmatch(r":\d*", rest):
            return False
        h = h[1:end]
    elif h.count(":") == 1:
        h, port = h.split(":")
        if not re.fullmatch(r"\d*", port):
            return False
    elif ":" in h:
        return False
    if h.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _check_loopback(host, public):
    if public or host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ServeError("refusing to serve the registry on %r: not a loopback address "
                     "(use 127.0.0.1, or public=True with a token)" % host)


_DUR = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(s):
    """A Go duration ("30s", "1m30s", "500ms") in seconds; ValueError else."""
    pos, total = 0, 0.0
    if not s:
        raise ValueError("empty duration")
    while pos < len(s):
        m = _DUR.match(s, pos)
        if not m:
            raise ValueError("invalid duration %r" % s)
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total


# --- running things on the GUI thread -------------------------------------------


class _Direct:
    def call(self, fn, timeout):
        return fn()


def _make_invoker():
    """Runs functions on the GUI thread when a Qt application exists (the
    snapshot flushes Qt events there), directly otherwise."""
    app = _qt.app_instance()
    if app is None:
        return _Direct()
    qc = _qt.QtCore

    class _Invoker(qc.QObject):
        request = _qt.Signal(object)

        def __init__(self):
            super().__init__()
            self.request.connect(self._run)

        def _run(self, job):
            fn, box, done = job
            try:
                box.append((True, fn()))
            except BaseException as e:  # noqa: BLE001 - handed to the server thread
                box.append((False, e))
            done.set()

        def call(self, fn, timeout):
            if qc.QThread.currentThread() == self.thread():
                return fn()
            box, done = [], threading.Event()
            self.request.emit((fn, box, done))
            if not done.wait(timeout):  # None: as long as it takes
                raise TimeoutError("the GUI thread did not answer within %.0f s" % timeout)
            ok, v = box[0]
            if not ok:
                raise v
            return v

    inv = _Invoker()
    if inv.thread() != app.thread():
        inv.moveToThread(app.thread())
    return inv


# --- the server -------------------------------------------------------------------


class ServeHandle:
    """A serving registry: address (unix:///path.sock or http://host:port,
    as `rescoord --attach` takes it), socket_path, discovery_path, close()."""

    def __init__(self, server):
        self._server = server
        self.address = server.address
        self.socket_path = server.socket_path
        self.discovery_path = server.discovery_path

    def close(self):
        """Stop serving, close every connection, remove the socket and the
        discovery file.  Idempotent."""
        self._server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve(service, *, address=None, token=None, cleanup_endpoint=False, public=False,
          process_name=None, runtime_dir=None, discovery=True, gui_thread=True,
          read_timeout=DEFAULT_READ_TIMEOUT, write_timeout=DEFAULT_WRITE_TIMEOUT,
          idle_timeout=DEFAULT_IDLE_TIMEOUT, max_connections=DEFAULT_MAX_CONNECTIONS,
          progress_interval=DEFAULT_PROGRESS_INTERVAL):
    """Serve service's registry; returns a ServeHandle at once.

    address: "unix:///path.sock", or a TCP "host:port" that must be loopback
    unless public=True; default a unix socket PID.sock in the runtime
    directory.  token: every request must carry "Authorization: Bearer
    TOKEN".  cleanup_endpoint: enable POST /cleanup (over TCP only with a
    token).  When a Qt application exists, snapshots and cleanups run on
    its GUI thread (its event loop must be running to answer); gui_thread=
    False takes them on the server's threads instead (the registry is
    thread-safe; Qt events are then not flushed first).  progress_interval:
    how often, in seconds, POST /cleanup reports where the cleanup stands
    while it runs (at most, and by default, 1 s, as pkg/registry's
    WithProgressInterval; a shorter one is for tests)."""
    if not progress_interval or progress_interval <= 0 or progress_interval > DEFAULT_PROGRESS_INTERVAL:
        progress_interval = DEFAULT_PROGRESS_INTERVAL
    srv = _Server(service, address=address, token=token, cleanup=cleanup_endpoint, public=public,
                  process=process_name or service._process,
                  runtime_dir=runtime_dir or globals()["runtime_dir"](),
                  discovery=discovery, gui_thread=gui_thread, read_timeout=read_timeout,
                  write_timeout=write_timeout,
                  idle_timeout=idle_timeout, max_connections=max_connections)
    srv.progress_interval = progress_interval
    srv.start()
    return ServeHandle(srv)


class _Server:
    def __init__(self, service, *, address, token, cleanup, public, process, runtime_dir, discovery,
                 gui_thread, read_timeout, write_timeout, idle_timeout, max_connections):
        self.service = service
        self.token = token.encode() if token else None
        self.cleanup = cleanup
        self.public = public
        self.process = process
        self.runtime_dir = runtime_dir
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.idle_timeout = idle_timeout
        self.max_conns = max(1, int(max_connections))
        self.socket_path = None
        self.discovery_path = None
        self.unix = False
        self._closed = threading.Event()
        self._conns = set()
        self._lock = threading.Lock()
        self._sem = threading.Semaphore(self.max_conns)
        self.invoker = _make_invoker() if gui_thread else _Direct()
        if address is None or address.startswith("unix://"):
            path = (address or "")[len("unix://"):]
            if not path:
                os.close(ensure_dir(runtime_dir))
                path = os.path.join(runtime_dir, "%d.sock" % os.getpid())
            _remove_stale_socket(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(path)
                os.chmod(path, 0o600)
            except BaseException:
                sock.close()
                raise
            self.socket_path = path
            self.address = "unix://" + path
            self.unix = True
        else:
            host, sep, port = address.rpartition(":")
            if not sep or not port.isdigit():
                raise ServeError("invalid address %r: want unix:///path.sock or host:port" % address)
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
            _check_loopback(host, public)
            if cleanup and not token:
                raise ServeError("refusing to serve the cleanup endpoint on %r without a token: any local "
                                 "user could destroy components (pass token=, or use a unix socket)" % address)
            infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
            fam, _, _, _, sa = infos[0]
            if not public and not ipaddress.ip_address(sa[0]).is_loopback:
                raise ServeError("refusing to serve the registry on %r: it resolves to %s" % (address, sa[0]))
            sock = socket.socket(fam, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(sa)
            except BaseException:
                sock.close()
                raise
            h, p = sock.getsockname()[:2]
            self.address = "http://%s:%d" % ("[%s]" % h if ":" in h else h, p)
        sock.listen(128)
        self.sock = sock
        if discovery:
            entry = {"pid": os.getpid(), "process": process, "address": self.address,
                     "started_at": _now_rfc3339()}
            if token:
                entry["token"] = True
            try:
                self.discovery_path = write_discovery(runtime_dir, entry)
            except BaseException:
                self._remove_files()
                sock.close()
                raise

    def start(self):
        self._wake_r, self._wake_w = os.pipe()
        t = threading.Thread(target=_os_named("rescoord-serve", self._accept_loop), name="rescoord-serve", daemon=True)
        t.start()
        self._thread = t

    def _accept_loop(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._closed.is_set():
                self._sem.acquire()  # a slot before accepting: extra clients wait in the backlog
                if self._closed.is_set():
                    return
                ready = sel.select()
                if self._closed.is_set() or not any(k.fileobj is self.sock for k, _ in ready):
                    self._sem.release()
                    continue
                try:
                    conn, peer = self.sock.accept()
                except OSError:
                    self._sem.release()
                    continue
                with self._lock:
                    self._conns.add(conn)
                threading.Thread(target=_os_named("rescoord-conn", self._serve_conn), args=(conn, peer),
                                 name="rescoord-conn", daemon=True).start()
        finally:
            sel.close()

    def _serve_conn(self, conn, peer):
        try:
            _Handler(conn, peer if not self.unix else ("unix", 0), self)
        except Exception:  # noqa: BLE001 - the server is silent (docs/attach.md)
            log.debug("rescoord: connection failed", exc_info=True)
        finally:
            with self._lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass
            self._sem.release()

    def close(self):
        if self._closed.is_set():
            return
        self._closed.set()
        self._sem.release()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        self._thread.join(5)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self.sock.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._remove_files()

    def _remove_files(self):
        for p in (self.socket_path, self.discovery_path):
            if p:
                try:
                    os.unlink(p)
                except OSError:
                    pass


def _now_rfc3339():
    from .service import format_time

    return format_time(time.time_ns())


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rescoord-python"
    sys_version = ""

    def __init__(self, conn, peer, server):
        self.srv = server
        self.first = True
        super().__init__(conn, peer, server)

    # Silent: nothing to stderr, ever.
    def log_message(self, fmt, *args):
        log.debug("rescoord: " + fmt, *args)

    def handle(self):
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection and not self.srv._closed.is_set():
            self.handle_one_request()

    def handle_one_request(self):
        s = self.connection
        try:
            s.settimeout(self.srv.read_timeout if self.first else self.srv.idle_timeout)
            self.raw_requestline = self.rfile.readline(65537)
            self.first = False
            if not self.raw_requestline:
                self.close_connection = True
                return
            s.settimeout(self.srv.read_timeout)
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
                return
            if not self.parse_request():
                return
            self._route()
            self.wfile.flush()
        except (socket.timeout, TimeoutError, ConnectionError, OSError):
            self.close_connection = True

    # -- writing

    def _write(self, data):
        s = self.connection
        for i in range(0, len(data), _CHUNK):
            s.settimeout(self.srv.write_timeout)  # renewed per chunk, as pkg/registry does
            self.wfile.write(data[i:i + _CHUNK])
        self.wfile.flush()

    def _send(self, code, body, ctype="application/json", headers=(), close=False):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self._write(body)
        else:
            self.wfile.flush()

    def _error(self, code, msg, close=False, headers=()):
        self._send(code, (json.dumps({"error": msg}) + "\n").encode(), headers=headers, close=close)

    def _refuse(self, code, msg, headers=()):
        self._error(code, msg, close=True, headers=headers)

    # -- checks, then routing

    def _route(self):
        srv = self.srv
        if not srv.unix and not srv.public:
            host = self.headers.get("Host", "")
            if not loopback_host(host):
                return self._refuse(421, "misdirected request: host %s is not a loopback address or localhost "
                                         "(the program must serve with public=True to accept it)"
                                    % json.dumps(_clip(host)))
        if "Origin" in self.headers:
            return self._refuse(403, "forbidden: requests from web pages (with an Origin header) are refused")
        site = self.headers.get("Sec-Fetch-Site", "")
        if site and site != "none":
            return self._refuse(403, "forbidden: requests from web pages (Sec-Fetch-Site %s) are refused"
                                % json.dumps(_clip(site)))
        if srv.token is not None and not self._has_bearer():
            return self._refuse(401, "unauthorized: a valid bearer token is required",
                                headers=(("WWW-Authenticate", 'Bearer realm="rescoord"'),))
        url = urllib.parse.urlsplit(self.path)
        routes = {"/snapshot": ("GET", self._snapshot), "/stats": ("GET", self._stats),
                  "/metrics": ("GET", self._metrics), "/cleanup": ("POST", self._cleanup)}
        r = routes.get(url.path)
        if r is not None and (self.command == r[0] or (r[0] == "GET" and self.command == "HEAD")):
            method, fn = r
        else:
            # As pkg/registry's mux, whose catch-all "/" answers any other
            # method or path: 404, not 405.
            self._drain()
            return self._error(404, "not found: this endpoint serves GET /snapshot, /stats, /metrics "
                                    "and POST /cleanup")
        if not self._drain():
            return self._refuse(413, "request body too large")
        fn(urllib.parse.parse_qs(url.query))

    def _drain(self):
        n = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return True
        if not n:
            return True
        try:
            n = int(n)
        except ValueError:
            self.close_connection = True
            return True
        if n > _MAX_BODY:
            return False
        while n > 0:
            b = self.rfile.read(min(n, 65536))
            if not b:
                break
            n -= len(b)
        return True

    def _has_bearer(self):
        scheme, _, cred = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(cred.lstrip(" ").encode(), self.srv.token)

    # -- endpoints

    def _snapshot(self, _q):
        try:
            snap = self.srv.invoker.call(lambda: self.srv.service.snapshot(), self.srv.write_timeout)
        except TimeoutError as e:
            return self._error(503, str(e))
        body = (json.dumps(snap, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        headers = [("Vary", "Accept-Encoding")]
        if _accepts_gzip(self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, compresslevel=1)
            headers.append(("Content-Encoding", "gzip"))
        self._send(200, body, headers=headers)

    def _stats(self, _q):
        body = (json.dumps(self.srv.service.stats()) + "\n").encode()
        self._send(200, body)

    def _metrics(self, _q):
        try:
            snap = self.srv.invoker.call(lambda: self.srv.service.snapshot(), self.srv.write_timeout)
        except TimeoutError as e:
            return self._error(503, str(e))
        body = _metrics_text(self.srv.service.stats(), snap).encode()
        headers = [("Vary", "Accept, Accept-Encoding")]  # as promhttp answers
        if _accepts_gzip(self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, compresslevel=1)
            headers.append(("Content-Encoding", "gzip"))
        self._send(200, body, ctype="text/plain; version=0.0.4; charset=utf-8", headers=headers)

    def _cleanup(self, q):
        srv = self.srv
        if not srv.cleanup:
            return self._error(403, "cleanup through the endpoint is not enabled in this process "
                                    "(the program must serve with cleanup_endpoint=True)")
        if not srv.unix:
            if srv.token is None:
                return self._refuse(403, "cleanup over TCP requires a token: the program must serve with token=")
            if not self.headers.get(CLIENT_HEADER):
                return self._refuse(403, "forbidden: a cleanup over TCP must carry the %s header" % CLIENT_HEADER)
        cid = (q.get("component") or [""])[0]
        if not cid:
            return self._error(400, "missing ?component=ID")
        svc = srv.service
        if svc.get_component_state(cid) is None:
            return self._error(404, "no component %s in the registry" % json.dumps(cid))
        timeout = None
        t = (q.get("timeout") or [""])[0]
        if t:
            try:
                timeout = parse_duration(t)
                if timeout <= 0:
                    raise ValueError
            except ValueError:
                return self._error(400, "invalid timeout %s" % json.dumps(t))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()  # the client knows the cleanup started
        events = queue.Queue()
        summary = {"steps": 0, "done": 0, "failed": 0, "timed_out": 0, "skipped": 0, "elapsed_ms": 0}
        start = time.monotonic()
        runs = []

        def run():
            try:
                svc.cleanup_component(cid, force=True, timeout_s=timeout,
                                      on_result=lambda res: events.put({"step": res}),
                                      on_run=runs.append)
            except Exception as e:  # noqa: BLE001 - reported in the summary
                summary["error"] = "%s: %s" % (type(e).__name__, e)
            finally:
                events.put(None)

        # The cleanup runs to its end even if the client goes away.
        threading.Thread(target=_os_named("rescoord-cleanup", srv.invoker.call), args=(run, None),
                         name="rescoord-cleanup", daemon=True).start()
        alive = True
        every = srv.progress_interval
        tick = time.monotonic() + every
        while True:
            try:
                ev = events.get(timeout=max(tick - time.monotonic(), 0))
            except queue.Empty:
                # Where the cleanup stands, every interval while it runs
                # (once it has started: runs holds it); a tick missed while
                # writing is dropped, as a Go ticker drops it.
                tick += every
                now = time.monotonic()
                if tick <= now:
                    tick = now + every
                if runs:
                    alive = alive and self._chunk({"progress": svc._progress_of(runs[0])})
                continue
            if ev is None:
                break
            res = ev["step"]
            st = res["status"]
            summary["steps"] += 1
            if st == "done":
                summary["done"] += 1
            elif st == "timed_out":
                summary["timed_out"] += 1
            elif st == "skipped":
                summary["skipped"] += 1
                if "skipped_because" not in summary:
                    summary["skipped_because"] = res.get("error", "")
            else:
                summary["failed"] += 1
            alive = alive and self._chunk(ev)
        summary["elapsed_ms"] = int((time.monotonic() - start) * 1000)
        if "error" in summary and summary["failed"] + summary["timed_out"] + summary["skipped"] > 0:
            del summary["error"]  # as pkg/registry: only a failure outside any step
        if "skipped_because" in summary:
            summary["skipped_because"] = summary.pop("skipped_because")  # after error, as Go orders them
        if alive and self._chunk({"summary": summary}):
            try:
                self._write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True

    def _chunk(self, obj):
        line = (json.dumps(obj) + "\n").encode()
        try:
            self._write(b"%x\r\n%s\r\n" % (len(line), line))
            return True
        except OSError:
            self.close_connection = True
            return False


def _clip(s):
    return s[:64] + "…" if len(s) > 64 else s


def _accepts_gzip(header):
    for part in header.split(","):
        enc, _, q = part.strip().partition(";")
        if enc.strip() == "gzip" and q.strip() != "q=0":
            return True
    return False


def _esc(v):
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(v):
    if isinstance(v, float):
        r = repr(v)
        return r if "e" in r or "." in r or "inf" in r or "nan" in r else r + ".0"
    return str(v)


# HELP texts of pkg/registry/metrics.
_HELP_LIVE = "Live (active or releasing) resources, by owner component type and name and resource type."
_HELP_LIVE_BYTES = "Size of the live resources, by owner component type and name and resource type."
_HELP_LIMIT = ("Byte limits of component subtrees, by component type and name; the largest when several "
               "components share them.")
_HELP_LIMIT_USE = ("Live bytes of a component subtree over its limit (1 is at the limit), by component type "
                   "and name; the highest when several components share them.")
_HELP_LEAKS = ("Leak findings in the registry now, by rule and severity (see rescoord leaks). Every rule one "
               "snapshot can show has a series, 0 when clean; growth, the suppression rules and "
               "untracked-resource need several snapshots, a suppressions file or /proc and are not exported.")


def _metrics_text(st, snap):
    """Prometheus text exposition (version 0.0.4) of the metrics
    pkg/registry serves (docs/attach.md, Prometheus metrics)."""
    out = []

    def family(name, help_, typ, samples):
        out.append("# HELP %s %s" % (name, help_.replace("\\", "\\\\").replace("\n", "\\n")))
        out.append("# TYPE %s %s" % (name, typ))
        for labels, v in sorted(samples):
            if labels:
                out.append("%s{%s} %s" % (name, ",".join('%s="%s"' % (k, _esc(x)) for k, x in labels),
                                          _num(v)))
            else:
                out.append("%s %s" % (name, _num(v)))

    comps = {c["id"]: c for c in snap.get("components") or []}

    def key(comp):
        # The owner's type and name; "" when it has none or is missing.
        return ((comp.get("type") or ""), (comp.get("name") or "")) if comp else ("", "")

    live = {}
    total = 0
    for r in snap.get("resources") or []:
        if r.get("state") not in ("active", "releasing"):
            continue
        size = r.get("size_bytes") or 0
        total += size
        k = key(comps.get(r.get("owner"))) + (r.get("type") or "",)
        n, b = live.get(k, (0, 0))
        live[k] = (n + 1, b + size)
    limits = snap.get("limits") or {}
    own, kids = {}, {}
    for r in snap.get("resources") or []:
        if r.get("state") in ("active", "releasing"):
            own[r.get("owner")] = own.get(r.get("owner"), 0) + (r.get("size_bytes") or 0)
    for c in comps.values():
        if c.get("parent") in comps:
            kids.setdefault(c["parent"], []).append(c["id"])

    def subtree(cid):
        n, todo, seen = 0, [cid], set()
        while todo:
            x = todo.pop()
            if x not in seen:
                seen.add(x)
                n += own.get(x, 0)
                todo.extend(kids.get(x, ()))
        return n

    shared = {}  # components sharing a type and name: the largest limit, the highest use
    for cid, lim in (limits.get("components") or {}).items():
        if not lim or lim <= 0 or cid not in comps:
            continue
        sub = subtree(cid)
        k = key(comps[cid])
        b, u = shared.get(k, (0, 0.0))
        shared[k] = (max(b, lim), max(u, sub / float(lim)))
    alive = sum(1 for c in comps.values() if c.get("state") != "destroyed")
    ct = ("component_type", "component_name")
    family("rescoord_components", "Components kept by the registry, by state (alive, destroyed).", "gauge",
           [((("state", "alive"),), alive), ((("state", "destroyed"),), len(comps) - alive)])
    counts = leakcount.count(snap)
    family("rescoord_leak_findings", _HELP_LEAKS, "gauge",
           [((("rule", r), ("severity", sev)), counts[r]) for r, sev in leakcount.RULES])
    if shared:
        family("rescoord_limit_bytes", _HELP_LIMIT, "gauge",
               [(tuple(zip(ct, k)), b) for k, (b, _u) in shared.items()])
        family("rescoord_limit_use_ratio", _HELP_LIMIT_USE, "gauge",
               [(tuple(zip(ct, k)), float(u)) for k, (_b, u) in shared.items()])
    lt = ct + ("type",)
    if live:
        family("rescoord_live_bytes", _HELP_LIVE_BYTES, "gauge",
               [(tuple(zip(lt, k)), b) for k, (_n, b) in live.items()])
        family("rescoord_live_resources", _HELP_LIVE, "gauge",
               [(tuple(zip(lt, k)), n) for k, (n, _b) in live.items()])
    g = limits.get("global_bytes") or 0
    if g > 0:
        family("rescoord_registry_limit_bytes", "The registry's global byte limit (absent when it has none).",
               "gauge", [((), g)])
        family("rescoord_registry_limit_use_ratio", "Live bytes of the registry over its global limit (1 is at "
               "the limit; absent without a limit).", "gauge", [((), total / float(g))])
    family("rescoord_registry_live_bytes", "Size of every live resource in the registry.", "gauge",
           [((), total)])
    if st["by_type"]:
        family("rescoord_resources_created_total", "Resources tracked since the registry was made, by type.",
               "counter", [((("type", t),), v["created"]) for t, v in st["by_type"].items()])
        family("rescoord_resources_released_total", "Resources released since the registry was made, by type.",
               "counter", [((("type", t),), v["released"]) for t, v in st["by_type"].items()])
    return "\n".join(out) + "\n"
