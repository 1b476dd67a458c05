"""The example app under rescoord's pytest plugin: a clean session passes,
and the --leak session's test fails on its leak, with the trace."""

import json
import os
import re
import signal
import subprocess
import sys
import threading

from mediaapp import MainWindow, scripted_session

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.dirname(HERE)
PYTHON = os.path.join(os.path.dirname(os.path.dirname(APP)), "python")


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = PYTHON + os.pathsep + APP
    e.setdefault("QT_QPA_PLATFORM", "offscreen")
    return e


def run_child(args, timeout=120):
    """Run a Python child; if it hangs, SIGABRT makes faulthandler print
    every thread's stack into the failure."""
    p = subprocess.Popen([sys.executable, "-X", "faulthandler"] + args, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGABRT)
        out, err = p.communicate()
        raise AssertionError("%s hung:\n%s" % (args, err))
    return p.returncode, out, err


def test_closing_tabs_cleans_everything_up(rescoord_service, qapp):
    # Checked by the plugin after teardown: no leak may remain.
    window = MainWindow(rescoord_service)
    tabs = [window.open_tab() for _ in range(3)]
    workers = [t.controller.worker for t in tabs]
    assert [t.tab_id for t in tabs] == ["media_tab", "media_tab#2", "media_tab#3"]
    assert all(w.isRunning() for w in workers)
    del tabs
    window.shutdown()
    for w in workers:
        assert w.wait(5000)  # the cancelled workers finish; no polling
    window.deleteLater()


def test_the_plugin_catches_the_leak_mode_leak():
    code, out, err = run_child(["-m", "pytest", "-p", "rescoord.pytest_plugin", "-p", "no:cacheprovider",
                                "-rA", os.path.join(HERE, "leak_scenario.py")], timeout=300)
    assert code == 1, out + err
    assert "LEAKED " in out and "leak_scenario.py::test_user_closes_tabs_in_leak_mode" in out
    assert 'CRITICAL running-orphan ×2 · worker "analysis-worker"' in out
    assert 'CRITICAL running-orphan ×2 · timer "progress-timer"' in out
    assert "└─ MediaAnalysisTab (tab, media_tab#2)  destroyed" in out
    assert re.search(r"mediaapp\.py:\d+ MediaAnalysisController\.start_analysis", out)
    assert "1 failed, 1 passed" in out or "1 passed, 1 failed" in out


def test_leak_mode_snapshot_by_file(tmp_path):
    bin_ = os.environ.get("RESCOORD_BIN") or "rescoord"
    results = {}
    for mode in ("clean", "leak"):
        snap = str(tmp_path / (mode + ".json"))
        args = [os.path.join(APP, "mediaapp.py"), "--script", "--snapshot", snap]
        if mode == "leak":
            args.append("--leak")
        code, _, err = run_child(args)
        assert code == 0, err
        p = subprocess.run([bin_, "leaks", snap, "-o", "json"], capture_output=True, text=True)
        results[mode] = (p.returncode, sorted({f["rule"] for f in json.loads(p.stdout)["findings"]}))
    assert results["clean"] == (0, [])
    assert results["leak"] == (1, ["orphaned-resource", "running-orphan"])


def test_scripted_session_in_process(rescoord_service, qapp):
    window = MainWindow(rescoord_service)
    scripted_session(window, tabs=2)
    for r in rescoord_service.snapshot(rescoord_service.get_component_id(window))["resources"]:
        w = rescoord_service.get_resource(r["id"])
        if r["type"] == "worker":
            assert w.wait(5000)
    window.shutdown()
    window.deleteLater()


def test_leak_mode_by_attach(rescoord_service, qapp, tmp_path):
    """`rescoord leaks --attach` on the live app: the GUI thread answers the
    snapshot request from its event loop while the client runs."""
    from PyQt6 import QtCore

    window = MainWindow(rescoord_service, leak=True)
    scripted_session(window, tabs=4)
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    name = "pyqt-mediaapp-test-%d" % os.getpid()
    result = {}
    with rescoord_service.serve(process_name=name, runtime_dir=str(xdg / "rescoord")):
        loop = QtCore.QEventLoop()

        class Done(QtCore.QObject):
            sig = QtCore.pyqtSignal()

        done = Done()
        done.sig.connect(loop.quit)

        def client():
            e = dict(os.environ, XDG_RUNTIME_DIR=str(xdg))
            result["p"] = subprocess.run([os.environ.get("RESCOORD_BIN") or "rescoord", "leaks",
                                          "--attach", name, "-o", "json"],
                                         capture_output=True, text=True, env=e, timeout=60)
            done.sig.emit()

        t = threading.Thread(target=client)
        t.start()
        loop.exec()
        t.join()
    p = result["p"]
    assert p.returncode == 1, p.stderr
    rules = sorted({f["rule"] for f in json.loads(p.stdout)["findings"]})
    assert rules == ["orphaned-resource", "running-orphan"]
    # Not a leak of this test: the leaked tabs' workers are stopped here.
    window.shutdown()
    for r in rescoord_service.snapshot(flush=False)["resources"]:
        w = rescoord_service.get_resource(r["id"])
        if r["type"] == "worker" and w is not None:
            assert w.wait(5000)
    window.deleteLater()
