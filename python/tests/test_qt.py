"""With Qt: QObject components, QThread workers, QTimers, QProcess (real
ones, headless)."""

import gc
import sys
import threading

import pytest

import rescoord
from rescoord import ResourceType, _qt

from rc_helpers import rules

pytestmark = pytest.mark.skipif(not _qt.available(), reason="Qt is not available")

if _qt.available():
    QtCore = _qt.QtCore

    class LoopWorker(QtCore.QThread):
        """Runs an event loop: it ignores cancel, stops on quit."""

    class CancelWorker(QtCore.QThread):
        """Runs until cancelled."""

        def __init__(self, parent=None):
            super().__init__(parent)
            self.ev = threading.Event()
            self.cancelled = False

        def cancel(self):
            self.cancelled = True
            self.ev.set()

        def run(self):
            self.ev.wait()

    class Controller(QtCore.QObject, rescoord.ResourceControllerMixin):
        def __init__(self, svc, parent=None):
            super().__init__(parent)
            self.initialize_resources("controller", rescoord.WorkerResourceCoordinator, svc)
            self.timer = QtCore.QTimer()
            self.timer.timeout.connect(self.tick)
            self.timer.start(60000)
            self.resources.track_resource(ResourceType.QOBJECT, self.timer, name="progress-timer")

        def tick(self):
            pass


def started(w):
    w.start()
    assert w.isRunning() or w.wait(0) is False
    return w


def test_qobject_component_destroyed_signal_marks_it_destroyed(qapp, svc):
    win = QtCore.QObject()
    svc.register_component(win, "win", "window")
    tab = QtCore.QObject(win)  # no parent=: the QObject parent chain says
    svc.register_component(tab, "tab", "tab")
    svc.track_resource(tab, ResourceType.MEMORY, None, 10, name="buf")
    snap = svc.snapshot()
    assert {c["id"]: c.get("parent") for c in snap["components"]} == {"win": None, "tab": "win"}
    tab.deleteLater()
    svc.flush()
    snap = svc.snapshot()
    c = {c["id"]: c for c in snap["components"]}["tab"]
    assert c["state"] == "destroyed" and c["destroyed_at"] >= c["created_at"]
    del tab, win


def test_qt_types_are_refined_and_running_is_read_live(qapp, svc, rc):
    owner = QtCore.QObject()
    svc.register_component(owner, "o", "controller")
    timer = QtCore.QTimer()
    proc = QtCore.QProcess()
    th = LoopWorker()
    ids = [svc.track_resource(owner, ResourceType.QOBJECT, timer),
           svc.track_resource(owner, ResourceType.QOBJECT, proc),
           svc.track_resource(owner, ResourceType.QOBJECT, th),
           svc.track_resource(owner, ResourceType.WORKER, LoopWorker())]
    res = {r["id"]: r for r in svc.snapshot()["resources"]}
    assert [res[i]["type"] for i in ids] == ["timer", "process", "thread", "worker"]
    assert [res[i]["running"] for i in ids] == [False, False, False, False]
    timer.start(60000)
    th.start()
    proc.start(sys.executable, ["-c", "import sys; sys.stdin.read()"])
    assert proc.waitForStarted(10000)
    res = {r["id"]: r for r in svc.snapshot()["resources"]}
    assert [res[i]["running"] for i in ids[:3]] == [True, True, True]
    rc.validate(svc.snapshot())
    rep = svc.cleanup_component(owner, force=True)
    assert rep.still_running == [] and not th.isRunning() and not timer.isActive()
    assert proc.state() == QtCore.QProcess.ProcessState.NotRunning
    assert svc.get_resource_count() == 0


def test_forgotten_qt_controller_and_its_worker_are_visible(qapp, svc, rc):
    tab = QtCore.QObject()
    svc.register_component(tab, "tab", "tab")
    ctl = Controller(svc)
    w = CancelWorker()
    ctl.resources.track_worker(w, name="analysis-worker")
    w.start()
    ctl_id = svc.get_component_id(ctl)
    assert ctl_id == "controller"
    tab.deleteLater()
    del ctl  # forgotten: nothing pins it, so it is collected
    gc.collect()
    svc.flush()
    snap = svc.snapshot()
    rc.validate(snap)
    states = {c["id"]: c["state"] for c in snap["components"]}
    assert states == {"controller": "destroyed", "controller.resources": "destroyed"}
    got = rules(rc.leaks(snap))
    assert ("running-orphan", "r-1") in got  # the worker, still running
    w.cancel()
    assert w.wait(10000)
    svc.flush()
    assert svc.get_resource_count() == 0 or all(
        r["type"] == "timer" for r in svc.snapshot()["resources"])


def test_worker_coordinator_releases_on_finished_and_cancels(qapp, svc):
    owner = QtCore.QObject()
    coord = rescoord.WorkerResourceCoordinator("workers", svc).bind_to_component(owner)
    a, b = CancelWorker(), LoopWorker()
    coord.track_worker(a)
    rb = coord.track_worker(b, auto_cleanup=False)
    a.start()
    b.start()
    assert set(coord.get_active_workers()) == {a, b}
    assert coord.cancel_all_workers(5000) == []
    assert a.cancelled and not a.isRunning() and not b.isRunning()
    svc.flush()
    assert coord.get_resource_count() == 0
    assert coord.wait_for_worker(rb, 0) is True


def test_worker_coordinator_cleanup_all_leaves_a_running_worker_releasing(qapp, svc):
    owner = QtCore.QObject()
    coord = rescoord.WorkerResourceCoordinator("workers", svc).bind_to_component(owner)
    w = CancelWorker()
    # a worker that needs time after cancel: it is asked, and not waited for
    w.cancel = lambda: None
    rid = coord.track_worker(w)
    w.start()
    coord.cleanup_all()
    r = svc.snapshot()["resources"]
    assert [(x["id"], x["state"], x["running"]) for x in r] == [(rid, "releasing", True)]
    w.ev.set()
    assert coord.wait_for_worker(w, 10000)
    svc.flush()
    assert svc.get_resource_count() == 0


def test_qobject_worker_moved_to_a_thread(qapp, svc):
    owner = QtCore.QObject()
    svc.register_component(owner, "o", "controller")
    th = QtCore.QThread()
    worker = QtCore.QObject()
    worker.moveToThread(th)
    rid = svc.track_resource(owner, ResourceType.WORKER, worker, name="moved")
    th.start()
    assert [r["running"] for r in svc.snapshot()["resources"]] == [True]
    rep = svc.cleanup_component(owner, force=True)
    assert rep.executed[0] == ("resource", rid) and not th.isRunning()


def test_ui_coordinator_tracks_child_timers(qapp, svc):
    widget = QtCore.QObject()
    t = QtCore.QTimer(widget)
    named = QtCore.QObject(widget)
    named.setObjectName("status-bar")
    QtCore.QObject(widget)  # unnamed plain child: not tracked
    ui = rescoord.UIResourceCoordinator("ui", svc)
    ui.register_ui_component(widget, name="panel")
    types = sorted((r["type"], r["name"]) for r in svc.snapshot()["resources"])
    assert types == [("qobject", "panel"), ("qobject", "status-bar"), ("timer", "QTimer")]
    del t, named


def test_sweep_runs_on_a_qtimer_on_the_gui_thread(qapp):
    s = rescoord.ResourceManagementService(sweep_interval_s=60, emergency_cleanup_at_exit=False)
    try:
        s.register_component(QtCore.QObject(), "x")
        assert s._sweeper[0] == "qt" and s._sweeper[1].isActive()
    finally:
        s.close()


def test_emergency_cleanup_with_qthreads_equals_binary_order(qapp, rc):
    svc = rescoord.ResourceManagementService(sweep_interval_s=0, emergency_cleanup_at_exit=False)
    win = QtCore.QObject()
    svc.register_component(win, "main_window", "window")
    keep, threads = [win], []
    for name in ("a", "b"):
        tab = QtCore.QObject(win)
        svc.register_component(tab, name + "_tab", "tab")
        ctl = Controller(svc, tab)
        w, loop = CancelWorker(), LoopWorker()
        ctl.resources.track_worker(w)
        ctl.resources.track_worker(loop)
        w.start()
        loop.start()
        threads += [w, loop]
        keep += [tab, ctl]
    rep = svc.emergency_cleanup()
    assert rep.executed == [(s["kind"], s["id"]) for s in rc.plan(rep.snapshot)]
    assert not any(t.isRunning() for t in threads) and rep.still_running == []
    del keep


def test_service_survives_qt_deleting_its_signal_object(qapp):
    # PyQt deletes unparented QObjects when the QApplication is destroyed,
    # before the emergency cleanup runs at exit: emitting then must not crash.
    s = rescoord.ResourceManagementService(sweep_interval_s=0, emergency_cleanup_at_exit=False)
    owner = QtCore.QObject()
    s.register_component(owner, "o")
    w = CancelWorker()
    s.track_resource(owner, ResourceType.WORKER, w)
    w.start()
    if _qt.API == "PyQt6":
        from PyQt6 import sip
        sip.delete(s._qsignals)
    else:
        import shiboken6
        shiboken6.delete(s._qsignals)
    s.track_resource(owner, ResourceType.MEMORY, None, 1)
    rep = s.emergency_cleanup()
    assert rep.still_running == [] and not w.isRunning() and w.cancelled


def test_a_worker_released_in_its_finished_signal_is_kept_until_it_has_ended(qapp, svc):
    # Dropping the last reference to a QThread while it is finishing runs
    # ~QThread, which waits for the finish holding the GIL that Python slots
    # on finished need: the example app deadlocked that way under load.
    owner = QtCore.QObject()
    coord = rescoord.WorkerResourceCoordinator("w", svc).bind_to_component(owner)
    t = LoopWorker()
    coord.track_worker(t)  # auto_cleanup: released on finished, on t's thread
    seen = []
    t.finished.connect(lambda: seen.append(any(x is t for x in svc._graveyard) and t.isFinished()),
                       QtCore.Qt.ConnectionType.DirectConnection)
    t.start()
    t.quit()
    assert t.wait(10000)
    assert seen == [True]  # released, yet held: isFinished() already says True
    assert svc.get_resource_count() == 0
    svc.flush()
    assert svc._graveyard == []  # let go of once wait(0) says it has ended
