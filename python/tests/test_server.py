"""serve(): the attach protocol, checked with the rescoord binary itself
(ps, --attach NAME / pid: / unix:// / http://, leaks, record, watch,
cleanup) and with raw HTTP requests for the refusals."""

import gzip
import http.client
import json
import os
import socket
import stat
import threading

import pytest

import rescoord
from rescoord import ResourceType, _qt
from rescoord.server import ServeError, loopback_host, parse_duration

from rc_helpers import Worker


class Tab:
    pass


@pytest.fixture
def xdg(tmp_path):
    d = tmp_path / "xdg"
    d.mkdir(mode=0o700)
    return str(d)


@pytest.fixture
def svc(svc, monkeypatch):
    # These tests block the main thread on the client: no Qt event loop
    # runs, so the server takes snapshots on its own threads
    # (test_snapshots_are_taken_on_the_gui_thread covers the other way).
    real = svc.serve
    monkeypatch.setattr(svc, "serve", lambda **kw: real(**dict({"gui_thread": False}, **kw)))
    return svc


@pytest.fixture
def app(svc, xdg):
    """A registry with a window, a destroyed tab whose worker still runs."""
    win = Tab()
    svc.register_component(win, "main_window", "window")
    tab = Tab()
    svc.register_component(tab, "media_tab", "tab", parent=win)
    w = Worker()
    w.start()
    svc.track_resource(tab, ResourceType.WORKER, w)
    svc.track_resource(win, ResourceType.MEMORY, None, 64, name="buffer")
    del tab
    yield svc, win, w
    w.ev.set()
    w.join()


def run(rc, xdg, *args, check=True):
    env = dict(os.environ, XDG_RUNTIME_DIR=xdg, NO_COLOR="1")
    import subprocess

    p = subprocess.run([rc.path] + list(args), capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert p.returncode in (0, 1), p.stderr
    return p


def name_of(request):
    return "pyapp-" + request.node.name[-20:].replace("[", "").replace("]", "")


def test_ps_and_attach_by_name_pid_and_socket(app, rc, xdg, request):
    svc, _, _ = app
    name = name_of(request)
    with svc.serve(process_name=name, runtime_dir=os.path.join(xdg, "rescoord")) as h:
        ps = json.loads(run(rc, xdg, "ps", "-o", "json").stdout)["processes"]
        mine = [e for e in ps if e["process"] == name]
        assert len(mine) == 1 and mine[0]["pid"] == os.getpid() and not mine[0]["stale"]
        assert mine[0]["address"] == h.address and h.address.startswith("unix://")
        for target in (name, "pid:%d" % os.getpid(), h.address):
            rep = json.loads(run(rc, xdg, "leaks", "--attach", target, "-o", "json").stdout)
            assert [(f["rule"], f["resource"]) for f in rep["findings"]] == [("running-orphan", "r-1")], target
        p = run(rc, xdg, "validate", "--attach", name)
        assert p.returncode == 0, p.stdout + p.stderr
        listed = json.loads(run(rc, xdg, "list", "--attach", name, "-o", "json").stdout)
        assert sorted(r["id"] for r in (listed["resources"] if isinstance(listed, dict) else listed)) == ["r-1", "r-2"]
    assert not os.path.exists(h.socket_path) and not os.path.exists(h.discovery_path)


def test_files_and_modes(app, xdg, request):
    svc, _, _ = app
    rd = os.path.join(xdg, "rescoord")
    with svc.serve(process_name=name_of(request), runtime_dir=rd) as h:
        assert stat.S_IMODE(os.stat(rd).st_mode) == 0o700
        assert stat.S_IMODE(os.lstat(h.socket_path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(h.discovery_path).st_mode) == 0o600
        e = json.load(open(h.discovery_path))
        assert sorted(e) == ["address", "pid", "process", "started_at"]  # token: omitted when false
        assert e["pid"] == os.getpid() and e["address"] == h.address


def test_runtime_dir_not_ours_is_refused(svc, tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(ServeError, match="symbolic link"):
        svc.serve(runtime_dir=str(link))
    wide = tmp_path / "wide"
    wide.mkdir()
    os.chmod(str(wide), 0o777)
    with pytest.raises(ServeError, match="writable by other users"):
        svc.serve(runtime_dir=str(wide))
    assert os.listdir(str(real)) == [] and os.listdir(str(wide)) == []


def test_tcp_must_be_loopback_and_cleanup_needs_a_token(svc, xdg):
    with pytest.raises(ServeError, match="not a loopback address"):
        svc.serve(address="0.0.0.0:0", runtime_dir=xdg)
    with pytest.raises(ServeError, match="without a token"):
        svc.serve(address="127.0.0.1:0", cleanup_endpoint=True, runtime_dir=xdg)


class Raw:
    def __init__(self, address):
        self.host, port = address[len("http://"):].rsplit(":", 1)
        self.port = int(port)

    def req(self, method, path, headers=None, host=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        c.putheader("Host", host or "127.0.0.1:%d" % self.port)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        body = r.read()
        c.close()
        return r, body


def test_tcp_refusals_as_pkg_registry(app, rc, xdg, request):
    svc, _, _ = app
    with svc.serve(address="127.0.0.1:0", token="s3cret", process_name=name_of(request),
                   runtime_dir=os.path.join(xdg, "rescoord")) as h:
        raw = Raw(h.address)
        auth = {"Authorization": "Bearer s3cret"}
        r, body = raw.req("GET", "/snapshot", auth)
        assert r.status == 200 and r.getheader("Content-Type") == "application/json"
        assert json.loads(body)["format"] == "rescoord/v1"
        r, _ = raw.req("GET", "/snapshot", {"Authorization": "bearer   s3cret"})
        assert r.status == 200  # scheme in any case
        r, body = raw.req("GET", "/snapshot", dict(auth, **{"Accept-Encoding": "gzip"}))
        assert r.getheader("Content-Encoding") == "gzip" and json.loads(gzip.decompress(body))
        for hdrs, code in (({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                           (dict(auth, Origin="https://evil.example"), 403),
                           (dict(auth, **{"Sec-Fetch-Site": "cross-site"}), 403)):
            r, body = raw.req("GET", "/snapshot", hdrs)
            assert r.status == code, (hdrs, body)
            assert r.getheader("Connection") == "close" and "error" in json.loads(body)
        assert raw.req("GET", "/snapshot", {})[0].getheader("WWW-Authenticate") == 'Bearer realm="rescoord"'
        assert raw.req("GET", "/snapshot", dict(auth, **{"Sec-Fetch-Site": "none"}))[0].status == 200
        r, _ = raw.req("GET", "/snapshot", auth, host="evil.example:80")
        assert r.status == 421
        assert raw.req("GET", "/snapshot", auth, host="localhost")[0].status == 200
        assert raw.req("OPTIONS", "/snapshot", {"Origin": "https://x"})[0].status == 403
        r, body = raw.req("POST", "/snapshot", auth)
        assert r.status == 404 and "error" in json.loads(body)  # as pkg/registry's catch-all
        assert raw.req("GET", "/nope", auth)[0].status == 404
        r, body = raw.req("POST", "/cleanup?component=main_window", auth)
        assert r.status == 403 and b"not enabled" in body
        stats = json.loads(raw.req("GET", "/stats", auth)[1])
        assert stats["live_resources"] == 2 and stats["destroyed_components"] == 1
        assert stats["by_type"]["worker"] == {"active": 1, "releasing": 0, "live_bytes": 0,
                                              "created": 1, "released": 0}
        metrics = raw.req("GET", "/metrics", auth)[1].decode()
        assert 'rescoord_leak_findings{rule="running-orphan",severity="critical"} 1' in metrics
        assert ('rescoord_live_resources{component_type="tab",component_name="Tab",type="worker"} 1'
                in metrics) and "media_tab" not in metrics  # no component ids in labels
        # the binary, with and without the token
        p = run(rc, xdg, "leaks", "--attach", h.address, "--token", "s3cret", "-o", "json")
        assert p.returncode == 1 and json.loads(p.stdout)["findings"][0]["rule"] == "running-orphan"
        p = run(rc, xdg, "leaks", "--attach", h.address, check=False)
        assert p.returncode == 2 and "requires a token" in p.stderr
        e = json.load(open(h.discovery_path))
        assert e["token"] is True and e["address"] == h.address


def test_cleanup_over_tcp_needs_the_client_header(app, xdg):
    svc, _, w = app
    with svc.serve(address="127.0.0.1:0", token="t", cleanup_endpoint=True, runtime_dir=xdg,
                   discovery=False) as h:
        raw = Raw(h.address)
        r, body = raw.req("POST", "/cleanup?component=main_window", {"Authorization": "Bearer t"})
        assert r.status == 403 and b"X-Rescoord-Client" in body
        r, body = raw.req("POST", "/cleanup?component=nope",
                          {"Authorization": "Bearer t", "X-Rescoord-Client": "test"})
        assert r.status == 404
        r, body = raw.req("POST", "/cleanup?component=main_window&timeout=bogus",
                          {"Authorization": "Bearer t", "X-Rescoord-Client": "test"})
        assert r.status == 400
        r, body = raw.req("POST", "/cleanup?component=main_window&timeout=30s",
                          {"Authorization": "Bearer t", "X-Rescoord-Client": "test"})
        assert r.status == 200 and r.getheader("Content-Type") == "application/x-ndjson"
        lines = [json.loads(x) for x in body.decode().splitlines()]
        steps = [x["step"] for x in lines[:-1]]
        assert [(s["kind"], s["id"], s["status"]) for s in steps] == [
            ("resource", "r-1", "done"), ("resource", "r-2", "done"), ("component", "main_window", "done")]
        assert lines[-1]["summary"]["steps"] == 3 and lines[-1]["summary"]["done"] == 3
        assert not w.is_alive()


def test_cleanup_attach_over_unix_with_the_binary(app, rc, xdg, request):
    svc, _, w = app
    name = name_of(request)
    with svc.serve(process_name=name, cleanup_endpoint=True, runtime_dir=os.path.join(xdg, "rescoord")):
        p = run(rc, xdg, "cleanup", "--attach", name, "--component", "main_window", "--yes")
        assert p.returncode == 0, p.stdout + p.stderr
        assert not w.is_alive() and svc.get_resource_count() == 0
        # destroyed, and owning nothing: not even a tombstone is left
        assert svc.get_component_state("main_window") is None and svc.snapshot()["components"] == []


def test_record_and_watch(app, rc, xdg, tmp_path, request):
    svc, _, _ = app
    name = name_of(request)
    with svc.serve(process_name=name, runtime_dir=os.path.join(xdg, "rescoord")):
        out = str(tmp_path / "snaps")
        p = run(rc, xdg, "record", "--attach", name, "--every", "1ms", "--count", "2", "--out", out)
        assert p.returncode == 0, p.stderr
        files = sorted(os.listdir(out))
        assert files == ["snapshot-0001.json", "snapshot-0002.json"]
        assert run(rc, xdg, "validate", os.path.join(out, files[0])).returncode == 0
        p = run(rc, xdg, "watch", "--attach", name, "--every", "1ms", "--count", "1")
        assert p.returncode == 0, p.stderr
        assert "running-orphan" in p.stdout


@pytest.mark.skipif(not _qt.available(), reason="Qt is not available")
def test_snapshots_are_taken_on_the_gui_thread(qapp, rc, xdg, request):
    qc = _qt.QtCore
    s = rescoord.ResourceManagementService(sweep_interval_s=0, emergency_cleanup_at_exit=False)
    seen = []
    real = s.snapshot

    def spy(*a, **kw):
        seen.append(threading.current_thread() is threading.main_thread())
        return real(*a, **kw)

    s.snapshot = spy
    owner = qc.QObject()
    s.register_component(owner, "o", "window")
    name = name_of(request)
    result = {}
    with s.serve(process_name=name, runtime_dir=os.path.join(xdg, "rescoord")):
        loop = qc.QEventLoop()

        class Done(qc.QObject):
            sig = _qt.Signal()

        done = Done()
        done.sig.connect(loop.quit)

        def client():
            result["p"] = run(rc, xdg, "list", "--attach", name, "-o", "json", check=False)
            done.sig.emit()

        t = threading.Thread(target=client)
        t.start()
        loop.exec()  # the GUI thread serves the snapshot request meanwhile
        t.join()
    assert result["p"].returncode == 0, result["p"].stderr
    assert seen == [True]
    s.close()


def test_loopback_host_and_durations():
    assert loopback_host("127.0.0.1:6060") and loopback_host("localhost") and loopback_host("[::1]:80")
    assert loopback_host("127.9.9.9") and loopback_host("LOCALHOST:1")
    assert not loopback_host("evil.example") and not loopback_host("10.0.0.1:80")
    assert not loopback_host("::1") and not loopback_host("[::1]x")
    assert parse_duration("1m30s") == 90 and parse_duration("500ms") == 0.5
    with pytest.raises(ValueError):
        parse_duration("10")


def test_unix_socket_in_use_is_not_stolen(svc, xdg):
    path = os.path.join(xdg, "busy.sock")
    other = socket.socket(socket.AF_UNIX)
    other.bind(path)
    other.listen(1)
    try:
        with pytest.raises(ServeError, match="in use"):
            svc.serve(address="unix://" + path, discovery=False)
    finally:
        other.close()
