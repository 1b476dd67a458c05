"""Helpers the test modules import (not from conftest: with several
conftest.py files in one run, the module name conftest is ambiguous)."""

import os
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def rules(report):
    return sorted((f["rule"], f["resource"] or f["component"]) for f in report["findings"])


class Component:
    """A stand-in for an application object registered as a component."""


class Worker(threading.Thread):
    """A worker that runs until cancelled."""

    def __init__(self, name="analysis-worker"):
        super().__init__(name=name, daemon=True)
        self.ev = threading.Event()

    def cancel(self):
        self.ev.set()

    def run(self):
        self.ev.wait()
