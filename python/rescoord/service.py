"""ResourceManagementService: the central registry of a Python or Qt app.

See docs/python.md.  The registry holds components weakly (a weakref whose
callback holds only the service, weakly, and the record), keeps destroyed
components as tombstones while they still own live resources, and writes
rescoord/v1 snapshots (docs/snapshot-format.md).  Its cleanup follows the
plan of docs/cleanup-ordering.md (rescoord.planner), the same order as
`rescoord cleanup --dry-run`.
"""

import atexit
import collections
import contextlib
import enum
import gc
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import weakref

from . import _qt
from . import planner as _plan
from .osobject import os_metadata

log = logging.getLogger("rescoord")

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
MAX_FRAMES = 8
DEFAULT_SWEEP_INTERVAL_S = 5.0


class ResourceType(enum.Enum):
    MEMORY = "memory"
    FILE_HANDLE = "file_handle"
    THREAD = "thread"
    QOBJECT = "qobject"
    THUMBNAIL = "thumbnail"
    MAP = "map"
    WORKER = "worker"
    CUSTOM = "custom"


# The snapshot type of each ResourceType (docs/snapshot-format.md, types).
_SNAPSHOT_TYPE = {
    ResourceType.MEMORY: "memory",
    ResourceType.FILE_HANDLE: "file",
    ResourceType.THREAD: "thread",
    ResourceType.QOBJECT: "qobject",
    ResourceType.THUMBNAIL: "thumbnail",
    ResourceType.MAP: "map",
    ResourceType.WORKER: "worker",
    ResourceType.CUSTOM: "custom",
}
_RUNNABLE = ("worker", "thread", "timer", "process")


class ComponentState(enum.Enum):
    LOADED = "loaded"
    INITIALIZED = "initialized"
    ACTIVE = "active"
    PAUSED = "paused"
    CLEANING = "cleaning"
    DESTROYED = "destroyed"


# --- signals without Qt -------------------------------------------------------


class _BoundSignal:
    """connect / disconnect / emit, like a Qt signal, for use without Qt."""

    def __init__(self):
        self._slots = []
        self._lock = threading.Lock()

    def connect(self, slot):
        with self._lock:
            self._slots.append(slot)

    def disconnect(self, slot=None):
        with self._lock:
            if slot is None:
                self._slots = []
            else:
                self._slots.remove(slot)

    def emit(self, *args):
        with self._lock:
            slots = list(self._slots)
        for s in slots:
            s(*args)


class PySignal:
    """A class attribute that gives each instance its own _BoundSignal."""

    def __init__(self, *types):
        self.types = types

    def __set_name__(self, owner, name):
        self.name = "_sig_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        sig = obj.__dict__.get(self.name)
        if sig is None:
            sig = obj.__dict__.setdefault(self.name, _BoundSignal())
        return sig


_SIGNALS = {
    "resource_tracked": (str, str, str),  # component id, resource id, type
    "resource_released": (str, str),  # component id, resource id
    "component_registered": (str, str),  # component id, component type
    "component_cleanup": (str,),  # component id
    "memory_threshold_exceeded": (str, object, object),  # component id ("": global), bytes, limit
}

if _qt.available():
    # The signals live on a helper QObject, not on the service: the service
    # must keep working (its emergency cleanup above all) when Qt has already
    # deleted its C++ objects at shutdown.
    _QtSignals = type("ResourceManagementSignals", (_qt.QtCore.QObject,),
                      {n: _qt.Signal(*t) for n, t in _SIGNALS.items()})
else:
    _QtSignals = None


# --- time, stacks -------------------------------------------------------------


def format_time(ns):
    """nanoseconds since the epoch → RFC 3339 UTC with nanoseconds."""
    secs, frac = divmod(ns, 1000000000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%09dZ" % frac


def _frame_name(frame):
    code = frame.f_code
    qual = getattr(code, "co_qualname", None)
    if qual:
        return qual
    self = frame.f_locals.get("self")
    if self is not None:
        return type(self).__name__ + "." + code.co_name
    return code.co_name


def _stdlib_dirs():
    import sysconfig

    dirs = set()
    for k in ("stdlib", "platstdlib"):
        p = sysconfig.get_paths().get(k)
        if p:
            dirs.add(os.path.join(p, ""))
    return tuple(dirs)


_STDLIB = _stdlib_dirs()
_SITE = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)
# Test runners: their frames, and every frame above them, are not the application's.
_RUNNER = tuple(os.sep + n + os.sep for n in ("_pytest", "pluggy", "pytestqt", "unittest"))


def capture_stack(skip_dirs=()):
    """The caller's stack, innermost first, as "file.py:88 Class.method":
    application frames only.  rescoord's own frames and the standard
    library's are cut; the stack ends at a test runner's frame (pytest,
    pluggy, unittest), whose callers are the runner's, not the app's."""
    frames = []
    f = sys._getframe(1)
    dirs = (os.path.join(_PKG_DIR, ""),) + tuple(skip_dirs)
    while f is not None and len(frames) < MAX_FRAMES:
        fn = f.f_code.co_filename
        if any(r in fn for r in _RUNNER):
            break
        lib = fn.startswith(_STDLIB) and not any(x in fn for x in _SITE)
        if not fn.startswith(dirs) and not lib and not fn.startswith("<frozen"):
            frames.append("%s:%d %s" % (os.path.basename(fn), f.f_lineno, _frame_name(f)))
        f = f.f_back
    return frames


# --- records ------------------------------------------------------------------


class _Comp:
    __slots__ = ("id", "name", "type", "parent", "children", "created", "destroyed",
                 "state", "ref", "key", "resources", "cleanups", "labels", "n_created", "n_released",
                 "__weakref__")

    def obj(self):
        return self.ref() if self.ref is not None else None


class _Res:
    __slots__ = ("id", "type", "owner", "name", "state", "size", "created", "depends_on",
                 "cleanup", "frames", "metadata", "ref", "strong", "auto", "__weakref__")

    def obj(self):
        if self.strong is not None:
            return self.strong
        return self.ref() if self.ref is not None else None


class _Cleanup:
    __slots__ = ("id", "component", "callback", "weak", "priority", "timeout_ms", "name")

    def fn(self):
        return self.callback() if self.weak else self.callback


class EmergencyReport:
    """What a cleanup (emergency, full or of a subtree) did and what it did
    not finish, and why (docs/python.md, "What a cleanup did not finish").

    snapshot, plan: the snapshot it planned from and the plan's steps;
    executed: (kind, id) of each step in the order they ran (skipped ones
    included); errors: (kind, id, message); still_running: resource ids
    that could not be stopped; results: (step, status, error, elapsed_ms).

    The report, as GET /stats serves it as last_cleanup: component (the
    root of the subtree, None for the whole registry), steps (the plan's
    length), done (steps that succeeded), elapsed_ms, unfinished (a step
    result dict for each step that failed, timed out or was skipped, in
    plan order: order, kind, id, component, status, error, elapsed_ms, and
    waiting / waiting_total for a step given up on while still running),
    skipped (how many), skipped_because (why, as the Go server words it;
    None when nothing was skipped), and finished (nothing unfinished)."""

    def __init__(self, snapshot, steps, component=None):
        self.snapshot = snapshot
        self.plan = steps
        self.executed = []  # (kind, id)
        self.errors = []  # (kind, id, message)
        self.still_running = []  # resource ids that could not be stopped
        self.results = []  # (step, status, error, elapsed_ms)
        self.component = component
        self.steps = len(steps)
        self.done = 0
        self.elapsed_ms = 0
        self.unfinished = []
        self.skipped = 0
        self.skipped_because = None

    @property
    def finished(self):
        return not self.unfinished

    def to_json(self, limit=50):
        """The last_cleanup object of GET /stats: at most limit unfinished
        steps, and unfinished_total."""
        out = {}
        if self.component is not None:
            out["component"] = self.component
        out.update({"steps": self.steps, "done": self.done, "elapsed_ms": self.elapsed_ms,
                    "unfinished": [dict(u) for u in self.unfinished[:limit]],
                    "unfinished_total": len(self.unfinished)})
        return out

    def __repr__(self):
        return "<EmergencyReport %s: %d of %d steps done, %d unfinished>" % (
            self.component or "whole registry", self.done, self.steps, len(self.unfinished))


def step_ref(st):
    """The wire form of a plan step's reference: order, kind, id, component."""
    return {"order": st["order"], "kind": st["kind"], "id": st["id"], "component": st["component"]}


def go_millis(ms):
    """A duration of ms milliseconds as Go's time.Duration prints it
    ("0s", "750ms", "1.5s", "2m0.25s", "1h0m0s")."""
    ms = int(ms)
    if ms == 0:
        return "0s"
    neg, ms = ms < 0, abs(ms)
    if ms < 1000:
        out = "%dms" % ms
    else:
        h, rest = divmod(ms, 3600000)
        m, rest = divmod(rest, 60000)
        sec, frac = divmod(rest, 1000)
        out = "%d" % sec
        if frac:
            out += ("." + "%03d" % frac).rstrip("0")
        out += "s"
        if h or m:
            out = "%dm" % m + out
        if h:
            out = "%dh" % h + out
    return "-" + out if neg else out


def describe_step(st):
    """What a step acts on, as the Go server's errors name it:
    'resource r-3 (worker "analysis" of tab)', 'callback c-1 (of tab)'."""
    out = "%s %s" % (st["kind"], st["id"])
    name = st.get("name")
    if name == st["id"]:
        name = None
    if st["kind"] == "resource":
        out += " (" + (st.get("type") or "")
        if name:
            out += " " + json.dumps(name, ensure_ascii=False)
        out += " of %s)" % st["component"]
    elif st["kind"] == "callback":
        out += " (" + (json.dumps(name, ensure_ascii=False) + " " if name else "") + "of %s)" % st["component"]
    return out


def skipped_because(not_run, cause, during, overran):
    """Why steps were skipped, worded as pkg/registry's SkippedError:
    not_run the steps not run, cause why the budget ran out, during the
    (step, elapsed_ms) the budget ran out during (or None), overran the
    (step, elapsed_ms) that ran until their own timeout or longer."""
    out = "cleanup budget ran out (%s)" % cause
    if during is not None:
        out += " during step %d, %s, after %s" % (during[0]["order"], describe_step(during[0]),
                                                 go_millis(during[1]))
    out += ": %d step%s not run: " % (len(not_run), "" if len(not_run) == 1 else "s")
    show = 5
    parts = []
    for i, st in enumerate(not_run):
        if i == show:
            parts.append("… and %d more" % (len(not_run) - show))
            break
        parts.append("%s %s" % (st["kind"], st["id"]))
    out += ", ".join(parts)
    n = 0
    for st, el in overran:
        if during is not None and st["order"] == during[0]["order"]:
            continue
        if n == show:
            out += ", …"
            break
        out += "; time lost to steps that reached their timeout: " if n == 0 else ", "
        n += 1
        out += "step %d, %s, %s (timeout %s)" % (st["order"], describe_step(st), go_millis(el),
                                                 go_millis(st["timeout_ms"]))
    return out


class _Run:
    """A cleanup in progress (guarded by the service's _prog_lock)."""

    __slots__ = ("component", "started", "steps", "cur", "cur_start", "done")

    def __init__(self, component, steps):
        self.component = component
        self.started = time.monotonic()
        self.steps = steps
        self.cur = -1
        self.cur_start = 0.0
        self.done = 0

    def progress(self, now):
        """Where the run stands at now, in the wire form of a progress object."""
        out = {}
        if self.component is not None:
            out["component"] = self.component
        out.update({"steps": len(self.steps), "done": self.done,
                    "elapsed_ms": int((now - self.started) * 1000)})
        if self.cur >= 0:
            st = self.steps[self.cur]
            waiting, total = _plan.waiting_on(self.steps, self.cur)
            out["running"] = dict(step_ref(st), elapsed_ms=int((now - self.cur_start) * 1000),
                                  timeout_ms=st["timeout_ms"], waiting=[step_ref(w) for w in waiting],
                                  waiting_total=total)
        return out


# --- the service --------------------------------------------------------------


def _snapshot_type(resource_type):
    if isinstance(resource_type, ResourceType):
        return _SNAPSHOT_TYPE[resource_type]
    if isinstance(resource_type, str) and resource_type:
        try:
            return _SNAPSHOT_TYPE[ResourceType(resource_type)]
        except ValueError:
            return resource_type
    raise TypeError("resource_type: a ResourceType or a non-empty string, not %r" % (resource_type,))


def refine_type(declared, obj):
    """The snapshot type of a resource, refined from the live object:
    a QTimer is a timer, a QProcess a process, a QThread or
    threading.Thread a thread (a worker when tracked as one)."""
    qc = _qt.QtCore
    if qc is not None and isinstance(obj, qc.QObject):
        if isinstance(obj, qc.QTimer):
            return "timer"
        if isinstance(obj, qc.QProcess):
            return "process"
        if isinstance(obj, qc.QThread):
            return "worker" if declared == "worker" else "thread"
        names = [c.__name__ for c in type(obj).__mro__]
        if "QAbstractSocket" in names or "QLocalSocket" in names:
            return "socket"
        if isinstance(obj, qc.QFileDevice):
            return "file"
        return declared
    if isinstance(obj, threading.Timer):
        return "timer"
    if isinstance(obj, threading.Thread):
        return "worker" if declared == "worker" else "thread"
    if isinstance(obj, subprocess.Popen):
        return "process"
    if isinstance(obj, socket.socket):
        return "socket"
    if isinstance(obj, io.IOBase):
        return "file"
    return declared


def _worker_thread(obj):
    """The QThread that runs a worker: the worker itself, or the thread a
    QObject worker was moved to (None when it lives on the GUI thread)."""
    qc = _qt.QtCore
    if qc is None or not isinstance(obj, qc.QObject) or _qt.is_deleted(obj):
        return None
    if isinstance(obj, qc.QThread):
        return obj
    th = obj.thread()
    app = qc.QCoreApplication.instance()
    if th is None or (app is not None and th == app.thread()):
        return None
    return th


def has_finished(obj):
    """Whether a worker or thread has been started and has finished."""
    qc = _qt.QtCore
    try:
        if qc is not None and isinstance(obj, qc.QObject):
            if _qt.is_deleted(obj):
                return True
            th = obj if isinstance(obj, qc.QThread) else _worker_thread(obj)
            return th is not None and th.isFinished()
    except RuntimeError:
        return True
    if isinstance(obj, threading.Thread):
        return obj.ident is not None and not obj.is_alive()
    return False


def is_running(obj):
    """Whether a live worker, thread, timer or process still runs."""
    if obj is None:
        return False
    qc = _qt.QtCore
    try:
        if qc is not None and isinstance(obj, qc.QObject):
            if _qt.is_deleted(obj):
                return False
            if isinstance(obj, qc.QTimer):
                return obj.isActive()
            if isinstance(obj, qc.QProcess):
                return obj.state() != qc.QProcess.ProcessState.NotRunning
            th = _worker_thread(obj)
            if th is not None:
                return th.isRunning()
        if isinstance(obj, threading.Thread):
            return obj.is_alive()
        if isinstance(obj, subprocess.Popen):
            return obj.poll() is None
        for attr in ("is_running", "isRunning", "is_alive"):
            m = getattr(obj, attr, None)
            if callable(m):
                return bool(m())
    except RuntimeError:  # a wrapper whose C++ object is gone
        return False
    return False


class ResourceManagementService:
    """The registry of components and the resources they own.

    Signals (Qt signals with Qt, else PySignal with the same connect, disconnect
    and emit): resource_tracked(component_id, resource_id, type),
    resource_released(component_id, resource_id),
    component_registered(component_id, component_type),
    component_cleanup(component_id), memory_threshold_exceeded(component_id
    or "" for the global limit, live_bytes, limit_bytes).
    """

    resource_tracked = PySignal(str, str, str)
    resource_released = PySignal(str, str)
    component_registered = PySignal(str, str)
    component_cleanup = PySignal(str)
    memory_threshold_exceeded = PySignal(str, object, object)

    def __init__(self, *, process_name=None, clock=None, sweep_interval_s=DEFAULT_SWEEP_INTERVAL_S,
                 emergency_cleanup_at_exit=True, parent=None):
        if _QtSignals is not None:
            self._qsignals = _QtSignals(parent)
            for n in _SIGNALS:
                setattr(self, n, getattr(self._qsignals, n))
        self._lock = threading.RLock()
        self._clock = clock or time.time_ns
        self._last_ns = 0
        self._comps = {}  # id -> _Comp (alive and tombstones)
        self._by_obj = {}  # id(obj) -> _Comp
        self._res = {}  # resource id -> _Res
        self._res_by_obj = {}  # id(obj) -> _Res
        self._cleanups = collections.OrderedDict()  # cleanup id -> _Cleanup
        self._next_res = 0
        self._next_cleanup = 0
        self._limits = {}
        self._global_limit = 0
        self._graveyard = []  # QThreads let go of once finished (see _bury)
        self._dead = collections.deque()  # ("comp"|"res", record, ns) from callbacks
        self._pending = []  # signals to emit once the lock is released
        self._process = process_name or _process_name()
        self._sweep_interval = sweep_interval_s
        self._sweeper = None
        self._stats = collections.Counter()
        self._by_type = {}  # type -> [created, released]
        self._closed = False
        self._default_parent = None  # see set_default_parent
        self.last_emergency = None
        self._prog_lock = threading.Lock()  # guards _runs and _last_cleanup only
        self._runs = []  # cleanups in progress (_Run), in the order they started
        self._last_cleanup = None  # the EmergencyReport of the cleanup that ended last
        if emergency_cleanup_at_exit:
            wself = weakref.ref(self)

            def _at_exit():
                s = wself()
                if s is not None and not s._closed:
                    try:
                        s.emergency_cleanup()
                    except Exception:  # noqa: BLE001 - never break the interpreter's exit
                        log.exception("rescoord: emergency cleanup failed")

            self._atexit = _at_exit
            # threading's hook runs before the interpreter joins non-daemon
            # threads (a worker waiting for cancel would otherwise hang the
            # exit before atexit ever ran); atexit is the fallback.
            reg = getattr(threading, "_register_atexit", None)
            try:
                if reg is None:
                    raise RuntimeError
                reg(_at_exit)
            except RuntimeError:
                atexit.register(_at_exit)
        else:
            self._atexit = None

    # -- time and locking

    def _now(self):
        ns = self._clock()
        if ns <= self._last_ns:  # strictly increasing, so LIFO order holds
            ns = self._last_ns + 1
        self._last_ns = ns
        return ns

    @contextlib.contextmanager
    def _locked(self):
        with self._lock:
            self._drain()
            yield
        if self._lock._is_owned():  # nested: the outermost emits
            return
        self._emit_pending()

    def _emit_pending(self):
        while True:
            with self._lock:
                if not self._pending:
                    return
                pending, self._pending = self._pending, []
            qs = getattr(self, "_qsignals", None)
            if qs is not None and _qt.is_deleted(qs):
                # PyQt deletes unparented QObjects when the QApplication
                # goes; emitting on one then would crash the process.
                continue
            for name, args in pending:
                try:
                    getattr(self, name).emit(*args)
                except RuntimeError:  # the signals' QObject is being deleted
                    pass

    def _emit(self, name, *args):
        self._pending.append((name, args))

    # -- lookups

    def _comp_of(self, component, required=True):
        if isinstance(component, _Comp):
            return component
        if isinstance(component, str):
            rec = self._comps.get(component)
        else:
            rec = self._by_obj.get(id(component))
            if rec is not None and rec.obj() is not component:
                rec = None
        if rec is None and required:
            raise KeyError("component not registered: %r" % (component,))
        return rec

    # -- weak references: callbacks only queue, the next call drains

    def _bury(self, obj):
        """Keep a QThread the registry lets go of until it has really ended.
        Its finished signal runs Python slots (ours among them) on its own
        thread while Qt still counts the thread as finishing; dropping the
        last reference then, on any thread, runs ~QThread, which waits for
        the finish holding the GIL that the slot needs: a deadlock (or an
        abort on the thread itself).  isFinished() and isRunning() already
        say "done" during the finish; wait(0) does not."""
        qc = _qt.QtCore
        if qc is not None and isinstance(obj, qc.QThread):
            self._graveyard.append(obj)

    def _drain(self):
        if self._graveyard:
            keep = []
            cur = _qt.QtCore.QThread.currentThread()
            for t in self._graveyard:
                try:
                    if t == cur or not t.wait(0):
                        keep.append(t)
                except RuntimeError:  # its C++ object is gone already
                    pass
            self._graveyard[:] = keep
        while self._dead:
            kind, rec, ns = self._dead.popleft()
            if kind == "comp":
                if self._by_obj.get(rec.key) is rec:
                    del self._by_obj[rec.key]
                self._mark_destroyed(rec, ns)
            else:
                if self._res.get(rec.id) is rec:
                    self._release(rec)

    def _queue_dead(self, kind, rec):
        self._dead.append((kind, rec, self._now()))

    # -- components

    def register_component(self, component, component_id, component_type="plugin", *,
                           parent=None, name=None, labels=None):
        """Register a component (held weakly) and return its id: component_id,
        or component_id#N when that id is taken."""
        if not isinstance(component_id, str) or not component_id:
            raise ValueError("component_id: a non-empty string")
        with self._locked():
            old = self._comp_of(component, required=False)
            if old is not None and old.state is not ComponentState.DESTROYED:
                return old.id
            if parent is not None:
                prec = self._comp_of(parent)
            else:
                prec = self._qt_parent(component)
                if prec is None and self._default_parent is not None:
                    dp = self._default_parent
                    if dp.state is not ComponentState.DESTROYED and dp.obj() is not component:
                        prec = dp
            rec = _Comp()
            rec.name = name or type(component).__name__
            rec.type = component_type
            rec.parent = prec
            rec.children = []
            rec.created = self._now()
            rec.destroyed = None
            rec.state = ComponentState.LOADED
            rec.resources = {}
            rec.cleanups = []
            rec.labels = dict(labels or {})
            rec.n_created = rec.n_released = 0
            wself = weakref.ref(self)

            def _gone(_ref, rec=rec):
                s = wself()
                if s is not None:
                    s._queue_dead("comp", rec)

            try:
                rec.ref = weakref.ref(component, _gone)
            except TypeError:
                raise TypeError("component %r cannot be weakly referenced; "
                                "give its class a __weakref__ slot" % (component_id,)) from None
            rec.id = self._assign_id(component_id)
            self._comps[rec.id] = rec
            rec.key = id(component)
            self._by_obj[rec.key] = rec
            if prec is not None:
                prec.children.append(rec)
            if _qt.is_qobject(component):
                self._connect_destroyed(component, "comp", rec)
            self._stats["components_registered"] += 1
            self._emit("component_registered", rec.id, component_type)
            self._start_sweeper()
            return rec.id

    def _assign_id(self, want):
        old = self._comps.get(want)
        if old is None:
            return want
        n = 2
        while (want + "#" + str(n)) in self._comps:
            n += 1
        alias = want + "#" + str(n)
        if old.state is ComponentState.DESTROYED:
            # As pkg/registry does: the tombstone steps aside, the new
            # component takes the id it asked for.
            del self._comps[want]
            old.id = alias
            self._comps[alias] = old
            return want
        return alias

    def _qt_parent(self, component):
        if not _qt.is_qobject(component):
            return None
        try:
            p = component.parent()
            while p is not None:
                rec = self._by_obj.get(id(p))
                if rec is not None and rec.obj() is p and rec.state is not ComponentState.DESTROYED:
                    return rec
                p = p.parent()
        except RuntimeError:
            pass
        return None

    def _connect_destroyed(self, qobj, kind, rec):
        wself = weakref.ref(self)
        wrec = weakref.ref(rec)

        def _destroyed(*_args):
            s, r = wself(), wrec()
            if s is not None and r is not None:
                s._queue_dead(kind, r)

        try:
            qobj.destroyed.connect(_destroyed, _qt.QtCore.Qt.ConnectionType.DirectConnection)
        except (TypeError, RuntimeError):
            qobj.destroyed.connect(_destroyed)

    def _mark_destroyed(self, rec, ns=None):
        if rec.state is ComponentState.DESTROYED:
            return
        rec.state = ComponentState.DESTROYED
        rec.destroyed = ns if ns is not None else self._now()
        for cb in rec.cleanups:
            self._cleanups.pop(cb.id, None)
        rec.cleanups = []
        self._stats["components_destroyed"] += 1
        self._prune(rec)

    def _prune(self, rec):
        """Drop tombstones that own nothing live and have no children left."""
        while rec is not None and rec.state is ComponentState.DESTROYED \
                and not rec.resources and not rec.children:
            if self._comps.get(rec.id) is rec:
                del self._comps[rec.id]
            p = rec.parent
            if p is not None and rec in p.children:
                p.children.remove(rec)
            rec = p

    def set_default_parent(self, component):
        """Components registered from now on without a parent (given, or
        found up the QObject parent chain) become children of component
        (None: roots again).  The pytest plugin gives each test its own
        root this way.  Returns the previous default parent's id."""
        with self._locked():
            old = self._default_parent
            self._default_parent = None if component is None else self._comp_of(component)
            return None if old is None else old.id

    def unregister_component(self, component):
        """The component is gone: it is marked destroyed, and kept as a
        tombstone while it still owns live resources."""
        with self._locked():
            rec = self._comp_of(component, required=False)
            if rec is None:
                return False
            self._mark_destroyed(rec)
            return True

    def set_component_state(self, component, state):
        if not isinstance(state, ComponentState):
            state = ComponentState(state)
        with self._locked():
            rec = self._comp_of(component)
            if state is ComponentState.DESTROYED:
                self._mark_destroyed(rec)
            elif rec.state is not ComponentState.DESTROYED:
                rec.state = state

    def get_component_state(self, component):
        with self._locked():
            rec = self._comp_of(component, required=False)
            return None if rec is None else rec.state

    def get_component_id(self, component):
        with self._locked():
            rec = self._comp_of(component, required=False)
            return None if rec is None else rec.id

    # -- resources

    def track_resource(self, component, resource_type, resource, size_bytes=None, metadata=None, *,
                       name=None, depends_on=(), cleanup=None):
        """Track a resource owned by component; returns its id (r-N), the
        id the snapshot shows."""
        declared = _snapshot_type(resource_type)
        if size_bytes is not None and (not isinstance(size_bytes, int) or size_bytes < 0):
            raise ValueError("size_bytes: an integer >= 0")
        frames = capture_stack()
        with self._locked():
            owner = self._comp_of(component)
            if owner.state is ComponentState.DESTROYED:
                raise ValueError("component %r is destroyed" % (owner.id,))
            rec = _Res()
            self._next_res += 1
            rec.id = "r-%d" % self._next_res
            rec.type = refine_type(declared, resource)
            rec.owner = owner
            rec.name = name or _default_name(resource, rec.type)
            rec.state = "active"
            rec.size = size_bytes
            rec.created = self._now()
            deps = []
            for d in depends_on or ():
                if not isinstance(d, str):
                    r = self._res_by_obj.get(id(d))
                    if r is None or r.obj() is not d:
                        raise KeyError("depends_on: %r is not tracked" % (d,))
                    d = r.id
                if d not in deps:
                    deps.append(d)
            rec.depends_on = deps
            rec.cleanup = dict(cleanup) if cleanup else None
            rec.frames = frames
            rec.metadata = metadata
            rec.ref = rec.strong = None
            rec.auto = False
            if resource is not None:
                self._hold(rec, resource)
                self._res_by_obj[id(resource)] = rec
            self._res[rec.id] = rec
            owner.resources[rec.id] = rec
            self._stats["resources_tracked"] += 1
            self._by_type.setdefault(rec.type, [0, 0])[0] += 1
            owner.n_created += 1
            self._emit("resource_tracked", owner.id, rec.id, rec.type)
            self._check_limits(owner)
            return rec.id

    def _hold(self, rec, resource):
        """Runnable resources are held strongly (a QThread collected while it
        runs aborts the process); others weakly when they can be, so that a
        collected resource is released."""
        wself = weakref.ref(self)

        def _gone(_ref, rec=rec):
            s = wself()
            if s is not None:
                s._queue_dead("res", rec)

        if rec.type in _RUNNABLE:
            rec.strong = resource
        else:
            try:
                rec.ref = weakref.ref(resource, _gone)
            except TypeError:
                rec.strong = resource
        if _qt.is_qobject(resource):
            self._connect_destroyed(resource, "res", rec)
            th = _worker_thread(resource)
            if th is not None and rec.type in ("worker", "thread"):
                wrec = weakref.ref(rec)

                def _finished(*_a):
                    s, r = wself(), wrec()
                    if s is not None and r is not None and r.state == "releasing":
                        s._queue_dead("res", r)

                th.finished.connect(_finished, _qt.QtCore.Qt.ConnectionType.DirectConnection)

    def release_resource(self, component, resource_id):
        """Stop tracking a resource; False when component does not own it."""
        with self._locked():
            owner = self._comp_of(component, required=False)
            rec = self._res.get(resource_id)
            if owner is None or rec is None or rec.owner is not owner:
                return False
            self._release(rec)
            return True

    def _release(self, rec):
        if self._res.get(rec.id) is not rec:
            return
        del self._res[rec.id]
        o = rec.obj()
        if o is not None and self._res_by_obj.get(id(o)) is rec:
            del self._res_by_obj[id(o)]
        else:
            for k, v in list(self._res_by_obj.items()):
                if v is rec:
                    del self._res_by_obj[k]
        rec.state = "released"
        self._bury(rec.strong if rec.strong is not None else o)
        rec.strong = None
        del o
        owner = rec.owner
        owner.resources.pop(rec.id, None)
        self._stats["resources_released"] += 1
        self._by_type.setdefault(rec.type, [0, 0])[1] += 1
        owner.n_released += 1
        self._emit("resource_released", owner.id, rec.id)
        self._prune(owner)

    def _set_releasing(self, rec):
        """A worker asked to stop stays `releasing` until it has finished."""
        if is_running(rec.obj()):
            rec.state = "releasing"
        else:
            self._release(rec)

    def release_when_finished(self, resource_id):
        """Release a worker or thread once it has run and finished (seen by
        the sweep and flush; coordinators also release on Qt's finished)."""
        with self._locked():
            rec = self._res.get(resource_id)
            if rec is not None:
                rec.auto = True

    def mark_finished(self, resource_id):
        """Release a resource that was asked to stop, if it no longer runs."""
        with self._locked():
            rec = self._res.get(resource_id)
            if rec is not None and not is_running(rec.obj()):
                self._release(rec)

    def resource_id_of(self, resource):
        with self._locked():
            rec = self._res_by_obj.get(id(resource))
            return rec.id if rec is not None and rec.obj() is resource else None

    def get_resource(self, resource_id):
        with self._locked():
            rec = self._res.get(resource_id)
            return None if rec is None else rec.obj()

    @contextlib.contextmanager
    def managed_resource(self, component, resource_type, resource=None, size_bytes=None,
                         metadata=None, *, name=None, depends_on=()):
        """Track resource for the with block; yields it (its id when resource
        is None).  On exit it is cleaned up by its strategy and released."""
        rid = self.track_resource(component, resource_type, resource, size_bytes, metadata,
                                  name=name, depends_on=depends_on)
        try:
            yield rid if resource is None else resource
        finally:
            with self._locked():
                rec = self._res.get(rid)
            if rec is not None:
                _run_strategy(rec, blocking=True)
                with self._locked():
                    self._release(rec)

    # -- cleanups

    def register_cleanup(self, component, callback, priority=0, *, name=None, timeout_ms=None):
        """A callback run before the component's resources are cleaned up,
        higher priority first.  Bound methods are held weakly."""
        if not callable(callback):
            raise TypeError("callback is not callable")
        with self._locked():
            owner = self._comp_of(component)
            cb = _Cleanup()
            self._next_cleanup += 1
            cb.id = "c-%d" % self._next_cleanup
            cb.component = owner
            if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
                cb.callback = weakref.WeakMethod(callback)
                cb.weak = True
            else:
                cb.callback = callback
                cb.weak = False
            cb.priority = int(priority)
            cb.timeout_ms = timeout_ms
            cb.name = name or getattr(callback, "__qualname__", None) or repr(callback)
            owner.cleanups.append(cb)
            self._cleanups[cb.id] = cb
            return cb.id

    # -- limits

    def set_memory_limit(self, component_id, limit_bytes):
        """Limit the live bytes of a component's subtree (0: no limit)."""
        with self._locked():
            if not limit_bytes:
                self._limits.pop(component_id, None)
            else:
                self._limits[component_id] = int(limit_bytes)
            rec = self._comps.get(component_id)
            if rec is not None:
                self._check_limits(rec)

    def set_global_memory_limit(self, limit_bytes):
        with self._locked():
            self._global_limit = int(limit_bytes or 0)
            self._check_limits(None)

    def _subtree_bytes(self, rec):
        total, todo = 0, [rec]
        while todo:
            c = todo.pop()
            total += sum(r.size or 0 for r in c.resources.values())
            todo.extend(c.children)
        return total

    def _check_limits(self, rec):
        while rec is not None:
            lim = self._limits.get(rec.id)
            if lim:
                used = self._subtree_bytes(rec)
                if used > lim:
                    self._stats["threshold_exceeded"] += 1
                    self._emit("memory_threshold_exceeded", rec.id, used, lim)
            rec = rec.parent
        if self._global_limit:
            used = sum(r.size or 0 for r in self._res.values())
            if used > self._global_limit:
                self._stats["threshold_exceeded"] += 1
                self._emit("memory_threshold_exceeded", "", used, self._global_limit)

    # -- queries

    def get_memory_usage(self):
        """{"total_bytes", "global_limit_bytes", "components": {id:
        {"bytes", "subtree_bytes", "limit_bytes"}}} of live resources."""
        with self._locked():
            comps = {}
            for cid, c in self._comps.items():
                comps[cid] = {"bytes": sum(r.size or 0 for r in c.resources.values()),
                              "subtree_bytes": self._subtree_bytes(c),
                              "limit_bytes": self._limits.get(cid, 0)}
            return {"total_bytes": sum(r.size or 0 for r in self._res.values()),
                    "global_limit_bytes": self._global_limit, "components": comps}

    def get_resource_count(self, component=None):
        """Live resources: of the whole registry, or owned by component."""
        with self._locked():
            if component is None:
                return len(self._res)
            rec = self._comp_of(component, required=False)
            return 0 if rec is None else len(rec.resources)

    def get_statistics(self):
        with self._locked():
            by_type = collections.Counter(r.type for r in self._res.values())
            alive = sum(1 for c in self._comps.values() if c.state is not ComponentState.DESTROYED)
            running = sum(1 for r in self._res.values() if r.type in _RUNNABLE and is_running(r.obj()))
            st = dict(self._stats)
            st.update({
                "components": alive,
                "tombstones": len(self._comps) - alive,
                "resources": len(self._res),
                "resources_by_type": dict(by_type),
                "running": running,
                "releasing": sum(1 for r in self._res.values() if r.state == "releasing"),
                "total_bytes": sum(r.size or 0 for r in self._res.values()),
                "cleanups": len(self._cleanups),
            })
            return st

    def stats(self):
        """The registry's counts, as `GET /stats` serves them (the same
        fields as pkg/registry's)."""
        with self._locked():
            by_type = {}
            for t, (created, released) in self._by_type.items():
                by_type[t] = {"active": 0, "releasing": 0, "live_bytes": 0,
                              "created": created, "released": released}
            for r in self._res.values():
                e = by_type.setdefault(r.type, {"active": 0, "releasing": 0, "live_bytes": 0,
                                                "created": 0, "released": 0})
                e[r.state] += 1
                e["live_bytes"] += r.size or 0
            by_comp = {}
            for cid, c in self._comps.items():
                d = {"destroyed": c.state is ComponentState.DESTROYED,
                     "live_resources": len(c.resources),
                     "live_bytes": sum(r.size or 0 for r in c.resources.values()),
                     "subtree_live_bytes": self._subtree_bytes(c),
                     "created": c.n_created, "released": c.n_released}
                if self._limits.get(cid):
                    d["limit_bytes"] = self._limits[cid]
                by_comp[cid] = d
            alive = sum(1 for c in self._comps.values() if c.state is not ComponentState.DESTROYED)
            out = {"taken_at": format_time(self._now()), "alive_components": alive,
                    "destroyed_components": len(self._comps) - alive,
                    "live_resources": len(self._res),
                    "releasing_resources": sum(1 for r in self._res.values() if r.state == "releasing"),
                    "live_bytes": sum(r.size or 0 for r in self._res.values()),
                    "global_limit_bytes": self._global_limit, "cleanups": len(self._cleanups),
                    "by_type": by_type, "by_component": by_comp}
            out.update(self._cleanup_state())
            return out

    def _cleanup_state(self):
        out = {}
        prog = self.cleanups_in_progress()
        if prog:
            out["cleanups_in_progress"] = prog
        last = self.last_cleanup()
        if last is not None:
            out["last_cleanup"] = last.to_json()
        return out

    def cleanups_in_progress(self):
        """Where each cleanup running now stands (the progress objects of
        docs/attach-protocol.md), in the order they started.  Safe from any
        thread at any time: it does not wait for the running step."""
        now = time.monotonic()
        with self._prog_lock:
            return [r.progress(now) for r in self._runs]

    def last_cleanup(self):
        """The EmergencyReport of the cleanup that ended last, or None."""
        with self._prog_lock:
            return self._last_cleanup

    def _progress_of(self, run):
        now = time.monotonic()
        with self._prog_lock:
            return run.progress(now)

    def serve(self, **options):
        """Serve the registry over the attach protocol (docs/attach-protocol.md)
        from threads of its own; returns at once with a handle that has
        address and close().  See rescoord.server.serve for the options."""
        from .server import serve

        return serve(self, **options)

    # -- sweep

    def sweep(self):
        """Find what the weak references and Qt signals have not reported:
        components and resources whose C++ object is gone, releasing workers
        that have finished; drop empty tombstones."""
        with self._locked():
            for rec in list(self._comps.values()):
                if rec.state is not ComponentState.DESTROYED:
                    o = rec.obj()
                    if o is None or _qt.is_deleted(o):
                        self._mark_destroyed(rec)
            for rec in list(self._res.values()):
                o = rec.obj()
                has_obj = rec.ref is not None or rec.strong is not None
                if has_obj and (o is None or _qt.is_deleted(o)):
                    self._release(rec)
                elif rec.state == "releasing" and not is_running(o):
                    self._release(rec)
                elif rec.auto and has_finished(o):
                    self._release(rec)
            for rec in list(self._comps.values()):
                self._prune(rec)

    def _start_sweeper(self):
        if self._sweeper is not None or not self._sweep_interval:
            return
        wself = weakref.ref(self)
        if _qt.on_gui_thread():
            t = _qt.QtCore.QTimer()
            t.setInterval(int(self._sweep_interval * 1000))

            def _tick():
                s = wself()
                if s is not None:
                    s.sweep()

            t.timeout.connect(_tick)
            t.start()
            self._sweeper = ("qt", t)
        else:
            stop = threading.Event()
            interval = self._sweep_interval

            def _loop():
                while not stop.wait(interval):
                    s = wself()
                    if s is None:
                        return
                    try:
                        s.sweep()
                    except Exception:  # noqa: BLE001 - keep sweeping
                        log.exception("rescoord: sweep failed")
                    del s

            th = threading.Thread(target=_loop, name="rescoord-sweep", daemon=True)
            th.start()
            self._sweeper = ("thread", stop)

    def close(self):
        """Stop the sweep and drop the atexit hook (the registry stays readable)."""
        self._closed = True
        sw, self._sweeper = self._sweeper, None
        if sw is not None:
            if sw[0] == "qt":
                try:
                    sw[1].stop()
                except RuntimeError:
                    pass
            else:
                sw[1].set()
        if self._atexit is not None:
            atexit.unregister(self._atexit)  # a no-op when threading holds it: _closed is set
            self._atexit = None

    # -- snapshots

    def flush(self):
        """Process Qt events and deferred deletes (on the GUI thread),
        collect garbage, and sweep."""
        if _qt.on_gui_thread():
            qc = _qt.QtCore
            app = qc.QCoreApplication.instance()
            for _ in range(3):
                app.processEvents()
                qc.QCoreApplication.sendPostedEvents(None, qc.QEvent.Type.DeferredDelete.value
                                                     if _qt.API == "PyQt6" else qc.QEvent.Type.DeferredDelete)
        gc.collect()
        self.sweep()

    def snapshot(self, component=None, *, flush=True):
        """A rescoord/v1 snapshot (a dict) of the registry, or of one
        component's subtree (its root then has no parent)."""
        if flush and (_qt.on_gui_thread() or not _qt.available() or _qt.app_instance() is None):
            self.flush()
        with self._locked():
            return self._snapshot(component)

    def _snapshot(self, component):
        if component is None:
            comps = list(self._comps.values())
            root = None
        else:
            root = self._comp_of(component)
            comps, todo = [], [root]
            while todo:
                c = todo.pop()
                comps.append(c)
                todo.extend(reversed(c.children))
        comps.sort(key=lambda c: (c.created, c.id))
        in_scope = set(id(c) for c in comps)
        out_c = []
        for c in comps:
            d = {"id": c.id, "name": c.name, "type": c.type}
            if c.parent is not None and c is not root:
                d["parent"] = c.parent.id
            d["state"] = "destroyed" if c.state is ComponentState.DESTROYED else "alive"
            d["created_at"] = format_time(c.created)
            if c.destroyed is not None:
                d["destroyed_at"] = format_time(c.destroyed)
            labels = {str(k): str(v) for k, v in c.labels.items()}
            labels.setdefault("state", c.state.value)
            d["labels"] = labels
            out_c.append(d)
        out_r = []
        for r in sorted(self._res.values(), key=lambda r: (r.created, r.id)):
            if id(r.owner) not in in_scope:
                continue
            d = {"id": r.id, "type": r.type, "owner": r.owner.id, "name": r.name, "state": r.state}
            if r.type in _RUNNABLE:
                d["running"] = is_running(r.obj())
            if r.size is not None:
                d["size_bytes"] = r.size
            d["created_at"] = format_time(r.created)
            if r.depends_on:
                d["depends_on"] = list(r.depends_on)
            if r.cleanup:
                d["cleanup"] = dict(r.cleanup)
            if r.frames:
                d["created_by"] = list(r.frames)
            if r.metadata is not None:
                d["metadata"] = _jsonable(r.metadata)
            else:
                # Tracked without metadata: the OS object it names, read
                # from the live object now (a socket connected or a thread
                # started since it was tracked names them as it is).
                md = os_metadata(r.obj())
                if md:
                    d["metadata"] = md
            out_r.append(d)
        out_cb = []
        for cb in self._cleanups.values():
            if id(cb.component) not in in_scope or cb.fn() is None:
                continue
            d = {"id": cb.id, "component": cb.component.id, "name": cb.name, "priority": cb.priority}
            if cb.timeout_ms is not None:
                d["timeout_ms"] = cb.timeout_ms
            out_cb.append(d)
        limits = {}
        if self._global_limit and root is None:
            limits["global_bytes"] = self._global_limit
        comp_limits = {cid: v for cid, v in self._limits.items()
                       if root is None or any(c.id == cid for c in comps)}
        if comp_limits:
            limits["components"] = comp_limits
        snap = {
            "format": "rescoord/v1",
            "taken_at": format_time(self._now()),
            "source": {"process": self._process, "pid": os.getpid(), "host": socket.gethostname(),
                       "runtime": "python %d.%d.%d" % sys.version_info[:3]
                       + (", " + _qt.VERSION if _qt.VERSION else ""),
                       "producer": "rescoord.ResourceManagementService"},
        }
        if limits:
            snap["limits"] = limits
        snap["components"] = out_c
        snap["resources"] = out_r
        snap["cleanups"] = out_cb
        return snap

    def write_snapshot(self, path, component=None):
        """Write snapshot() to path atomically (see rescoord.snapshot)."""
        from .snapshot import write_json_atomic

        snap = self.snapshot(component)
        write_json_atomic(path, snap)
        return snap

    # -- cleanup

    def cleanup_component(self, component, force=False, *, destroy=True, on_step=None, timeout_s=None,
                          on_result=None, on_run=None):
        """Clean up a component's subtree in the planned order: callbacks,
        resources (children first, workers before what they use), then mark
        each component destroyed.  Without force, workers are asked to stop
        (cancel, quit) and stay `releasing` until they finish, so the GUI
        thread never waits; with force, each is waited for within its
        timeout and terminated.  destroy=False leaves the components alive
        (a coordinator's cleanup_all).  on_step(step, status, error,
        elapsed_ms) sees each step's outcome, on_result(result) its wire
        form (the step object of POST /cleanup); timeout_s is the cleanup's
        budget: a step runs at most until it ends, and once it is gone the
        remaining steps are skipped.  on_run(run) gets the run as it starts
        (the server reports its progress).  Returns an EmergencyReport."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._locked():
            rec = self._comp_of(component)
            snap = self._snapshot(rec)
            if destroy and rec.state is not ComponentState.DESTROYED:
                rec.state = ComponentState.CLEANING
        self._emit_now("component_cleanup", rec.id)
        steps = _plan.plan(snap, rec.id)
        if not destroy:
            steps = [s for s in steps if s["kind"] != "component"]
        return self._execute(snap, steps, blocking=force, on_step=on_step, deadline=deadline,
                             component=rec.id, on_result=on_result, on_run=on_run)

    def cleanup_all(self, force=True):
        """Clean up the whole registry in the planned order."""
        with self._locked():
            snap = self._snapshot(None)
        return self._execute(snap, _plan.plan(snap), blocking=force)

    def emergency_cleanup(self):
        """What runs at exit: the whole registry in rescoord's planned order,
        each step within its timeout, without busy-waiting; it returns when
        every worker has stopped or was terminated (threading.Thread cannot
        be terminated: one that ignores cancel is listed in still_running).
        The EmergencyReport it returns (also last_emergency, and /stats's
        last_cleanup) says what it did not finish and why."""
        self._closed = True
        try:
            with self._locked():
                snap = self._snapshot(None)
            steps = _plan.plan(snap)
        except _plan.CycleError as e:
            log.error("rescoord: emergency cleanup: %s; planning without dependencies", e)
            flat = dict(snap, resources=[dict(r, depends_on=[]) for r in snap["resources"]])
            steps = _plan.plan(flat)
        rep = self._execute(snap, steps, blocking=True)
        self.last_emergency = rep
        self.close()
        return rep

    def _emit_now(self, name, *args):
        with self._lock:
            self._emit(name, *args)
        self._emit_pending()

    def _execute(self, snap, steps, blocking, on_step=None, deadline=None, component=None,
                 on_result=None, on_run=None):
        """Run the steps in order.  Each gets a status: done, failed,
        timed_out (a worker still running after its timeout, a callback
        over its timeout) or skipped (the budget, a time.monotonic()
        deadline, ran out before its turn); on_step(step, status, error,
        elapsed_ms) and on_result(result) see each.  The run is listed by
        cleanups_in_progress() while it runs; its report becomes
        last_cleanup()."""
        rep = EmergencyReport(snap, steps, component)
        run = _Run(component, steps)
        with self._prog_lock:
            self._runs.append(run)
        if on_run is not None:
            on_run(run)
        try:
            self._run_steps(rep, run, steps, blocking, on_step, deadline, on_result)
        finally:
            with self._prog_lock:
                rep.elapsed_ms = int((time.monotonic() - run.started) * 1000)
                run.cur = -1
                self._runs.remove(run)
                self._last_cleanup = rep
        return rep

    def _run_steps(self, rep, run, steps, blocking, on_step, deadline, on_result):
        cut_short = None  # (step, elapsed_ms) the budget ran out during
        overran = []  # (step, elapsed_ms) that reached their own timeout

        def report(st, status, err, elapsed, waiting=None):
            res = dict(step_ref(st), status=status)
            if err:
                res["error"] = err
            res["elapsed_ms"] = elapsed
            if waiting is not None and waiting[1] > 0:
                res["waiting"] = [step_ref(w) for w in waiting[0]]
                res["waiting_total"] = waiting[1]
            rep.executed.append((st["kind"], st["id"]))
            rep.results.append((st, status, err, elapsed))
            with self._prog_lock:
                if status == "done":
                    rep.done += 1
                else:
                    rep.unfinished.append(res)
                    if status == "skipped":
                        rep.skipped += 1
            if on_step is not None:
                on_step(st, status, err, elapsed)
            if on_result is not None:
                on_result(res)

        for i, st in enumerate(steps):
            kind, sid = st["kind"], st["id"]
            t0 = time.monotonic()
            if deadline is not None and t0 >= deadline:
                why = skipped_because(steps[i:], "context deadline exceeded", cut_short, overran)
                rep.skipped_because = why
                for s in steps[i:]:
                    report(s, "skipped", why, 0)
                break
            with self._prog_lock:
                run.cur, run.cur_start = i, t0
            status, err, waiting = "done", None, None
            timeout_ms, budget = st["timeout_ms"], False
            if deadline is not None and blocking and kind == "resource":
                left = int((deadline - t0) * 1000) + 1  # rounded up: the budget is gone after it
                if not timeout_ms or left < timeout_ms:
                    timeout_ms, budget = left, True
            try:
                if kind == "callback":
                    with self._locked():
                        cb = self._cleanups.get(sid)
                    fn = cb.fn() if cb is not None else None
                    if fn is not None:
                        fn()
                        took = (time.monotonic() - t0) * 1000
                        if took > st["timeout_ms"]:
                            status = "timed_out"
                            err = "took %d ms, over its %d ms timeout" % (took, st["timeout_ms"])
                            rep.errors.append((kind, sid, err))
                elif kind == "resource":
                    with self._locked():
                        rec = self._res.get(sid)
                    if rec is not None:
                        still = _run_strategy(rec, blocking, st["actions"], timeout_ms)
                        with self._locked():
                            if still and blocking:
                                rep.still_running.append(sid)
                                status = "timed_out"
                                if budget:
                                    err = "still running when the cleanup budget ran out"
                                else:
                                    err = "still running after %d ms" % st["timeout_ms"]
                                waiting = _plan.waiting_on(steps, i)
                            if rec.type in _RUNNABLE or st["actions"][0] == "cancel":
                                if blocking and not still:
                                    self._release(rec)
                                else:
                                    self._set_releasing(rec)
                            else:
                                self._release(rec)
                else:
                    with self._locked():
                        c = self._comps.get(sid)
                        if c is not None:
                            self._mark_destroyed(c)
            except Exception as e:  # noqa: BLE001 - a failing step must not stop the cleanup
                log.exception("rescoord: cleanup step %s %s failed", kind, sid)
                status, err = "failed", "%s: %s" % (type(e).__name__, e)
                rep.errors.append((kind, sid, err))
            end = time.monotonic()
            elapsed = int((end - t0) * 1000)
            if st["timeout_ms"] > 0 and elapsed >= st["timeout_ms"]:
                overran.append((st, elapsed))
            if deadline is not None and end >= deadline:
                cut_short = (st, elapsed)
            with self._prog_lock:
                run.cur = -1
                run.done += 1
            report(st, status, err, elapsed, waiting)


# --- strategies ---------------------------------------------------------------


def _run_strategy(rec, blocking, actions=None, timeout_ms=None):
    """Run a resource's cleanup actions on its object; returns True when a
    runnable resource is still running afterwards."""
    if actions is None:
        snap_like = {"type": rec.type, "cleanup": rec.cleanup}
        actions, timeout_ms = _plan.strategy_of(snap_like)
    obj = rec.obj()
    if obj is None or _qt.is_deleted(obj):
        return False
    head = actions[0]
    if head == "cancel":
        return _stop_worker(obj, timeout_ms, blocking)
    if head == "terminate":
        return _stop_process(obj, timeout_ms, blocking)
    if head == "stop":
        _stop_timer(obj)
        return False
    if head == "close":
        m = getattr(obj, "close", None)
        if callable(m):
            m()
        return False
    if head == "disconnect":
        if _qt.is_qobject(obj):
            try:
                obj.disconnect()
            except (TypeError, RuntimeError):
                pass
            obj.deleteLater()
        return False
    return False


def _call(obj, *names):
    for n in names:
        m = getattr(obj, n, None)
        if callable(m):
            m()
            return True
    return False


def _stop_worker(obj, timeout_ms, blocking):
    """cancel → quit → wait → terminate (docs/cleanup-ordering.md)."""
    th = _worker_thread(obj)
    _call(obj, "cancel", "request_cancel")
    if th is not None:
        th.requestInterruption()
        th.quit()
        if not blocking:
            return th.isRunning()
        if th.wait(max(int(timeout_ms or 0), 0)):
            return False
        log.warning("rescoord: worker %r did not stop within %d ms: terminating", obj, timeout_ms)
        th.terminate()
        th.wait(max(int(timeout_ms or 0), 1000))
        return th.isRunning()
    if isinstance(obj, threading.Thread):
        if not blocking:
            return obj.is_alive()
        if obj is not threading.current_thread():
            obj.join(max(timeout_ms or 0, 0) / 1000.0)
        return obj.is_alive()
    if blocking:
        _call(obj, "wait", "join")
    return is_running(obj)


def _stop_process(obj, timeout_ms, blocking):
    """terminate → wait → kill."""
    qc = _qt.QtCore
    if qc is not None and isinstance(obj, qc.QProcess):
        if obj.state() == qc.QProcess.ProcessState.NotRunning:
            return False
        obj.terminate()
        if not blocking:
            return True
        if not obj.waitForFinished(int(timeout_ms or 0)):
            obj.kill()
            obj.waitForFinished(1000)
        return obj.state() != qc.QProcess.ProcessState.NotRunning
    if isinstance(obj, subprocess.Popen):
        if obj.poll() is not None:
            return False
        obj.terminate()
        if not blocking:
            return True
        try:
            obj.wait((timeout_ms or 0) / 1000.0)
        except subprocess.TimeoutExpired:
            obj.kill()
            obj.wait(1)
        return obj.poll() is None
    _call(obj, "terminate")
    return is_running(obj)


def _stop_timer(obj):
    qc = _qt.QtCore
    if qc is not None and isinstance(obj, qc.QTimer):
        if obj.thread() == qc.QThread.currentThread():
            obj.stop()
        else:
            qc.QMetaObject.invokeMethod(obj, "stop", qc.Qt.ConnectionType.QueuedConnection)
        return
    _call(obj, "cancel", "stop")


def _default_name(obj, typ):
    if obj is None:
        return typ
    if _qt.is_qobject(obj):
        try:
            n = obj.objectName()
            if n:
                return n
        except RuntimeError:
            pass
    if isinstance(obj, threading.Thread):
        return obj.name
    n = getattr(obj, "name", None)
    if isinstance(n, str) and n:
        return n
    return type(obj).__name__


def _process_name():
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    base = os.path.basename(argv0)
    if base == "__main__.py":  # python -m pkg: the package's name
        base = os.path.basename(os.path.dirname(argv0))
    return base or "python"


def _jsonable(v):
    try:
        return json.loads(json.dumps(v, default=repr))
    except (TypeError, ValueError):
        return repr(v)
