"""The example's tests run headless with real QThreads and QTimers, under
rescoord's pytest plugin (loaded here, so `pytest examples/pyqt_mediaapp`
works from a checkout without installing anything)."""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.join(REPO, "python")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest_plugins = ["rescoord.pytest_plugin"]


def pytest_configure(config):
    # The plugin needs the rescoord binary: RESCOORD_BIN, PATH, or built here.
    if os.environ.get("RESCOORD_BIN") or shutil.which("rescoord") or not shutil.which("go"):
        return
    out = os.path.join(tempfile.mkdtemp(prefix="rescoord-bin-"), "rescoord")
    subprocess.run(["go", "build", "-o", out, "."], cwd=REPO, check=True)
    os.environ["RESCOORD_BIN"] = out


try:
    import pytestqt  # noqa: F401  (pytest-qt has its own qapp fixture)
except ImportError:
    @pytest.fixture(scope="session")
    def qapp():
        from PyQt6 import QtWidgets

        return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
