"""The metadata by which a tracked resource names its OS object
(docs/python.md, "Reconciling"), and `rescoord leaks --attach TARGET
--reconcile` on a Python process that serves its registry."""

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading

import pytest

import rescoord
from rescoord import ResourceType, _qt, os_metadata

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc: Linux only")

HERE = os.path.dirname(os.path.abspath(__file__))


class Owner:
    pass


@pytest.fixture
def owner(svc):
    o = Owner()
    svc.register_component(o, "owner", "plugin")
    yield o
    del o


def meta(svc, rid):
    [r] = [r for r in svc.snapshot()["resources"] if r["id"] == rid]
    return r.get("metadata")


def link(fd):
    return os.readlink("/proc/self/fd/%d" % fd)


def sock_inode(fd):
    t = link(fd)
    assert t.startswith("socket:["), t
    return int(t[len("socket:["):-1])


# --- files --------------------------------------------------------------------


def test_file_names_its_fd_and_path(svc, owner, tmp_path):
    p = tmp_path / "index.db"
    with open(p, "wb") as f:
        rid = svc.track_resource(owner, ResourceType.FILE_HANDLE, f)
        md = meta(svc, rid)
        assert md == {"fd": f.fileno(), "path": str(p)}
        assert link(md["fd"]) == str(p)


def test_text_file_opened_by_a_relative_name(svc, owner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open("notes.txt", "w") as f:
        rid = svc.track_resource(owner, ResourceType.FILE_HANDLE, f)
        md = meta(svc, rid)
        assert md["path"] == os.path.join(str(tmp_path), "notes.txt")
        assert link(md["fd"]) == md["path"]


def test_file_opened_on_a_descriptor_has_no_path(svc, owner, tmp_path):
    fd = os.open(str(tmp_path / "raw"), os.O_CREAT | os.O_RDWR)
    with os.fdopen(fd, "rb") as f:
        rid = svc.track_resource(owner, ResourceType.FILE_HANDLE, f)
        assert meta(svc, rid) == {"fd": fd}
        assert link(fd) == str(tmp_path / "raw")


def test_closed_file_names_nothing(svc, owner, tmp_path):
    f = open(tmp_path / "gone", "wb")
    rid = svc.track_resource(owner, ResourceType.FILE_HANDLE, f)
    f.close()
    assert meta(svc, rid) is None


def test_memory_stream_names_nothing(svc, owner):
    b = io.BytesIO(b"x")
    rid = svc.track_resource(owner, ResourceType.FILE_HANDLE, b)
    assert meta(svc, rid) is None


def test_metadata_given_is_kept_as_given(svc, owner, tmp_path):
    # As pkg/registry: the OS object's metadata is filled only when the
    # caller gives none (an empty dict is given metadata too).
    with open(tmp_path / "a", "wb") as f, open(tmp_path / "b", "wb") as g:
        r1 = svc.track_resource(owner, ResourceType.FILE_HANDLE, f, metadata={"role": "index"})
        r2 = svc.track_resource(owner, ResourceType.FILE_HANDLE, g, metadata={})
        r3 = svc.track_resource(owner, ResourceType.FILE_HANDLE, g,
                                metadata=dict(os_metadata(g), role="log"))
        assert meta(svc, r1) == {"role": "index"}
        assert meta(svc, r2) == {}
        assert meta(svc, r3) == {"fd": g.fileno(), "path": str(tmp_path / "b"), "role": "log"}


def test_a_failing_fileno_gives_no_fd(svc, owner):
    class Broken(io.RawIOBase):
        name = "/nonexistent/broken"

        def fileno(self):
            raise OSError("no descriptor")

    b = Broken()
    rid = svc.track_resource(owner, ResourceType.FILE_HANDLE, b)
    assert meta(svc, rid) == {"path": "/nonexistent/broken"}


# --- sockets ------------------------------------------------------------------


def test_tcp_listener_and_connection(svc, owner):
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as c:
            a, _ = srv.accept()
            with a:
                rl = svc.track_resource(owner, "socket", srv)
                rc = svc.track_resource(owner, "socket", c)
                ra = svc.track_resource(owner, "socket", a)
                cport = c.getsockname()[1]
                assert meta(svc, rl) == {"fd": srv.fileno(), "local": "127.0.0.1:%d" % port}
                assert meta(svc, rc) == {"fd": c.fileno(), "local": "127.0.0.1:%d" % cport,
                                         "remote": "127.0.0.1:%d" % port}
                assert meta(svc, ra) == {"fd": a.fileno(), "local": "127.0.0.1:%d" % port,
                                         "remote": "127.0.0.1:%d" % cport}
                for s, r in ((srv, rl), (c, rc), (a, ra)):
                    assert sock_inode(meta(svc, r)["fd"]) == os.fstat(s.fileno()).st_ino


def test_udp_socket_names_its_local_address(svc, owner):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        rid = svc.track_resource(owner, "socket", u)
        assert meta(svc, rid) == {"fd": u.fileno(), "local": "127.0.0.1:%d" % u.getsockname()[1]}
        sock_inode(u.fileno())


def test_socket_connected_after_it_was_tracked(svc, owner):
    # The metadata is read at snapshot time, from the live socket.
    with socket.socket() as srv, socket.socket() as c:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        rid = svc.track_resource(owner, "socket", c)
        assert meta(svc, rid) == {"fd": c.fileno(), "local": "0.0.0.0:0"}
        c.connect(srv.getsockname())
        assert meta(svc, rid)["remote"] == "127.0.0.1:%d" % srv.getsockname()[1]


def ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_tcp6_addresses_as_proc_net_shows_them(svc, owner):
    with socket.socket(socket.AF_INET6) as srv:
        srv.bind(("::1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        with socket.create_connection(("::1", port)) as c:
            rl = svc.track_resource(owner, "socket", srv)
            rc = svc.track_resource(owner, "socket", c)
            assert meta(svc, rl) == {"fd": srv.fileno(), "local": "[::1]:%d" % port}
            assert meta(svc, rc)["remote"] == "[::1]:%d" % port
            assert meta(svc, rc)["local"] == "[::1]:%d" % c.getsockname()[1]


def test_ipv6_text_is_that_of_go_netip():
    from rescoord.osobject import inet_address

    six = socket.AF_INET6
    for addr, want in [("::", "[::]:1"), ("::1", "[::1]:1"), ("2001:db8:0:1:0:0:0:1", "[2001:db8:0:1::1]:1"),
                       ("2001:db8:0:0:1:0:0:1", "[2001:db8::1:0:0:1]:1"), ("1:2:3:4:5:6:7:0", "[1:2:3:4:5:6:7:0]:1"),
                       ("::ffff:127.0.0.1", "[::ffff:127.0.0.1]:1"), ("fe80::1%lo", "[fe80::1]:1"),
                       ("2001:DB8::A", "[2001:db8::a]:1")]:
        assert inet_address(six, (addr, 1, 0, 0)) == want, addr
    assert inet_address(socket.AF_INET, ("10.0.0.1", 80)) == "10.0.0.1:80"
    assert inet_address(six, ("not an address", 1, 0, 0)) is None


def test_unix_sockets_name_their_path(svc, owner):
    d = tempfile.mkdtemp(prefix="rcrec")
    try:
        path = os.path.join(d, "s.sock")
        with socket.socket(socket.AF_UNIX) as srv:
            srv.bind(path)
            srv.listen()
            with socket.socket(socket.AF_UNIX) as c:
                c.connect(path)
                a, _ = srv.accept()
                with a:
                    rl = svc.track_resource(owner, "socket", srv)
                    rc = svc.track_resource(owner, "socket", c)
                    ra = svc.track_resource(owner, "socket", a)
                    assert meta(svc, rl) == {"fd": srv.fileno(), "path": path}
                    assert meta(svc, ra) == {"fd": a.fileno(), "path": path}
                    assert meta(svc, rc) == {"fd": c.fileno()}  # unnamed, as /proc/net/unix shows it
                    for s in (srv, c, a):
                        assert sock_inode(s.fileno()) == os.fstat(s.fileno()).st_ino
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_abstract_unix_socket(svc, owner):
    with socket.socket(socket.AF_UNIX) as s:
        s.bind("\0rescoord-test-%d" % os.getpid())
        rid = svc.track_resource(owner, "socket", s)
        assert meta(svc, rid) == {"fd": s.fileno(), "path": "@rescoord-test-%d" % os.getpid()}


def test_closed_socket_names_nothing(svc, owner):
    s = socket.socket()
    rid = svc.track_resource(owner, "socket", s)
    s.close()
    assert meta(svc, rid) is None


def test_socket_addresses_match_the_proc_snapshot(svc, owner, rescoord_bin):
    # The strings rescoord's proc: snapshot reads from /proc/net.
    socks = []
    try:
        srv = socket.socket()
        socks.append(srv)
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        c = socket.create_connection(srv.getsockname())
        socks.append(c)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        socks.append(u)
        u.bind(("127.0.0.1", 0))
        if ipv6_loopback():
            s6 = socket.socket(socket.AF_INET6)
            socks.append(s6)
            s6.bind(("::1", 0))
            s6.listen()
            c6 = socket.create_connection(("::1", s6.getsockname()[1]))
            socks.append(c6)
        mine = {s.fileno(): meta(svc, svc.track_resource(owner, "socket", s)) for s in socks}
        p = subprocess.run([rescoord_bin, "list", "--attach", "proc:%d" % os.getpid(), "-o", "json"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        theirs = {r["metadata"]["fd"]: r["metadata"] for r in json.loads(p.stdout)["resources"]
                  if r["type"] == "socket"}
        for fd, md in mine.items():
            assert md["local"] == theirs[fd]["local"], (md, theirs[fd])
            if "remote" in md:
                assert md["remote"] == theirs[fd]["remote"], (md, theirs[fd])
            else:
                assert theirs[fd]["state"] in ("LISTEN", "UNCONNECTED"), theirs[fd]
    finally:
        for s in socks:
            s.close()


# --- processes and threads ------------------------------------------------------


def test_child_process_names_its_pid(svc, owner):
    p = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        rid = svc.track_resource(owner, "process", p)
        md = meta(svc, rid)
        assert md == {"pid": p.pid}
        with open("/proc/%d/stat" % md["pid"]) as f:
            assert int(f.read().rsplit(")", 1)[1].split()[1]) == os.getpid()  # our child
    finally:
        p.stdin.close()
        p.wait(30)


def test_thread_names_its_tid_once_started(svc, owner):
    started, stop = threading.Event(), threading.Event()

    def run():
        started.set()
        stop.wait(30)

    t = threading.Thread(target=run, name="indexer", daemon=True)
    rid = svc.track_resource(owner, ResourceType.THREAD, t)
    assert meta(svc, rid) is None  # not started: no OS thread yet
    t.start()
    try:
        started.wait(30)
        md = meta(svc, rid)
        assert md == {"tid": t.native_id}
        assert os.path.isdir("/proc/self/task/%d" % md["tid"])
    finally:
        stop.set()
        t.join(30)
    assert meta(svc, rid) is None  # finished: its tid may be another's


def test_qprocess_names_its_pid(svc, owner, qapp):
    qc = _qt.QtCore
    p = qc.QProcess()
    rid = svc.track_resource(owner, "process", p)
    assert meta(svc, rid) is None  # not started
    p.start(sys.executable, ["-c", "import sys; sys.stdin.read()"])
    try:
        assert p.waitForStarted(30000)
        md = meta(svc, rid)
        assert md == {"pid": p.processId()}
        with open("/proc/%d/stat" % md["pid"]) as f:
            assert int(f.read().rsplit(")", 1)[1].split()[1]) == os.getpid()
    finally:
        p.closeWriteChannel()
        p.waitForFinished(30000)


def test_qthread_names_no_thread(svc, owner, qapp):
    qc = _qt.QtCore
    th = qc.QThread()
    rid = svc.track_resource(owner, ResourceType.THREAD, th)
    th.start()
    try:
        assert meta(svc, rid) is None
    finally:
        th.quit()
        th.wait(30000)


# --- leaks --reconcile on a live Python process ---------------------------------

APP = textwrap.dedent("""\
    import json, os, socket, sys, threading
    sys.path.insert(0, sys.argv[1])
    import rescoord
    from rescoord import ResourceType

    class Plugin:
        pass

    svc = rescoord.ResourceManagementService(sweep_interval_s=0, emergency_cleanup_at_exit=False)
    plug = Plugin()
    svc.register_component(plug, "indexer", "plugin")
    d = sys.argv[2]
    tracked = open(os.path.join(d, "tracked.db"), "wb")
    untracked = open(os.path.join(d, "untracked.db"), "wb")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    up = [threading.Event(), threading.Event()]

    def run(i):
        up[i].set()
        stop.wait()

    t1 = threading.Thread(target=run, args=(0,), name="tracked-worker", daemon=True)
    t2 = threading.Thread(target=run, args=(1,), name="untracked-worker", daemon=True)
    for t, e in ((t1, up[0]), (t2, up[1])):
        t.start()
        e.wait()
    child = __import__("subprocess").Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                                           stdin=__import__("subprocess").PIPE)
    svc.track_resource(plug, ResourceType.FILE_HANDLE, tracked)
    svc.track_resource(plug, ResourceType.THREAD, t1)
    svc.track_resource(plug, "socket", listener)
    svc.track_resource(plug, "process", child)

    # The tids of the threads the server starts (its accept loop, a thread
    # per connection), as they start.
    server_tids = []

    base_run = threading.Thread.run

    def run(self):
        server_tids.append([self.name, self.native_id])
        base_run(self)

    threading.Thread.run = run
    h = svc.serve(address="unix://" + os.path.join(d, "app.sock"), discovery=False)
    print(json.dumps({"address": h.address, "tracked_fd": tracked.fileno(), "untracked_fd": untracked.fileno(),
                      "tracked_tid": t1.native_id, "untracked_tid": t2.native_id,
                      "listener_fd": listener.fileno(), "child": child.pid}), flush=True)
    sys.stdin.readline()
    print(json.dumps(server_tids), flush=True)
    sys.stdin.read()
    child.stdin.close()
    child.wait()
    stop.set()
    h.close()
    svc.close()
""")


def test_leaks_reconcile_reports_what_the_registry_does_not_track(rescoord_bin):
    d = tempfile.mkdtemp(prefix="rcrec")  # short: a unix socket's path fits in 108 bytes
    app = os.path.join(d, "app.py")
    with open(app, "w") as f:
        f.write(APP)
    p = subprocess.Popen([sys.executable, app, os.path.dirname(HERE), d], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(p.stdout.readline())
        out = subprocess.run([rescoord_bin, "leaks", "--attach", info["address"], "--reconcile", "-o", "json",
                              "--fail-on", "none"], capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, NO_COLOR="1"))
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        found = [f["untracked"] for f in report["findings"] if f["rule"] == "untracked-resource"]
        details = {u["detail"]: u for u in found}
        assert details["fd %d" % info["untracked_fd"]] == {
            "type": "file", "name": os.path.join(d, "untracked.db"), "detail": "fd %d" % info["untracked_fd"]}
        assert details["tid %d" % info["untracked_tid"]]["type"] == "thread"
        assert "fd %d" % info["tracked_fd"] not in details
        assert "tid %d" % info["tracked_tid"] not in details
        assert "fd %d" % info["listener_fd"] not in details
        assert "pid %d" % info["child"] not in details
        # Neither the server's own socket nor its connection is reported.
        assert [u for u in found if u["type"] == "socket"] == [], found
        assert [u for u in found if u["type"] == "file"] == [details["fd %d" % info["untracked_fd"]]], found
        # The server's own threads name their OS threads rescoord-…, which
        # reconcile leaves out: the untracked thread is the only one.
        p.stdin.write("threads\n")
        p.stdin.flush()
        server = {"tid %d" % tid: name for name, tid in json.loads(p.stdout.readline())}
        assert server, "the server started no thread"
        assert [u["detail"] for u in found if u["type"] == "thread"] == ["tid %d" % info["untracked_tid"]], (found, server)
    finally:
        p.stdin.close()
        p.wait(60)
        p.stdout.close()
        shutil.rmtree(d, ignore_errors=True)
