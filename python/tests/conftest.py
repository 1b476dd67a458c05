"""Shared fixtures of the rescoord Python suite.

RESCOORD_TEST_NO_QT=1 runs the suite as on a machine without Qt: PyQt6 and
PySide6 are poisoned in sys.modules before rescoord is imported, so any
import of them fails exactly as if they were not installed, and pytest-qt
(which pytest loads before this file, and which cannot configure itself
without Qt) is unregistered before it is configured.

The rescoord binary: RESCOORD_BIN, else `go build` from the repository
root once per session.  Without either the tests that need it are skipped,
unless RESCOORD_REQUIRE_BIN=1 (CI), which makes that a failure.
"""

import json
import os
import shutil
import subprocess
import sys

NO_QT = os.environ.get("RESCOORD_TEST_NO_QT", "") not in ("", "0")
if NO_QT:
    for _m in ("PyQt6", "PySide6", "PyQt6.QtCore", "PySide6.QtCore", "pytestqt"):
        sys.modules[_m] = None

# Headless by default: QApplication aborts the process without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import pytest  # noqa: E402

import rescoord  # noqa: E402
from rescoord import _qt  # noqa: E402

from rc_helpers import REPO, rules  # noqa: E402,F401


def pytest_addoption(parser, pluginmanager):
    # Called for this file as soon as it is loaded: before any plugin's
    # pytest_configure, so pytest-qt is gone as on a machine without it.
    if NO_QT:
        pluginmanager.set_blocked("pytest-qt")


def pytest_configure(config):
    # CI sets RESCOORD_REQUIRE_QT=1 for its Qt run: Qt tests must run there,
    # not be skipped because PyQt6 failed to import.
    if os.environ.get("RESCOORD_REQUIRE_QT") and not _qt.available():
        raise pytest.UsageError("RESCOORD_REQUIRE_QT=1 but neither PyQt6 nor PySide6 imports")


@pytest.fixture(scope="session")
def rescoord_bin(tmp_path_factory):
    b = os.environ.get("RESCOORD_BIN")
    if b:
        return b
    go = shutil.which("go")
    if go is None or not os.path.exists(os.path.join(REPO, "go.mod")):
        if os.environ.get("RESCOORD_REQUIRE_BIN"):
            pytest.fail("no rescoord binary: set RESCOORD_BIN or install Go")
        pytest.skip("no rescoord binary (RESCOORD_BIN unset, no Go)")
    out = str(tmp_path_factory.mktemp("bin") / "rescoord")
    subprocess.run([go, "build", "-o", out, "."], cwd=REPO, check=True)
    return out


class Binary:
    def __init__(self, path, tmp):
        self.path = path
        self.tmp = tmp

    def run(self, *args, check=True):
        p = subprocess.run([self.path] + list(args), capture_output=True, text=True)
        if check and p.returncode not in (0, 1):
            raise AssertionError("rescoord %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
        return p

    def write(self, snap, name="snap.json"):
        path = os.path.join(str(self.tmp), name)
        with open(path, "w") as f:
            json.dump(snap, f)
        return path

    def validate(self, snap):
        p = self.run("validate", self.write(snap, "validate.json"), check=False)
        assert p.returncode == 0, p.stdout + p.stderr

    def plan(self, snap, component=None):
        args = ["cleanup", "--dry-run", self.write(snap, "plan.json"), "-o", "json"]
        if component:
            args += ["--component", component]
        p = self.run(*args, check=False)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)["steps"]

    def leaks(self, snap, *extra):
        p = self.run("leaks", self.write(snap, "leaks.json"), "-o", "json", *extra)
        return json.loads(p.stdout)


@pytest.fixture
def rc(rescoord_bin, tmp_path):
    return Binary(rescoord_bin, tmp_path)


@pytest.fixture(scope="session")
def qapp():
    if not _qt.available():
        pytest.skip("Qt (PyQt6 or PySide6) is not available")
    app = _qt.QtCore.QCoreApplication.instance()
    if app is None:
        if _qt.API == "PyQt6":
            from PyQt6.QtWidgets import QApplication
        else:
            from PySide6.QtWidgets import QApplication
        app = QApplication([])
    return app


@pytest.fixture
def svc():
    s = rescoord.ResourceManagementService(sweep_interval_s=0, emergency_cleanup_at_exit=False)
    yield s
    s.close()

