"""The emergency cleanup runs rescoord's planned order, waits for workers
without busy-waiting, and runs at interpreter exit."""

import gc
import os
import subprocess
import sys
import threading

import rescoord
from rescoord import ResourceType

from rc_helpers import HERE


class Obj:
    def __init__(self, log=None, tag=""):
        self.log, self.tag = log, tag

    def cb(self):
        self.log.append("cb " + self.tag)


class CancellableWorker(threading.Thread):
    """Runs until cancelled; records when it stopped."""

    def __init__(self, name, log):
        super().__init__(name=name)
        self.stop_ev = threading.Event()
        self.log = log

    def cancel(self):
        self.stop_ev.set()

    def run(self):
        self.stop_ev.wait()
        self.log.append("stopped " + self.name)


class Closable:
    def __init__(self, name, log):
        self.name, self.log = name, log

    def close(self):
        self.log.append("closed " + self.name)


def build(svc, log):
    """A media-app-like registry: window, tabs, controllers, coordinators,
    workers using files, a destroyed tab with a leaked worker."""
    keep = []
    win = Obj(log, "window")
    svc.register_component(win, "main_window", "window")
    svc.register_cleanup(win, win.cb, priority=1)
    svc.track_resource(win, ResourceType.CUSTOM, threading.Timer(3600, lambda: None), name="autosave")
    keep.append(win)
    workers = []
    for tabname in ("media_tab", "copy_tab", "settings_tab"):
        tab = Obj(log, tabname)
        svc.register_component(tab, tabname, "tab", parent=win)
        svc.register_cleanup(tab, tab.cb, priority=0)
        ctl = Obj(log, tabname + "_ctl")
        svc.register_component(ctl, tabname + "_ctl", "controller", parent=tab)
        svc.register_cleanup(ctl, ctl.cb, priority=20)
        svc.register_cleanup(ctl, ctl.cb, priority=5)
        coord = Obj(log, tabname + "_workers")
        svc.register_component(coord, tabname + "_workers", "coordinator", parent=ctl)
        f = Closable(tabname + ".db", log)
        fid = svc.track_resource(coord, ResourceType.FILE_HANDLE, f, name=f.name)
        w = CancellableWorker(tabname + "-worker", log)
        w.start()
        workers.append(w)
        svc.track_resource(coord, ResourceType.WORKER, w, name=w.name, depends_on=[fid])
        svc.track_resource(ctl, ResourceType.MEMORY, None, 1024, name="buffer")
        keep += [tab, ctl, coord, f]
    # The media tab is closed: its objects die, its worker runs on.
    media = [o for o in keep if isinstance(o, Obj) and o.tag.startswith("media_tab")]
    for o in media:
        keep.remove(o)
    del media, o
    gc.collect()
    return keep, workers


def test_emergency_order_equals_rescoord_cleanup_dry_run(rc):
    svc = rescoord.ResourceManagementService(sweep_interval_s=0, emergency_cleanup_at_exit=False)
    log = []
    keep, workers = build(svc, log)
    assert any(c["state"] == "destroyed" for c in svc.snapshot()["components"])
    rep = svc.emergency_cleanup()
    want = [(s["kind"], s["id"]) for s in rc.plan(rep.snapshot)]
    assert rep.executed == want
    assert len(want) > 20 and rep.errors == [] and rep.still_running == []
    # Every worker has stopped when it returns, and each stopped before
    # the file it uses was closed.
    assert not any(w.is_alive() for w in workers)
    for tab in ("media_tab", "copy_tab", "settings_tab"):
        assert log.index("stopped %s-worker" % tab) < log.index("closed %s.db" % tab)
    # callbacks by priority, children first; the destroyed media tab has none
    cbs = [x for x in log if x.startswith("cb ")]
    assert cbs == ["cb settings_tab_ctl", "cb settings_tab_ctl", "cb copy_tab_ctl", "cb copy_tab_ctl",
                   "cb settings_tab", "cb copy_tab", "cb window"]
    assert svc.get_resource_count() == 0
    del keep


def test_emergency_cleanup_runs_at_exit_before_threads_are_joined():
    script = r'''
import sys, threading
sys.path.insert(0, sys.argv[1])
import rescoord
from rescoord import ResourceType
svc = rescoord.ResourceManagementService()
class Tab:
    def cleanup(self): print("callback", flush=True)
tab = Tab()
svc.register_component(tab, "tab", "tab")
svc.register_cleanup(tab, tab.cleanup)
stop = threading.Event()
class W(threading.Thread):
    def cancel(self): stop.set()
    def run(self):
        stop.wait()
        print("worker stopped", flush=True)
w = W()  # not a daemon: without the cleanup the interpreter would wait forever
w.start()
svc.track_resource(tab, ResourceType.WORKER, w)
print("main done", flush=True)
'''
    p = subprocess.run([sys.executable, "-c", script, os.path.dirname(HERE)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["main done", "callback", "worker stopped"]
