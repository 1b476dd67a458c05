"""A small PyQt6 media application that uses rescoord's Python service.

It mirrors examples/mediaapp (Go): a main window with tabs; each tab has a
controller whose worker coordinator runs an analysis QThread, a progress
QTimer and a frame buffer.  Closing a tab cleans its controller up: the
worker is cancelled and released once it has finished.

    PYTHONPATH=python python3 examples/pyqt_mediaapp/mediaapp.py            # a window
    PYTHONPATH=python python3 examples/pyqt_mediaapp/mediaapp.py --leak \\
        --script --snapshot /tmp/media.json && rescoord leaks /tmp/media.json
    PYTHONPATH=python python3 examples/pyqt_mediaapp/mediaapp.py --leak --serve &
    rescoord leaks --attach pyqt-mediaapp                # close tabs first

With --leak, every second tab is closed by just deleting it: nobody cleans
its controller up, so once the controller is collected the registry marks
it destroyed while its worker and timer still run, and `rescoord leaks`
reports them as running orphans, with the tab that owned them.
"""

import argparse
import os
import sys
import threading

from PyQt6 import QtCore, QtWidgets

import rescoord
from rescoord import ResourceType

FRAME_BUFFER_BYTES = 8 << 20


class AnalysisWorker(QtCore.QThread):
    """Analyses `files` files, one every `chunk_ms`, until cancelled."""

    progress = QtCore.pyqtSignal(int)

    def __init__(self, files, chunk_ms=5):
        super().__init__()
        self.setObjectName("analysis-worker")
        self.files = files
        self.chunk_ms = chunk_ms
        self._cancel = threading.Event()

    def cancel(self):
        self._cancel.set()

    def run(self):
        for i in range(self.files):
            if self._cancel.wait(self.chunk_ms / 1000.0):
                return
            self.progress.emit(i)


class MediaAnalysisController(QtCore.QObject, rescoord.ResourceControllerMixin):
    def __init__(self, tab, service, files):
        super().__init__()
        self.service = service
        self.analysed = 0
        self.initialize_resources("media_analysis_controller", rescoord.WorkerResourceCoordinator,
                                  service, parent=tab)
        service.register_cleanup(self, self.save_state, priority=10)
        self.buffer = bytearray(16)  # stands for an 8 MiB frame buffer
        self.resources.track_resource(ResourceType.MEMORY, self.buffer, FRAME_BUFFER_BYTES,
                                      name="frame-buffer")
        self.timer = QtCore.QTimer()  # no Qt parent: it lives until stopped
        self.timer.setObjectName("progress-timer")
        self.timer.timeout.connect(self.refresh)
        self.timer.start(50)
        self.resources.track_resource(ResourceType.QOBJECT, self.timer)
        self.start_analysis(files)

    def start_analysis(self, files):
        self.worker = AnalysisWorker(files)
        self.worker.progress.connect(self.on_progress)
        self.resources.track_worker(self.worker)
        self.worker.start()

    def on_progress(self, i):
        self.analysed = i + 1

    def refresh(self):
        pass

    def save_state(self):
        pass

    def shutdown(self):
        """Clean up in rescoord's order: callbacks, worker (asked to stop; it
        is released when it has finished), timer, buffer."""
        self.service.cleanup_component(self)


class MediaAnalysisTab(QtWidgets.QWidget):
    def __init__(self, window, service, files):
        super().__init__(window)
        self.service = service
        # The id repeats for every tab: the registry makes it media_tab#2, …
        self.tab_id = service.register_component(self, "media_tab", "tab", name="MediaAnalysisTab")
        self.controller = MediaAnalysisController(self, service, files)
        layout = QtWidgets.QVBoxLayout(self)
        self.label = QtWidgets.QLabel("analysing…", self)
        layout.addWidget(self.label)


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, service, leak=False, files=10 ** 6):
        super().__init__()
        self.service = service
        self.leak = leak
        self.files = files
        self.closed = 0
        service.register_component(self, "main_window", "window", name="MainWindow")
        service.register_cleanup(self, self.save_layout, priority=0)
        self.autosave = QtCore.QTimer(self)
        self.autosave.setObjectName("autosave-timer")
        self.autosave.start(60000)
        service.track_resource(self, ResourceType.QOBJECT, self.autosave)
        self.tabs = QtWidgets.QTabWidget(self)
        self.setCentralWidget(self.tabs)

    def open_tab(self):
        tab = MediaAnalysisTab(self, self.service, self.files)
        self.tabs.addTab(tab, tab.tab_id)
        return tab

    def close_tab(self, index):
        tab = self.tabs.widget(index)
        self.tabs.removeTab(index)
        self.closed += 1
        if self.leak and self.closed % 2 == 0:
            # The bug: the tab is dropped without cleaning its controller up.
            tab.deleteLater()
            return
        tab.controller.shutdown()
        tab.deleteLater()

    def save_layout(self):
        pass

    def shutdown(self):
        while self.tabs.count():
            self.close_tab(0)
        self.service.cleanup_component(self)


def wait_for_workers(service, timeout_ms=5000):
    """Wait (without polling) for every tracked worker to finish."""
    for r in service.snapshot(flush=False)["resources"]:
        if r["type"] == "worker" and r.get("running"):
            w = service.get_resource(r["id"])
            if w is not None:
                w.wait(timeout_ms)
    service.flush()


def scripted_session(window, tabs=4):
    """Open tabs, then close them all: what the tests and --script run."""
    opened = [window.open_tab() for _ in range(tabs)]
    del opened
    while window.tabs.count():
        window.close_tab(0)
    window.service.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leak", "-leak", action="store_true",
                    help="leak on purpose: every second closed tab is dropped without cleanup")
    ap.add_argument("--tabs", type=int, default=4)
    ap.add_argument("--script", action="store_true",
                    help="open and close the tabs without a user, then exit")
    ap.add_argument("--snapshot", help="write a snapshot here before exiting")
    ap.add_argument("--serve", action="store_true",
                    help="serve the registry while the window is open (rescoord ps, --attach pyqt-mediaapp)")
    args = ap.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    service = rescoord.get_default_service()
    window = MainWindow(service, leak=args.leak)
    if args.script:
        scripted_session(window, args.tabs)
        if not args.leak:
            wait_for_workers(service)
        if args.snapshot:
            service.write_snapshot(args.snapshot)
        window.shutdown()
        return 0
    for _ in range(args.tabs):
        window.open_tab()
    window.show()
    handle = service.serve(process_name="pyqt-mediaapp") if args.serve else None
    code = app.exec()
    if handle is not None:
        handle.close()
    if args.snapshot:
        service.write_snapshot(args.snapshot)
    return code


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    sys.exit(main())
