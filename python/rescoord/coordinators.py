"""Resource coordinators: what a controller uses to track what it owns.

A coordinator is itself a component of the registry (type "coordinator"),
a child of the component it is bound to, which it holds weakly.  The
controller holds its coordinator; nothing in the registry holds either, so
a forgotten controller is collected and shows as destroyed.
"""

import threading
import time
import weakref

from . import _qt
from .service import ResourceManagementService, ResourceType, is_running

_default_lock = threading.Lock()
_default_service = None


def get_default_service():
    """The process-wide service coordinators use when given none."""
    global _default_service
    with _default_lock:
        if _default_service is None:
            _default_service = ResourceManagementService()
        return _default_service


def set_default_service(service):
    """Replace the process-wide service (None: a new one on next use)."""
    global _default_service
    with _default_lock:
        old, _default_service = _default_service, service
        return old


class BaseResourceCoordinator:
    component_type = "coordinator"

    def __init__(self, component_id, service=None):
        self.component_id = component_id
        self.service = service if service is not None else get_default_service()
        self._owner = None  # weakref to the bound component
        self._registered = None  # the id the registry gave this coordinator
        self._ids = []  # resource ids this coordinator tracked, in order

    # -- binding

    def bind_to_component(self, component, component_type="controller"):
        """Bind to the component that owns this coordinator (held weakly),
        registering that component first when it is not registered."""
        if self.service.get_component_id(component) is None:
            self.service.register_component(component, type(component).__name__, component_type)
        self._owner = weakref.ref(component)
        return self

    def initialize(self):
        """Register this coordinator as a child of its bound component."""
        if self._registered is not None and self.service.get_component_state(self) is not None:
            return self._registered
        parent = self._owner() if self._owner is not None else None
        self._registered = self.service.register_component(
            self, self.component_id, self.component_type, parent=parent, name=type(self).__name__)
        return self._registered

    @property
    def registered_id(self):
        return self._registered

    @property
    def component(self):
        return self._owner() if self._owner is not None else None

    def _ensure(self):
        if self._registered is None:
            self.initialize()

    # -- resources

    def track_resource(self, resource_type, resource, size_bytes=None, metadata=None, *,
                       name=None, depends_on=(), cleanup=None):
        self._ensure()
        rid = self.service.track_resource(self, resource_type, resource, size_bytes, metadata,
                                          name=name, depends_on=depends_on, cleanup=cleanup)
        self._ids.append(rid)
        return rid

    def track_worker(self, worker, *, name=None, size_bytes=None, metadata=None, depends_on=()):
        return self.track_resource(ResourceType.WORKER, worker, size_bytes, metadata,
                                   name=name, depends_on=depends_on)

    def release(self, resource_id):
        ok = self.service.release_resource(self, resource_id)
        if resource_id in self._ids:
            self._ids.remove(resource_id)
        return ok

    def cleanup_all(self, force=False):
        """Clean up everything this coordinator tracks, in the planned order
        (workers are asked to stop and stay releasing until they finish;
        force waits for them and terminates).  The coordinator stays usable."""
        if self._registered is None:
            return None
        rep = self.service.cleanup_component(self, force=force, destroy=False)
        self._ids = [i for i in self._ids if self.service.get_resource(i) is not None]
        return rep

    def get_resource_count(self):
        return self.service.get_resource_count(self) if self._registered is not None else 0


def _thread_of(worker):
    qc = _qt.QtCore
    if qc is not None and isinstance(worker, qc.QThread):
        return worker
    if qc is not None and isinstance(worker, qc.QObject):
        return worker.thread()
    return None


class WorkerResourceCoordinator(BaseResourceCoordinator):
    """Tracks workers (QThread, a QObject moved to a QThread, or a
    threading.Thread).  Cleanup: cancel if there is one → quit → wait(2000)
    → terminate."""

    def __init__(self, component_id, service=None):
        super().__init__(component_id, service)
        self._workers = {}  # resource id -> worker

    def track_worker(self, worker, auto_cleanup=True, *, name=None, size_bytes=None, metadata=None,
                     depends_on=()):
        rid = super().track_worker(worker, name=name, size_bytes=size_bytes, metadata=metadata,
                                   depends_on=depends_on)
        self._workers[rid] = worker
        if auto_cleanup:
            self.service.release_when_finished(rid)
            th = _thread_of(worker)
            if th is not None:
                wself = weakref.ref(self)

                def _finished(*_a, rid=rid):
                    # Runs on the worker's own thread: its reference goes to
                    # the service's graveyard, not away (see _bury).
                    s = wself()
                    if s is not None:
                        with s.service._lock:
                            s.service._bury(s._workers.pop(rid, None))
                        s.release(rid)

                th.finished.connect(_finished, _qt.QtCore.Qt.ConnectionType.DirectConnection)
        return rid

    def release(self, resource_id):
        with self.service._lock:
            self.service._bury(self._workers.pop(resource_id, None))
        return super().release(resource_id)

    def get_active_workers(self):
        """The tracked workers that are still running."""
        return [w for rid, w in list(self._workers.items())
                if self.service.get_resource(rid) is not None and is_running(w)]

    def wait_for_worker(self, worker, timeout_ms=None):
        """Block until worker (or its id) has finished, at most timeout_ms
        (None: no limit); True when it has.  No busy-waiting."""
        if isinstance(worker, str):
            worker = self._workers.get(worker) or self.service.get_resource(worker)
        if worker is None:
            return True
        th = _thread_of(worker)
        if th is not None:
            if not th.isRunning():
                return True
            return th.wait() if timeout_ms is None else th.wait(int(timeout_ms))
        if isinstance(worker, threading.Thread):
            if worker.ident is None:
                return True
            worker.join(None if timeout_ms is None else timeout_ms / 1000.0)
            return not worker.is_alive()
        return not is_running(worker)

    def cancel_all_workers(self, timeout_ms=2000):
        """Ask every running worker to stop (cancel, quit), then wait for
        them all within one timeout_ms deadline; terminate those still
        running.  Returns the ids that are still running (empty: all
        stopped)."""
        active = [(rid, w) for rid, w in list(self._workers.items()) if is_running(w)]
        for _rid, w in active:
            for n in ("cancel", "request_cancel"):
                m = getattr(w, n, None)
                if callable(m):
                    m()
                    break
            th = _thread_of(w)
            if th is not None:
                th.requestInterruption()
                th.quit()
        deadline = time.monotonic() + timeout_ms / 1000.0
        left = []
        for rid, w in active:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            if not self.wait_for_worker(w, remaining):
                th = _thread_of(w)
                if th is not None:
                    th.terminate()
                    th.wait(1000)
                if is_running(w):
                    left.append(rid)
        for rid, w in active:
            if rid not in left:
                self.service.mark_finished(rid)
        return left


class UIResourceCoordinator(BaseResourceCoordinator):
    """Tracks widgets and the child QObjects that run: timers, threads,
    processes, and every child with an objectName."""

    def register_ui_component(self, widget, *, name=None, size_bytes=None):
        rid = self.track_resource(ResourceType.QOBJECT, widget, size_bytes, name=name)
        qc = _qt.QtCore
        if qc is not None and isinstance(widget, qc.QObject):
            for child in widget.findChildren(qc.QObject):
                if isinstance(child, (qc.QTimer, qc.QThread, qc.QProcess)) or child.objectName():
                    if self.service.resource_id_of(child) is None:
                        self.track_resource(ResourceType.QOBJECT, child)
        return rid


class ResourceControllerMixin:
    """For controllers: initialize_resources(component_id) registers the
    controller and creates its coordinator (coordinator_class, default
    BaseResourceCoordinator) as component_id + ".resources"."""

    resource_coordinator_class = BaseResourceCoordinator
    resource_component_type = "controller"

    def initialize_resources(self, component_id, coordinator_class=None, service=None, *,
                             parent=None, name=None):
        service = service if service is not None else get_default_service()
        cid = service.register_component(self, component_id, self.resource_component_type,
                                         parent=parent, name=name or type(self).__name__)
        cls = coordinator_class or self.resource_coordinator_class
        coord = cls(cid + ".resources", service)
        coord.bind_to_component(self)
        coord.initialize()
        self._rescoord_resources = coord
        return coord

    @property
    def resources(self):
        coord = getattr(self, "_rescoord_resources", None)
        if coord is None:
            raise RuntimeError("Resources not initialized")
        return coord

    def cleanup_resources(self, force=False):
        coord = getattr(self, "_rescoord_resources", None)
        return coord.cleanup_all(force=force) if coord is not None else None
