"""The Python server passes `rescoord attach-check` (docs/attach-protocol.md),
over a unix socket found through discovery and over TCP with a token."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

from rescoord import ResourceType

TOKEN = "attach-check-token"


class Window:
    pass


@pytest.fixture
def xdg():
    # Short: the socket's path must fit in 108 bytes.
    d = tempfile.mkdtemp(prefix="rcpy")
    os.chmod(d, 0o700)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def app(svc):
    win = Window()
    svc.register_component(win, "main_window", "window")
    svc.track_resource(win, ResourceType.MEMORY, None, 64, name="buffer")
    yield svc
    del win


def attach_check(rescoord_bin, xdg, target, token=None):
    env = dict(os.environ, XDG_RUNTIME_DIR=xdg, NO_COLOR="1")
    env.pop("RESCOORD_TOKEN", None)
    if token:
        env["RESCOORD_TOKEN"] = token
    text = subprocess.run([rescoord_bin, "attach-check", target], capture_output=True, text=True, env=env,
                          timeout=120)
    js = subprocess.run([rescoord_bin, "attach-check", "-o", "json", target], capture_output=True, text=True,
                        env=env, timeout=120)
    return text, js


def check_passed(text, js):
    assert text.returncode == 0, text.stdout + text.stderr
    assert js.returncode == 0, js.stdout + js.stderr
    report = json.loads(js.stdout)
    assert report["failed"] == 0
    assert [c["name"] for c in report["checks"] if not c["ok"]] == []
    lines = text.stdout.splitlines()
    assert lines[-1] == "%d checks, 0 failed" % len(report["checks"])
    assert all(line.startswith("ok   ") for line in lines[:-1]), text.stdout
    return [c["name"] for c in report["checks"]]


def test_unix_socket_from_discovery(app, rescoord_bin, xdg):
    h = app.serve(runtime_dir=os.path.join(xdg, "rescoord"), process_name="pyapp-check", cleanup_endpoint=True,
                  gui_thread=False)
    try:
        names = check_passed(*attach_check(rescoord_bin, xdg, "pyapp-check"))
        names_by_path = check_passed(*attach_check(rescoord_bin, xdg, h.address))
    finally:
        h.close()
    assert names[:3] == ["discovery file " + h.discovery_path, "runtime directory " + os.path.join(xdg, "rescoord"),
                         "socket " + h.socket_path]
    for want in ("GET /snapshot", "GET /metrics", "GET /snapshot, Origin: https://example.com",
                 'discovery file "token"', "POST /cleanup without component"):
        assert want in names
    assert "socket " + h.socket_path in names_by_path
    assert app.get_resource_count() == 1  # nothing was cleaned up


def test_tcp_with_a_token(app, rescoord_bin, xdg):
    h = app.serve(address="127.0.0.1:0", token=TOKEN, cleanup_endpoint=True,
                  runtime_dir=os.path.join(xdg, "rescoord"), process_name="pyapp-check", gui_thread=False)
    port = h.address.rsplit(":", 1)[1]
    try:
        names = check_passed(*attach_check(rescoord_bin, xdg, "pyapp-check", token=TOKEN))
        check_passed(*attach_check(rescoord_bin, xdg, h.address, token=TOKEN))
        no_token = subprocess.run([rescoord_bin, "attach-check", h.address], capture_output=True, text=True,
                                  env=dict(os.environ, XDG_RUNTIME_DIR=xdg, RESCOORD_TOKEN=""), timeout=120)
    finally:
        h.close()
    for want in ("GET /snapshot, Host: rescoord-attach-check.example:" + port, "GET /snapshot, Host: localhost:" + port,
                 "GET /snapshot without the token", "GET /snapshot with a wrong token",
                 "GET /snapshot, scheme bearer in lower case", 'discovery file "token"',
                 "POST /cleanup over TCP without X-Rescoord-Client"):
        assert want in names
    assert no_token.returncode == 2 and "requires a token" in no_token.stderr, no_token.stderr
    assert app.get_resource_count() == 1
