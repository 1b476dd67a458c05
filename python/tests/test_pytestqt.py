"""The pytest plugin alongside pytest-qt: one test file whose tests use both
qtbot and rescoord_service, with a real QTimer and a real QThread, run with
pytester in a subprocess.  The leak is caught after pytest-qt's teardown,
and the clean test passes."""

import os

import pytest

from rescoord import _qt

from rc_helpers import HERE

pytest_plugins = ["pytester"]

PKG = os.path.dirname(HERE)


def _pytestqt_importable():
    try:
        import pytestqt.plugin  # noqa: F401
    except ImportError:
        return False
    return True


_why = None
if not _qt.available():
    _why = "Qt (PyQt6 or PySide6) is not available"
elif not _pytestqt_importable():
    _why = "pytest-qt is not installed"
if _why and os.environ.get("RESCOORD_REQUIRE_QT"):
    raise RuntimeError("RESCOORD_REQUIRE_QT=1 but " + _why)
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

QT_APP = '''
import pytest
from rescoord import ResourceType, _qt

QtCore = _qt.QtCore


class Tab(QtCore.QObject):
    pass


class Worker(QtCore.QThread):
    """Runs an event loop until quit: a real QThread."""

    def __init__(self):
        super().__init__()
        self.setObjectName("analysis-worker")


def open_tab(svc, qtbot, name):
    tab = Tab()
    tab.setObjectName(name)
    svc.register_component(tab, name, "tab")
    timer = QtCore.QTimer()
    timer.setObjectName("progress-timer")
    svc.track_resource(tab, ResourceType.QOBJECT, timer)
    with qtbot.waitSignal(timer.timeout, timeout=5000):  # it really fires
        timer.start(5)
    w = Worker()
    with qtbot.waitSignal(w.started, timeout=5000):
        w.start()
    svc.track_resource(tab, ResourceType.WORKER, w)
    return tab, timer, w


def test_tab_closed_but_its_worker_runs(qtbot, rescoord_service):
    tab, timer, w = open_tab(rescoord_service, qtbot, "media_tab")
    assert w.isRunning() and timer.isActive()
    rescoord_service.unregister_component(tab)  # closed; the worker and timer are forgotten


def test_tab_cleaned_up(qtbot, rescoord_service):
    tab, timer, w = open_tab(rescoord_service, qtbot, "clean_tab")
    report = rescoord_service.cleanup_component(tab, force=True)
    assert not report.still_running
    assert w.wait(5000) and not w.isRunning() and not timer.isActive()
    qtbot.waitUntil(lambda: rescoord_service.get_resource_count(tab) == 0, timeout=5000)
'''


@pytest.fixture
def run(pytester, monkeypatch, rescoord_bin):
    monkeypatch.setenv("PYTHONPATH", PKG + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("RESCOORD_BIN", rescoord_bin)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    if _qt.API:
        monkeypatch.setenv("RESCOORD_QT", _qt.API)
        monkeypatch.setenv("PYTEST_QT_API", _qt.API.lower())  # both on the same binding

    def _run(*args):
        extra = ["-p", "rescoord.pytest_plugin", "-p", "no:cacheprovider"]
        if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
            extra += ["-p", "pytestqt.plugin"]
        return pytester.runpytest_subprocess(*(extra + list(args)))

    return _run


def test_leak_is_caught_with_qtbot(pytester, run):
    pytester.makepyfile(test_qt_app=QT_APP)
    r = run("-rA")
    out = r.stdout.str()
    r.assert_outcomes(passed=2, failed=1)  # the leak is one more failure, after the call passed
    assert "LEAKED test_qt_app.py::test_tab_closed_but_its_worker_runs" in out
    assert "PASSED test_qt_app.py::test_tab_cleaned_up" in out
    assert "running-orphan" in out and 'worker "analysis-worker"' in out
    assert "(tab, media_tab)  destroyed" in out
    assert "LEAKED test_qt_app.py::test_tab_cleaned_up" not in out
    assert 'timer "progress-timer"' in out
    assert r.ret == 1  # failures, and a clean exit: the leaked QThread was stopped at exit


def test_clean_file_passes_with_qtbot(pytester, run):
    pytester.makepyfile(test_qt_app=QT_APP)
    r = run("-k", "cleaned_up", "-rA")
    r.assert_outcomes(passed=1, deselected=1)
    assert r.ret == 0
