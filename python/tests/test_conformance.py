"""The Python server answers as pkg/registry's: one matrix of requests is
sent to both (the Go one is examples/mediaapp, built from this checkout,
or from RESCOORD_GO_SERVER_SRC), and each answer must agree in status,
content type, Connection: close and WWW-Authenticate / Allow headers."""

import gzip
import http.client
import json
import os
import re
import shutil
import subprocess
import threading

import pytest

import rescoord
from rescoord import ResourceType

from rc_helpers import REPO

TOKEN = "conformance-token"


def go_server_src():
    src = os.environ.get("RESCOORD_GO_SERVER_SRC") or REPO
    serve_go = os.path.join(src, "pkg", "registry", "serve.go")
    if not os.path.exists(serve_go) or shutil.which("go") is None:
        return None, "no Go toolchain or no pkg/registry in %s" % src
    with open(serve_go) as f:
        if "Misdirected" not in f.read():
            return None, "the Go server in %s predates the hardening (no Host check)" % src
    return src, None


@pytest.fixture(scope="module")
def go_server(tmp_path_factory):
    src, why = go_server_src()
    if src is None:
        if os.environ.get("RESCOORD_REQUIRE_GO_SERVER"):
            pytest.fail(why)
        pytest.skip(why)
    d = tmp_path_factory.mktemp("goserver")
    exe = str(d / "mediaapp")
    subprocess.run(["go", "build", "-o", exe, "./examples/mediaapp"], cwd=src, check=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(d))
    p = subprocess.Popen([exe, "-addr", "127.0.0.1:0", "-token", TOKEN, "-every", "1h"],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    address = None
    for line in p.stderr:
        m = re.search(r"serving its registry on (http://\S+)", line)
        if m:
            address = m.group(1)
            break
    threading.Thread(target=p.stderr.read, daemon=True).start()  # keep the pipe drained
    assert address, "mediaapp did not say where it serves"
    yield address, "main_window"
    p.terminate()
    p.wait(30)


@pytest.fixture
def py_server(svc, tmp_path):
    win = object.__new__(type("MainWindow", (), {}))
    svc.register_component(win, "main_window", "window")
    svc.track_resource(win, ResourceType.MEMORY, None, 10)
    h = svc.serve(address="127.0.0.1:0", token=TOKEN, cleanup_endpoint=True, discovery=False,
                  runtime_dir=str(tmp_path), gui_thread=False)
    yield h.address, "main_window"
    h.close()
    del win


AUTH = {"Authorization": "Bearer " + TOKEN}
CLIENT = {"X-Rescoord-Client": "conformance"}

# name, method, path, headers, Host (None: 127.0.0.1:PORT)
MATRIX = [
    ("snapshot", "GET", "/snapshot", AUTH, None),
    ("snapshot gzip", "GET", "/snapshot", dict(AUTH, **{"Accept-Encoding": "gzip"}), None),
    ("head snapshot", "HEAD", "/snapshot", AUTH, None),
    ("no token", "GET", "/snapshot", {}, None),
    ("wrong token", "GET", "/snapshot", {"Authorization": "Bearer nope"}, None),
    ("basic scheme", "GET", "/snapshot", {"Authorization": "Basic " + TOKEN}, None),
    ("bearer lower case", "GET", "/snapshot", {"Authorization": "bearer " + TOKEN}, None),
    ("origin", "GET", "/snapshot", dict(AUTH, Origin="https://evil.example"), None),
    ("origin, no token", "GET", "/snapshot", {"Origin": "null"}, None),
    ("fetch cross-site", "GET", "/snapshot", dict(AUTH, **{"Sec-Fetch-Site": "cross-site"}), None),
    ("fetch same-origin", "GET", "/snapshot", dict(AUTH, **{"Sec-Fetch-Site": "same-origin"}), None),
    ("fetch none", "GET", "/snapshot", dict(AUTH, **{"Sec-Fetch-Site": "none"}), None),
    ("preflight", "OPTIONS", "/cleanup", {"Origin": "https://evil.example",
                                          "Access-Control-Request-Method": "POST"}, None),
    ("rebound host", "GET", "/snapshot", AUTH, "evil.example"),
    ("rebound host, no token", "GET", "/snapshot", {}, "evil.example:80"),
    ("localhost", "GET", "/snapshot", AUTH, "localhost"),
    ("ipv6 loopback host", "GET", "/snapshot", AUTH, "[::1]:1"),
    ("other 127/8", "GET", "/snapshot", AUTH, "127.1.2.3"),
    ("stats", "GET", "/stats", AUTH, None),
    ("metrics", "GET", "/metrics", AUTH, None),
    ("metrics gzip", "GET", "/metrics", dict(AUTH, **{"Accept-Encoding": "gzip"}), None),
    ("post snapshot", "POST", "/snapshot", AUTH, None),
    ("get cleanup", "GET", "/cleanup?component=main_window", AUTH, None),
    ("not found", "GET", "/nope", AUTH, None),
    ("cleanup without client header", "POST", "/cleanup?component=main_window", AUTH, None),
    ("cleanup without component", "POST", "/cleanup", dict(AUTH, **CLIENT), None),
    ("cleanup unknown component", "POST", "/cleanup?component=nope", dict(AUTH, **CLIENT), None),
    ("cleanup bad timeout", "POST", "/cleanup?component=main_window&timeout=soon",
     dict(AUTH, **CLIENT), None),
]


def ask(address, method, path, headers, host):
    hostport = address[len("http://"):]
    h, port = hostport.rsplit(":", 1)
    c = http.client.HTTPConnection(h, int(port), timeout=30)
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    c.putheader("Host", host or hostport)
    for k, v in headers.items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    ctype = (r.getheader("Content-Type") or "").split(";")[0]
    shape = None
    if ctype == "application/json" and body:
        raw = gzip.decompress(body) if r.getheader("Content-Encoding") == "gzip" else body
        doc = json.loads(raw)
        shape = doc.get("format") if path == "/snapshot" and r.status == 200 else sorted(doc)
    return {"status": r.status, "type": ctype, "close": r.getheader("Connection") == "close",
            "www-authenticate": r.getheader("WWW-Authenticate"), "allow": r.getheader("Allow"),
            "encoding": r.getheader("Content-Encoding"), "vary": r.getheader("Vary"), "shape": shape}


def test_python_server_answers_as_the_go_server(go_server, py_server):
    diffs = []
    for name, method, path, headers, host in MATRIX:
        want = ask(go_server[0], method, path, headers, host)
        got = ask(py_server[0], method, path, headers, host)
        if want != got:
            diffs.append((name, want, got))
    assert diffs == [], "\n".join("%s:\n  go: %s\n  py: %s" % d for d in diffs)


def test_python_matrix_alone(py_server):
    # The expected answers, spelled out (they hold without a Go toolchain).
    got = {n: ask(py_server[0], m, p, h, host) for n, m, p, h, host in MATRIX}
    codes = {n: r["status"] for n, r in got.items()}
    assert codes == {
        "snapshot": 200, "snapshot gzip": 200, "head snapshot": 200, "no token": 401, "wrong token": 401,
        "basic scheme": 401, "bearer lower case": 200, "origin": 403, "origin, no token": 403,
        "fetch cross-site": 403, "fetch same-origin": 403, "fetch none": 200, "preflight": 403,
        "rebound host": 421, "rebound host, no token": 421, "localhost": 200, "ipv6 loopback host": 200,
        "other 127/8": 200, "stats": 200, "metrics": 200, "metrics gzip": 200, "post snapshot": 404,
        "get cleanup": 404,
        "not found": 404, "cleanup without client header": 403, "cleanup without component": 400,
        "cleanup unknown component": 404, "cleanup bad timeout": 400}
    refused = {n for n, r in got.items() if r["close"]}
    assert refused == {"no token", "wrong token", "basic scheme", "origin", "origin, no token",
                       "fetch cross-site", "fetch same-origin", "preflight", "rebound host",
                       "rebound host, no token", "cleanup without client header"}
    assert got["no token"]["www-authenticate"] == 'Bearer realm="rescoord"'
    assert got["snapshot gzip"]["encoding"] == "gzip" and got["snapshot"]["vary"] == "Accept-Encoding"


def run_cleanup(address, component):
    """POST /cleanup over TCP: the events' shapes, then GET /stats's."""
    hostport = address[len("http://"):]
    h, port = hostport.rsplit(":", 1)
    c = http.client.HTTPConnection(h, int(port), timeout=60)
    c.request("POST", "/cleanup?component=" + component, headers=dict(AUTH, **CLIENT))
    r = c.getresponse()
    assert r.status == 200, r.read()
    events = [json.loads(line) for line in r.read().splitlines() if line.strip()]
    c.close()
    c = http.client.HTTPConnection(h, int(port), timeout=60)
    c.request("GET", "/stats", headers=AUTH)
    stats = json.loads(c.getresponse().read())
    c.close()
    return events, stats


def cleanup_shapes(events, stats):
    base = lambda d: sorted(k for k in d if k != "error")  # noqa: E731 - error: present when a step failed
    kinds = sorted({next(iter(e)) for e in events})
    return {"kinds": kinds, "last kind": next(iter(events[-1])),
            "step": sorted({tuple(base(e["step"])) for e in events if "step" in e}),
            "summary": base(events[-1]["summary"]),
            "stats": sorted(stats),
            "last_cleanup": sorted(stats["last_cleanup"]),
            "unfinished": sorted({tuple(base(u)) for u in stats["last_cleanup"]["unfinished"]})}


def test_cleanup_stream_and_stats_shapes_as_the_go_server(go_server, py_server):
    # Last in this file: it destroys main_window in the Go server, which the
    # module's other tests use.
    want = cleanup_shapes(*run_cleanup(*go_server))
    got = cleanup_shapes(*run_cleanup(*py_server))
    assert want["kinds"] == ["step", "summary"] and want["last kind"] == "summary"
    assert want["summary"] == ["done", "elapsed_ms", "failed", "skipped", "steps", "timed_out"]
    assert want["last_cleanup"] == ["component", "done", "elapsed_ms", "steps", "unfinished", "unfinished_total"]
    # The Go registry may leave steps unfinished where this one has none.
    want.pop("unfinished")
    assert got.pop("unfinished") in ([], [("component", "elapsed_ms", "id", "kind", "order", "status")])
    assert got == want
