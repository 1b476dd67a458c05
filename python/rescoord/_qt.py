"""Optional Qt support: PyQt6 or PySide6, whichever imports first.

Set RESCOORD_NO_QT=1 to make the package ignore Qt even when it is
installed (the test suite's "without Qt" run uses it).  RESCOORD_QT=PySide6
or RESCOORD_QT=PyQt6 picks one binding when both are installed.
"""

import os

QtCore = None
API = None  # "PyQt6" or "PySide6"
Signal = None
VERSION = ""


def _load():
    global QtCore, API, Signal, VERSION
    if os.environ.get("RESCOORD_NO_QT", "") not in ("", "0"):
        return
    order = ["PyQt6", "PySide6"]
    pref = os.environ.get("RESCOORD_QT", "")
    if pref in order:
        order.remove(pref)
        order.insert(0, pref)
    for name in order:
        try:
            if name == "PyQt6":
                from PyQt6 import QtCore as core  # noqa: N813

                Signal = core.pyqtSignal
                VERSION = "PyQt6 " + core.PYQT_VERSION_STR
            else:
                from PySide6 import QtCore as core  # noqa: N813
                import PySide6

                Signal = core.Signal
                VERSION = "PySide6 " + PySide6.__version__
        except ImportError:
            continue
        QtCore = core
        API = name
        return


_load()


def available():
    return QtCore is not None


def is_qobject(obj):
    return QtCore is not None and isinstance(obj, QtCore.QObject)


def is_deleted(obj):
    """True when the C++ side of a QObject wrapper is gone."""
    if not is_qobject(obj):
        return False
    if API == "PyQt6":
        from PyQt6 import sip

        return sip.isdeleted(obj)
    import shiboken6

    return not shiboken6.isValid(obj)


def app_instance():
    if QtCore is None:
        return None
    return QtCore.QCoreApplication.instance()


def on_gui_thread():
    """True when Qt runs an application and this is its thread."""
    app = app_instance()
    if app is None:
        return False
    return QtCore.QThread.currentThread() is app.thread()
