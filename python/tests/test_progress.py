"""What blocks exit right now: the progress of a running cleanup in the
POST /cleanup stream and in GET /stats, the report of the last cleanup,
and skipped steps counted apart with why (docs/attach.md, "What blocks
exit right now"; docs/attach-protocol.md, "GET /stats", "POST /cleanup").

A step that "runs" is a worker blocked on an Event the test releases once
it has seen what it checks: nothing here waits for time to pass."""

import http.client
import json
import os
import re
import socket
import subprocess
import threading

import pytest

import rescoord
from rescoord import ResourceType, _qt
from rescoord import planner as P
from rescoord.service import describe_step, go_millis, skipped_because


class Comp:
    pass


class Blocker(threading.Thread):
    """A worker that ignores cancel: it runs until released."""

    def __init__(self, name="blocker"):
        super().__init__(name=name, daemon=True)
        self.started_ev = threading.Event()
        self.release = threading.Event()

    def run(self):
        self.started_ev.set()
        self.release.wait()


# --- the planner's hard-constraint predecessors and who waits ----------------------


def small_registry():
    # win > tab > (gone, destroyed) > leaf; tab has a callback, a worker r-1
    # and a buffer r-2 that the worker uses (r-1 depends on r-2).
    return {
        "format": "rescoord/v1", "taken_at": "2026-12-02T12:00:00Z",
        "components": [
            {"id": "win", "state": "alive", "created_at": "2026-12-02T11:00:00Z"},
            {"id": "tab", "parent": "win", "state": "alive", "created_at": "2026-12-02T11:00:01Z"},
            {"id": "gone", "parent": "tab", "state": "destroyed", "created_at": "2026-12-02T11:00:02Z"},
            {"id": "leaf", "parent": "gone", "state": "alive", "created_at": "2026-12-02T11:00:03Z"},
        ],
        "resources": [
            {"id": "r-1", "type": "worker", "owner": "tab", "state": "active", "name": "analysis",
             "depends_on": ["r-2"], "created_at": "2026-12-02T11:00:05Z"},
            {"id": "r-2", "type": "memory", "owner": "tab", "state": "active",
             "created_at": "2026-12-02T11:00:04Z"},
            {"id": "r-3", "type": "file", "owner": "win", "state": "active",
             "created_at": "2026-12-02T11:00:06Z"},
        ],
        "cleanups": [{"id": "c-1", "component": "tab", "priority": 0, "name": "save"}],
    }


def test_after_lists_the_direct_hard_predecessors(rc):
    snap = small_registry()
    steps = P.plan(snap)
    assert [(s["order"], s["kind"], s["id"]) for s in steps] == [(s["order"], s["kind"], s["id"])
                                                                  for s in rc.plan(snap)]
    by = {(s["kind"], s["id"]): s for s in steps}
    order = {k: s["order"] for k, s in by.items()}
    # Worked out by hand from docs/cleanup-ordering.md's hard constraints:
    assert [(s["kind"], s["id"]) for s in steps] == [
        ("component", "leaf"), ("callback", "c-1"), ("resource", "r-1"), ("resource", "r-2"),
        ("component", "tab"), ("resource", "r-3"), ("component", "win")]
    assert by["component", "leaf"]["after"] == []
    assert by["callback", "c-1"]["after"] == []
    # a resource: its component's callbacks
    assert by["resource", "r-1"]["after"] == [order["callback", "c-1"]]
    # ... and the resources that depend on it
    assert by["resource", "r-2"]["after"] == [order["callback", "c-1"], order["resource", "r-1"]]
    # a component: its callbacks, its resources, its nearest alive descendants
    # (leaf, below the destroyed gone)
    assert by["component", "tab"]["after"] == sorted(
        [order["component", "leaf"], order["callback", "c-1"], order["resource", "r-1"],
         order["resource", "r-2"]])
    assert by["resource", "r-3"]["after"] == []
    assert by["component", "win"]["after"] == [order["component", "tab"], order["resource", "r-3"]]
    assert by["resource", "r-1"]["name"] == "analysis" and by["callback", "c-1"]["name"] == "save"
    assert by["resource", "r-2"]["name"] == "r-2"


def test_waiting_on_follows_the_hard_constraints_transitively():
    steps = P.plan(small_registry())
    ids = lambda ss: [s["id"] for s in ss]  # noqa: E731
    w, n = P.waiting_on(steps, 2)  # r-1: the buffer r-2 it uses, then tab, then win
    assert ids(w) == ["r-2", "tab", "win"] and n == 3
    w, n = P.waiting_on(steps, 0)  # leaf: tab, then win; not r-3
    assert ids(w) == ["tab", "win"] and n == 2
    w, n = P.waiting_on(steps, 5)  # r-3: win only
    assert ids(w) == ["win"] and n == 1
    w, n = P.waiting_on(steps, 6)
    assert w == [] and n == 0
    w, n = P.waiting_on(steps, 1, limit=2)
    assert ids(w) == ["r-1", "r-2"] and n == 4


def test_go_wording_of_durations_and_skipped_because():
    assert [go_millis(x) for x in (0, 7, 999, 1000, 1500, 2250, 60000, 61001, 3600000)] == [
        "0s", "7ms", "999ms", "1s", "1.5s", "2.25s", "1m0s", "1m1.001s", "1h0m0s"]
    steps = P.plan(small_registry())
    assert describe_step(steps[2]) == 'resource r-1 (worker "analysis" of tab)'
    assert describe_step(steps[3]) == "resource r-2 (memory of tab)"
    assert describe_step(steps[1]) == 'callback c-1 ("save" of tab)'
    assert describe_step(steps[0]) == "component leaf"
    why = skipped_because(steps[3:], "context deadline exceeded", (steps[2], 300),
                          [(steps[1], 5000), (steps[2], 300)])
    assert why == ('cleanup budget ran out (context deadline exceeded) during step 3, resource r-1 '
                   '(worker "analysis" of tab), after 300ms: 4 steps not run: resource r-2, component tab, '
                   'resource r-3, component win; time lost to steps that reached their timeout: step 2, '
                   'callback c-1 ("save" of tab), 5s (timeout 5s)')
    many = [dict(steps[3], id="r-%d" % i) for i in range(7)]
    assert skipped_because(many[:1], "x", None, []) == "cleanup budget ran out (x): 1 step not run: resource r-0"
    assert skipped_because(many, "x", None, []).endswith("resource r-4, … and 2 more")


# --- the stream and /stats, served ---------------------------------------------------


class Client:
    """Raw HTTP over the server's unix socket."""

    def __init__(self, handle):
        self.path = handle.socket_path

    def conn(self):
        c = http.client.HTTPConnection("localhost", timeout=60)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(self.path)
        c.sock = s
        return c

    def stats(self):
        c = self.conn()
        c.request("GET", "/stats")
        doc = json.loads(c.getresponse().read())
        c.close()
        return doc

    def cleanup(self, component, timeout=None):
        """The events of POST /cleanup, one at a time, as they come."""
        c = self.conn()
        q = "/cleanup?component=" + component + ("&timeout=" + timeout if timeout else "")
        c.request("POST", q)
        r = c.getresponse()
        assert r.status == 200 and r.getheader("Content-Type") == "application/x-ndjson"
        for line in r:
            yield json.loads(line)
        c.close()


def build(svc, worker_type=ResourceType.THREAD, worker=None, timeout_ms=30000):
    win, tab = Comp(), Comp()
    svc.register_component(win, "win", "window")
    svc.register_component(tab, "tab", "tab", parent=win)
    svc.register_cleanup(tab, lambda: None, name="save")
    buf = svc.track_resource(tab, ResourceType.MEMORY, None, 64, name="buffer")  # r-1
    b = worker if worker is not None else Blocker()
    b.start()
    # the worker uses the buffer: the buffer waits for it
    rid = svc.track_resource(tab, worker_type, b, name="blocker", cleanup={"timeout_ms": timeout_ms},
                             depends_on=[buf])
    return win, tab, b, rid


def read_until_running(events, rid):
    """Events up to the first progress that shows rid running."""
    seen = []
    for ev in events:
        seen.append(ev)
        run = ev.get("progress", {}).get("running")
        if run and run["id"] == rid:
            return seen
        assert "summary" not in ev, seen
    raise AssertionError("the stream ended without progress: %r" % seen)


def check_progress(p, rid):
    assert p["component"] == "win" and p["steps"] == 5 and p["done"] == 1 and p["elapsed_ms"] >= 0
    run = p["running"]
    assert {k: run[k] for k in ("order", "kind", "id", "component", "timeout_ms")} == {
        "order": 2, "kind": "resource", "id": rid, "component": "tab", "timeout_ms": 30000}
    assert run["elapsed_ms"] >= 0
    # the buffer it uses, then tab, then win wait on it
    assert run["waiting"] == [{"order": 3, "kind": "resource", "id": "r-1", "component": "tab"},
                              {"order": 4, "kind": "component", "id": "tab", "component": "tab"},
                              {"order": 5, "kind": "component", "id": "win", "component": "win"}]
    assert run["waiting_total"] == 3


def test_progress_while_a_step_runs_and_stats(svc, tmp_path):
    win, tab, b, rid = build(svc)
    with svc.serve(cleanup_endpoint=True, discovery=False, runtime_dir=str(tmp_path), gui_thread=False,
                   progress_interval=0.01) as h:
        cl = Client(h)
        st = cl.stats()
        assert "cleanups_in_progress" not in st and "last_cleanup" not in st
        events = cl.cleanup("win")
        seen = read_until_running(events, rid)
        assert [e["step"]["id"] for e in seen if "step" in e] == ["c-1"]
        check_progress(seen[-1]["progress"], rid)
        st = cl.stats()  # while the worker still runs
        assert len(st["cleanups_in_progress"]) == 1 and "last_cleanup" not in st
        check_progress(st["cleanups_in_progress"][0], rid)
        assert svc.cleanups_in_progress()[0]["running"]["id"] == rid
        b.release.set()
        rest = list(events)
        steps = [e["step"] for e in rest if "step" in e]
        assert [(s["order"], s["id"], s["status"]) for s in steps] == [
            (2, rid, "done"), (3, "r-1", "done"), (4, "tab", "done"), (5, "win", "done")]
        assert all("waiting" not in s for s in steps)
        summary = rest[-1]["summary"]
        assert {k: summary[k] for k in ("steps", "done", "failed", "timed_out", "skipped")} == {
            "steps": 5, "done": 5, "failed": 0, "timed_out": 0, "skipped": 0}
        assert "skipped_because" not in summary and "error" not in summary
        st = cl.stats()
        assert "cleanups_in_progress" not in st
        last = st["last_cleanup"]
        assert {k: last[k] for k in ("component", "steps", "done", "unfinished", "unfinished_total")} == {
            "component": "win", "steps": 5, "done": 5, "unfinished": [], "unfinished_total": 0}
    b.join()


def test_budget_skips_steps_and_says_why(svc, tmp_path):
    win, tab = Comp(), Comp()
    svc.register_component(win, "win", "window")
    svc.register_component(tab, "tab", "tab", parent=win)
    r_buf = svc.track_resource(tab, ResourceType.MEMORY, None, 8, name="buffer")
    slow = Blocker("slow")
    slow.start()
    r_slow = svc.track_resource(tab, ResourceType.THREAD, slow, cleanup={"timeout_ms": 40}, depends_on=[r_buf])
    stuck = Blocker("stuck")
    stuck.start()
    r_stuck = svc.track_resource(tab, ResourceType.THREAD, stuck, cleanup={"timeout_ms": 60000},
                                 depends_on=[r_buf])
    steps = P.plan(svc.snapshot(flush=False), "win")
    # newest first among threads: stuck, then slow; then the buffer they use
    assert [s["id"] for s in steps] == [r_stuck, r_slow, r_buf, "tab", "win"]
    # stuck ignores cancel: the 250ms budget, not its own minute, bounds its wait
    with svc.serve(cleanup_endpoint=True, discovery=False, runtime_dir=str(tmp_path),
                   gui_thread=False) as h:
        evs = list(Client(h).cleanup("win", timeout="250ms"))
    stuck.release.set()
    slow.release.set()
    steps = [e["step"] for e in evs if "step" in e]
    assert [(s["id"], s["status"]) for s in steps] == [
        (r_stuck, "timed_out"), (r_slow, "skipped"), (r_buf, "skipped"), ("tab", "skipped"),
        ("win", "skipped")]
    first = steps[0]
    assert first["error"] == "still running when the cleanup budget ran out"
    assert first["waiting"] == [{"order": 3, "kind": "resource", "id": r_buf, "component": "tab"},
                                {"order": 4, "kind": "component", "id": "tab", "component": "tab"},
                                {"order": 5, "kind": "component", "id": "win", "component": "win"}]
    assert first["waiting_total"] == 3
    summary = evs[-1]["summary"]
    assert {k: summary[k] for k in ("steps", "done", "failed", "timed_out", "skipped")} == {
        "steps": 5, "done": 0, "failed": 0, "timed_out": 1, "skipped": 4}
    assert re.fullmatch(r"cleanup budget ran out \(context deadline exceeded\) during step 1, resource %s "
                        r'\(thread "stuck" of tab\), after \d+ms: 4 steps not run: resource %s, resource %s, '
                        r"component tab, component win" % (r_stuck, r_slow, r_buf),
                        summary["skipped_because"]), summary["skipped_because"]
    assert all(s["error"] == summary["skipped_because"] for s in steps[1:])
    last = svc.last_cleanup()
    assert last.skipped == 4 and last.done == 0 and last.skipped_because == summary["skipped_because"]
    assert [u["id"] for u in last.to_json()["unfinished"]] == [s["id"] for s in steps]
    slow.join()
    stuck.join()


def test_time_lost_to_steps_that_reached_their_timeout(svc):
    win, tab = Comp(), Comp()
    svc.register_component(win, "win", "window")
    svc.register_component(tab, "tab", "tab", parent=win)
    slow = Blocker("slow")
    slow.start()
    stuck = Blocker("stuck")
    stuck.start()
    r_stuck = svc.track_resource(tab, ResourceType.THREAD, stuck, cleanup={"timeout_ms": 60000})
    r_slow = svc.track_resource(tab, ResourceType.THREAD, slow, cleanup={"timeout_ms": 30})
    # slow (newer) runs first to its own 30ms timeout, then stuck runs out the budget
    rep = svc.cleanup_component(win, force=True, timeout_s=0.5)
    slow.release.set()
    stuck.release.set()
    got = [(u["id"], u["status"]) for u in rep.unfinished]
    assert got == [(r_slow, "timed_out"), (r_stuck, "timed_out"), ("tab", "skipped"), ("win", "skipped")]
    assert rep.unfinished[0]["error"] == "still running after 30 ms"
    assert rep.unfinished[0]["waiting"] == [{"order": 3, "kind": "component", "id": "tab", "component": "tab"},
                                            {"order": 4, "kind": "component", "id": "win", "component": "win"}]
    assert re.fullmatch(r"cleanup budget ran out \(context deadline exceeded\) during step 2, resource %s "
                        r'\(thread "stuck" of tab\), after \d+ms: 2 steps not run: component tab, component win; '
                        r'time lost to steps that reached their timeout: step 1, resource %s \(thread "slow" of tab\), '
                        r"\d+ms \(timeout 30ms\)" % (r_stuck, r_slow), rep.skipped_because), rep.skipped_because
    slow.join()
    stuck.join()


def test_emergency_cleanup_reports_what_it_did_not_finish(svc):
    win = Comp()
    svc.register_component(win, "win", "window")
    b = Blocker()
    b.start()
    rid = svc.track_resource(win, ResourceType.THREAD, b, name="blocker", cleanup={"timeout_ms": 20})
    svc.track_resource(win, ResourceType.MEMORY, None, 8)

    def boom():
        raise RuntimeError("disk full")

    svc.register_cleanup(win, boom, name="save")
    rep = svc.emergency_cleanup()
    b.release.set()
    assert rep is svc.last_emergency and rep is svc.last_cleanup()
    assert rep.component is None and rep.steps == 4 and rep.done == 2 and not rep.finished
    assert [(u["kind"], u["id"], u["status"], u["error"]) for u in rep.unfinished] == [
        ("callback", "c-1", "failed", "RuntimeError: disk full"),
        ("resource", rid, "timed_out", "still running after 20 ms")]
    assert rep.unfinished[1]["waiting"] == [{"order": 4, "kind": "component", "id": "win", "component": "win"}]
    doc = rep.to_json()
    assert "component" not in doc and doc["unfinished_total"] == 2 and doc["steps"] == 4
    assert svc.stats()["last_cleanup"] == doc
    assert rep.skipped == 0 and rep.skipped_because is None
    b.join()


def test_last_cleanup_lists_at_most_50_unfinished(svc):
    win = Comp()
    svc.register_component(win, "win", "window")

    def boom():
        raise ValueError("no")

    for _ in range(60):
        svc.register_cleanup(win, boom)
    svc.cleanup_component(win, force=True)
    doc = svc.stats()["last_cleanup"]
    assert len(doc["unfinished"]) == 50 and doc["unfinished_total"] == 60 and doc["done"] == 1


# --- with Qt: a QThread blocks the GUI thread's cleanup; progress still flows ---------


@pytest.mark.skipif(not _qt.available(), reason="Qt is not available")
def test_progress_from_a_gui_thread_cleanup_with_qthreads(qapp, svc, tmp_path):
    qc = _qt.QtCore
    release = threading.Event()

    class QtWorker(qc.QThread):
        def run(self):
            release.wait()

    win, tab = Comp(), Comp()
    svc.register_component(win, "win", "window")
    svc.register_component(tab, "tab", "tab", parent=win)
    svc.register_cleanup(tab, lambda: None, name="save")
    th = QtWorker()
    th.start()
    buf = svc.track_resource(tab, ResourceType.MEMORY, None, 64, name="buffer")
    rid = svc.track_resource(tab, ResourceType.WORKER, th, name="blocker", cleanup={"timeout_ms": 30000},
                             depends_on=[buf])
    timer = qc.QTimer()
    timer.start(60000)
    svc.track_resource(win, ResourceType.QOBJECT, timer)  # refined to a timer
    loop = qc.QEventLoop()
    out = {}

    def client(h):
        try:
            cl = Client(h)
            events = cl.cleanup("win")
            seen = read_until_running(events, rid)
            out["progress"] = seen[-1]["progress"]
            out["stats"] = cl.stats()  # the GUI thread is blocked in the QThread's wait
            out["gui_blocked"] = th.isRunning()
            release.set()
            out["rest"] = list(events)
            out["after"] = cl.stats()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            out["error"] = e
            release.set()
        finally:
            qc.QMetaObject.invokeMethod(loop, "quit", qc.Qt.ConnectionType.QueuedConnection)

    with svc.serve(cleanup_endpoint=True, discovery=False, runtime_dir=str(tmp_path), gui_thread=True,
                   progress_interval=0.01) as h:
        t = threading.Thread(target=client, args=(h,), daemon=True)
        t.start()
        guard = qc.QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(loop.quit)
        guard.start(60000)  # a hung test fails rather than hangs
        loop.exec()
        guard.stop()
        t.join(60)
    assert "error" not in out, out.get("error")
    p = out["progress"]
    assert p["component"] == "win" and p["steps"] == 6 and p["running"]["id"] == rid
    assert [w["id"] for w in p["running"]["waiting"]] == [buf, "tab", "win"]
    assert out["gui_blocked"]
    assert out["stats"]["cleanups_in_progress"][0]["running"]["id"] == rid
    steps = [e["step"] for e in out["rest"] if "step" in e]
    assert all(s["status"] == "done" for s in steps) and len(steps) == 5
    assert out["rest"][-1]["summary"]["done"] == 6
    assert out["after"]["last_cleanup"]["unfinished_total"] == 0
    assert "cleanups_in_progress" not in out["after"]
    assert not th.isRunning() and not timer.isActive()


# --- end to end: the rescoord binary shows what blocks -----------------------------------


def test_cli_cleanup_shows_what_blocks_and_watch_shows_the_cleanup(svc, rc, tmp_path):
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(xdg), NO_COLOR="1")
    win, tab, b, rid = build(svc)
    with svc.serve(cleanup_endpoint=True, runtime_dir=str(xdg / "rescoord"), gui_thread=False,
                   process_name="pyprog-e2e", progress_interval=0.05) as h:
        p = subprocess.Popen([rc.path, "cleanup", "--attach", h.address, "--component", "win", "--yes"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lines = []
        try:
            for line in p.stdout:
                lines.append(line)
                if "running for" in line:
                    break
            # The worker is still blocked: watch sees the cleanup in progress.
            w = subprocess.run([rc.path, "watch", "--attach", h.address, "--count", "1"], capture_output=True,
                               text=True, env=env, timeout=60)
        finally:
            b.release.set()
        rest, err = p.communicate(timeout=60)
    out = "".join(lines) + rest
    prog = [ln for ln in lines if "running for" in ln]
    assert prog, out + err
    assert re.search(r"…\s+2\. resource\s+%s\s+running for \S+ of its 30s · step 2 of 5 · waiting on it: " % rid,
                     prog[0]), prog[0]
    assert prog[0].rstrip().endswith("waiting on it: 3. resource r-1, 4. component tab, 5. component win"), prog[0]
    assert w.returncode in (0, 1), w.stderr
    assert "cleaning up win · 1 of 5 steps done" in w.stdout, w.stdout
    assert "running 2. resource %s for" % rid in w.stdout, w.stdout
    assert "waiting on it:" in w.stdout, w.stdout
    assert p.returncode == 0, out + err
    assert "5 steps: 5 done, 0 failed, 0 timed out" in out, out
    b.join()
