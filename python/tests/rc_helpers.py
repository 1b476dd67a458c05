"""Helpers the test modules import (not from conftest: with several
conftest.py files in one run, the module name conftest is ambiguous)."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def rules(report):
    return sorted((f["rule"], f["resource"] or f["component"]) for f in report["findings"])
