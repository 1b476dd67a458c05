"""ResourceManagementService without Qt objects (runs with and without Qt)."""

import gc
import os
import stat
import threading

import pytest

import rescoord
from rescoord import ComponentState, ResourceType

from rc_helpers import rules


class Tab:
    pass


class Controller(rescoord.ResourceControllerMixin):
    def __init__(self, svc, tab):
        self.initialize_resources("controller", rescoord.WorkerResourceCoordinator, svc, parent=tab)
        self.saved = 0

    def save(self):
        self.saved += 1


class StubbornWorker(threading.Thread):
    """A worker that stops only when released: it ignores nothing, but it
    runs until its event is set."""

    def __init__(self):
        super().__init__(name="analysis-worker", daemon=True)
        self.go_on = threading.Event()
        self.cancelled = threading.Event()

    def cancel(self):
        self.cancelled.set()

    def run(self):
        self.go_on.wait()


def test_forgotten_controller_is_collected_and_its_running_worker_is_a_running_orphan(svc, rc):
    tab = Tab()
    svc.register_component(tab, "media_tab", "tab")
    ctl = Controller(svc, tab)
    svc.register_cleanup(ctl, ctl.save, priority=5)
    w = StubbornWorker()
    w.start()
    ctl.resources.track_worker(w)
    del ctl, tab  # the tab is closed; nothing else holds the controller
    gc.collect()
    snap = svc.snapshot()
    rc.validate(snap)
    by_id = {c["id"]: c for c in snap["components"]}
    assert by_id["controller"]["state"] == "destroyed" and "destroyed_at" in by_id["controller"]
    assert by_id["media_tab"]["state"] == "destroyed"
    assert snap["cleanups"] == []  # the bound method was held weakly
    rep = rc.leaks(snap)
    assert rules(rep) == [("running-orphan", "r-1")]
    assert rep["findings"][0]["path"] == ["media_tab", "controller", "controller.resources", "r-1"]
    w.go_on.set()
    w.join()
    gc.collect()
    # The worker finished: it is released (auto cleanup), and the tombstones go.
    svc.sweep()
    assert svc.snapshot()["components"] == [] and svc.get_resource_count() == 0


def test_repeated_ids_become_id_hash_n_and_tombstones_step_aside(svc):
    a, b, c = Tab(), Tab(), Tab()
    assert svc.register_component(a, "Tab", "tab") == "Tab"
    assert svc.register_component(b, "Tab", "tab") == "Tab#2"
    assert svc.register_component(b, "Tab", "tab") == "Tab#2"  # same object: same id
    svc.track_resource(a, ResourceType.MEMORY, None, 5, name="kept")
    del a
    gc.collect()
    assert svc.register_component(c, "Tab", "tab") == "Tab"
    ids = sorted((x["id"], x["state"]) for x in svc.snapshot()["components"])
    assert ids == [("Tab", "alive"), ("Tab#2", "alive"), ("Tab#3", "destroyed")]
    res = svc.snapshot()["resources"]
    assert [(r["owner"], r["name"]) for r in res] == [("Tab#3", "kept")]


def test_types_are_refined_from_the_live_object(svc, tmp_path):
    tab = Tab()
    svc.register_component(tab, "t", "tab")
    th = threading.Thread(target=lambda: None)
    timer = threading.Timer(60, lambda: None)
    f = open(os.path.join(str(tmp_path), "x"), "w")
    ids = [svc.track_resource(tab, ResourceType.CUSTOM, th),
           svc.track_resource(tab, ResourceType.WORKER, threading.Thread(target=lambda: None)),
           svc.track_resource(tab, ResourceType.CUSTOM, timer),
           svc.track_resource(tab, ResourceType.MEMORY, f),
           svc.track_resource(tab, ResourceType.THUMBNAIL, None, 7),
           svc.track_resource(tab, "pool", None)]
    types = {r["id"]: r["type"] for r in svc.snapshot()["resources"]}
    assert [types[i] for i in ids] == ["thread", "worker", "timer", "file", "thumbnail", "pool"]
    f.close()


def test_creation_stack_has_application_frames_only(svc):
    tab = Tab()
    svc.register_component(tab, "t", "tab")

    def start_analysis():
        return svc.track_resource(tab, ResourceType.MEMORY, None, 1)

    start_analysis()
    frames = svc.snapshot()["resources"][0]["created_by"]
    assert frames[0].startswith("test_service.py:")
    assert frames[0].endswith("start_analysis")
    assert frames[1].endswith("test_creation_stack_has_application_frames_only")
    assert not any(f.startswith(("service.py", "coordinators.py")) for f in frames)
    assert len(frames) <= 8


def test_worker_stays_releasing_until_it_has_finished(svc):
    tab = Tab()
    svc.register_component(tab, "t", "tab")
    w = StubbornWorker()
    w.start()
    rid = svc.track_resource(tab, ResourceType.WORKER, w)
    rep = svc.cleanup_component(tab)  # not forced: asks, does not wait
    assert w.cancelled.is_set()
    assert rep.executed == [("resource", rid), ("component", "t")]
    snap = svc.snapshot()
    assert [(r["id"], r["state"], r["running"]) for r in snap["resources"]] == [(rid, "releasing", True)]
    assert [(c["id"], c["state"]) for c in snap["components"]] == [("t", "destroyed")]
    w.go_on.set()
    w.join()
    svc.sweep()
    assert svc.get_resource_count() == 0 and svc.snapshot()["components"] == []


def test_limits_are_on_subtree_bytes_and_signal(svc, rc):
    seen = []
    svc.memory_threshold_exceeded.connect(lambda cid, used, lim: seen.append((cid, used, lim)))
    tab, ctl = Tab(), Tab()
    svc.register_component(tab, "tab", "tab")
    svc.register_component(ctl, "ctl", "controller", parent=tab)
    svc.set_memory_limit("tab", 100)
    svc.track_resource(ctl, ResourceType.MEMORY, None, 60)
    assert seen == []
    svc.track_resource(ctl, ResourceType.MEMORY, None, 60)
    assert seen == [("tab", 120, 100)]
    svc.set_global_memory_limit(110)
    assert seen[-1] == ("", 120, 110)
    snap = svc.snapshot()
    assert snap["limits"] == {"global_bytes": 110, "components": {"tab": 100}}
    assert rules(rc.leaks(snap)) == [("over-component-limit", "tab"), ("over-global-limit", None)]
    assert svc.get_memory_usage()["components"]["tab"] == {"bytes": 0, "subtree_bytes": 120,
                                                           "limit_bytes": 100}


def test_signals_are_emitted(svc):
    got = []
    svc.component_registered.connect(lambda *a: got.append(("reg",) + a))
    svc.resource_tracked.connect(lambda *a: got.append(("tracked",) + a))
    svc.resource_released.connect(lambda *a: got.append(("released",) + a))
    svc.component_cleanup.connect(lambda *a: got.append(("cleanup",) + a))
    tab = Tab()
    svc.register_component(tab, "t", "tab")
    rid = svc.track_resource(tab, ResourceType.MEMORY, None, 1)
    assert svc.release_resource(tab, rid) is True
    assert svc.release_resource(tab, rid) is False
    svc.cleanup_component(tab)
    assert got == [("reg", "t", "tab"), ("tracked", "t", "r-1", "memory"),
                   ("released", "t", "r-1"), ("cleanup", "t")]


def test_managed_resource_yields_and_releases(svc, tmp_path):
    tab = Tab()
    svc.register_component(tab, "t", "tab")
    f = open(os.path.join(str(tmp_path), "f"), "w")
    with svc.managed_resource(tab, ResourceType.FILE_HANDLE, f, name="f") as got:
        assert got is f
        assert svc.get_resource_count(tab) == 1
    assert f.closed and svc.get_resource_count(tab) == 0
    with svc.managed_resource(tab, ResourceType.MEMORY, size_bytes=9) as rid:
        assert rid.startswith("r-") and svc.get_memory_usage()["total_bytes"] == 9
    assert svc.get_memory_usage()["total_bytes"] == 0


def test_component_state_and_statistics(svc):
    tab = Tab()
    svc.register_component(tab, "t", "tab")
    assert svc.get_component_state(tab) is ComponentState.LOADED
    svc.set_component_state(tab, ComponentState.ACTIVE)
    assert svc.get_component_state("t") is ComponentState.ACTIVE
    svc.track_resource(tab, ResourceType.MEMORY, None, 3)
    st = svc.get_statistics()
    assert (st["components"], st["resources"], st["total_bytes"]) == (1, 1, 3)
    assert st["resources_by_type"] == {"memory": 1}
    svc.unregister_component(tab)
    assert svc.get_component_state(tab) is ComponentState.DESTROYED
    assert svc.get_statistics()["tombstones"] == 1


def test_cleanup_callbacks_bound_methods_are_weak_and_run_by_priority(svc):
    calls = []

    class C:
        def a(self):
            calls.append("a")

        def b(self):
            calls.append("b")

    c = C()
    svc.register_component(c, "c", "controller")
    svc.register_cleanup(c, c.a, priority=1)
    svc.register_cleanup(c, c.b, priority=10)
    svc.cleanup_component(c)
    assert calls == ["b", "a"]


def test_thread_safety_many_threads_track_and_release(svc):
    tab = Tab()
    svc.register_component(tab, "t", "tab")
    errors = []
    start = threading.Barrier(4)

    def work():
        try:
            start.wait()
            for _ in range(300):
                rid = svc.track_resource(tab, ResourceType.MEMORY, None, 1)
                assert svc.release_resource(tab, rid)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == [] and svc.get_resource_count() == 0
    assert svc.get_statistics()["resources_tracked"] == 1200


def test_snapshot_validates_and_subtree_snapshot_has_no_parent(svc, rc):
    root, tab = Tab(), Tab()
    svc.register_component(root, "root", "window")
    svc.register_component(tab, "tab", "tab", parent="root", labels={"plugin": "media"})
    svc.track_resource(tab, ResourceType.MEMORY, None, 4, {"k": [1, object()]}, depends_on=["r-9"])
    svc.register_cleanup(tab, lambda: None, 3, timeout_ms=100)
    snap = svc.snapshot()
    rc.validate(snap)
    assert [c["id"] for c in snap["components"]] == ["root", "tab"]
    sub = svc.snapshot("tab")
    rc.validate(sub)
    assert [c.get("parent") for c in sub["components"]] == [None]
    assert sub["components"][0]["labels"] == {"plugin": "media", "state": "loaded"}
    assert rules(rc.leaks(sub)) == [("dangling-dependency", "r-1")]


def test_write_snapshot_is_atomic_0600_and_refuses_symlinks(svc, tmp_path, rc):
    p = str(tmp_path / "s.json")
    svc.write_snapshot(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    rc.run("validate", p)
    target = tmp_path / "target"
    target.write_text("keep")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with pytest.raises(ValueError, match="symbolic link"):
        svc.write_snapshot(str(link))
    assert target.read_text() == "keep"
    assert sorted(os.listdir(str(tmp_path))) == ["link.json", "s.json", "target"]


def test_module_level_snapshot_functions(svc):
    tab = Tab()
    svc.register_component(tab, "t", "tab")
    rescoord.flush(svc)
    assert rescoord.snapshot(svc)["components"][0]["id"] == "t"


def test_unweakrefable_component_is_refused(svc):
    class Slotted:
        __slots__ = ()

    with pytest.raises(TypeError, match="weakly"):
        svc.register_component(Slotted(), "s")


def test_controller_mixin_raises_before_initialize():
    class C(rescoord.ResourceControllerMixin):
        pass

    with pytest.raises(RuntimeError, match="Resources not initialized"):
        C().resources
