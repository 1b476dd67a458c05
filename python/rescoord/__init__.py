"""rescoord for Python and Qt applications.

A ResourceManagementService that writes rescoord/v1 snapshots, coordinators
for controllers, and a pytest plugin (rescoord.pytest_plugin).  Standard
library only; PyQt6 or PySide6 are used when importable (RESCOORD_NO_QT=1
ignores them).  See docs/python.md.
"""

from . import _qt
from .service import (
    ComponentState,
    EmergencyReport,
    ResourceManagementService,
    ResourceType,
    capture_stack,
    is_running,
    refine_type,
)
from .osobject import os_metadata
from .snapshot import flush, snapshot, write_json_atomic, write_snapshot
from .planner import CycleError, plan
from .coordinators import (
    BaseResourceCoordinator,
    ResourceControllerMixin,
    UIResourceCoordinator,
    WorkerResourceCoordinator,
    get_default_service,
    set_default_service,
)

__version__ = "0.1.0"
QT_API = _qt.API

__all__ = [
    "BaseResourceCoordinator", "ComponentState", "CycleError", "EmergencyReport",
    "ResourceControllerMixin", "ResourceManagementService", "ResourceType", "QT_API",
    "UIResourceCoordinator", "WorkerResourceCoordinator", "capture_stack", "flush",
    "get_default_service", "is_running", "os_metadata", "plan", "refine_type", "set_default_service",
    "snapshot", "write_json_atomic", "write_snapshot",
]
