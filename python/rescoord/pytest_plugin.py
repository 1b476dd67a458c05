"""pytest plugin: every test's resources checked by `rescoord leaks`.

Enabled by the `pytest11` entry point `rescoord` when the package is
installed, or with `-p rescoord.pytest_plugin` from a checkout.

- The `rescoord_service` fixture, or `--rescoord` for every test, gives
  the test its own root component (components registered without a parent
  during the test become its children), and after the test and all its
  fixtures are torn down flushes the service (Qt events, deferred deletes,
  garbage), writes a snapshot of that subtree and runs `rescoord leaks` on
  it (the binary from RESCOORD_BIN, --rescoord-bin or PATH).  A finding at
  or above --rescoord-fail-on (default error) fails the test with the leak
  trace.
- `@pytest.mark.rescoord_allow(rule=..., name=..., reason=...)` (also
  component=, type=, frame=, signature=, action=, expires=) becomes a
  suppression entry for that test (docs/leaks.md, Suppressions).
- `@pytest.mark.rescoord` checks one test without --rescoord;
  `@pytest.mark.rescoord_skip` exempts one from --rescoord.
- `--rescoord-junit PATH`, `--rescoord-sarif PATH`: one JUnit XML / SARIF
  file for the session, with a test suite / run per checked test.

It works with pytest-qt (its qapp is the QApplication the flush uses) and
does not need it.
"""

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from . import coordinators
from .snapshot import write_json_atomic

_SUPPRESSION_KEYS = ("rule", "component", "type", "name", "frame", "signature", "action", "expires")
_ITEM_KEY = "_rescoord_state"


class RescoordLeak(Exception):
    """A test left leaks behind; the message is the text report."""


def pytest_addoption(parser):
    g = parser.getgroup("rescoord", "rescoord leak checks")
    g.addoption("--rescoord", action="store_true", default=False,
                help="check every test for leaks with `rescoord leaks`")
    g.addoption("--rescoord-bin", default=None,
                help="the rescoord binary (default: $RESCOORD_BIN, else rescoord on PATH)")
    g.addoption("--rescoord-fail-on", default="error",
                choices=("critical", "error", "warning", "info"),
                help="fail a test on findings at or above this severity (default error)")
    g.addoption("--rescoord-grace", default=None,
                help="passed to `rescoord leaks --grace` (e.g. 2s)")
    g.addoption("--rescoord-junit", default=None, metavar="PATH",
                help="write one JUnit XML report of every checked test")
    g.addoption("--rescoord-sarif", default=None, metavar="PATH",
                help="write one SARIF report of every checked test")


def pytest_configure(config):
    config.addinivalue_line("markers", "rescoord: check this test for leaks with rescoord")
    config.addinivalue_line("markers", "rescoord_skip: do not check this test for leaks")
    config.addinivalue_line(
        "markers", "rescoord_allow(rule=None, component=None, type=None, name=None, frame=None, "
        "signature=None, action='ignore', expires=None, reason=...): a rescoord suppression "
        "entry for this test")
    config._rescoord = _Session(config)
    if config.getoption("--rescoord"):
        config._rescoord.binary()  # a missing binary is a usage error at once


class _Session:
    def __init__(self, config):
        self.config = config
        self.junit = []  # (nodeid, path)
        self.sarif = []
        self._bin = None
        self._dir = None

    def binary(self):
        if self._bin is None:
            b = self.config.getoption("--rescoord-bin") or os.environ.get("RESCOORD_BIN") \
                or shutil.which("rescoord")
            if not b or not os.path.exists(b):
                raise pytest.UsageError(
                    "rescoord: no rescoord binary: set RESCOORD_BIN, pass --rescoord-bin, "
                    "or put rescoord on PATH")
            self._bin = b
        return self._bin

    def dir(self):
        if self._dir is None:
            self._dir = str(self.config._tmp_path_factory.mktemp("rescoord", numbered=True)) \
                if hasattr(self.config, "_tmp_path_factory") else _mkdtemp()
        return self._dir


def _mkdtemp():
    import tempfile

    return tempfile.mkdtemp(prefix="rescoord-pytest-")


def _wanted(item):
    if item.get_closest_marker("rescoord_skip"):
        return False
    return (item.config.getoption("--rescoord") or item.get_closest_marker("rescoord") is not None
            or "rescoord_service" in getattr(item, "fixturenames", ()))


class _TestRoot:
    """The root component of one test."""

    def __init__(self, nodeid):
        self.nodeid = nodeid


def _begin(item):
    st = getattr(item, _ITEM_KEY, None)
    if st is not None:
        return st
    svc = coordinators.get_default_service()
    root = _TestRoot(item.nodeid)
    rid = svc.register_component(root, "test:" + item.nodeid, "test", name=item.name)
    prev = svc.set_default_parent(root)
    st = {"service": svc, "root": root, "id": rid, "prev": prev}
    setattr(item, _ITEM_KEY, st)
    return st


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _wanted(item):
        _begin(item)


@pytest.fixture
def rescoord_service(request):
    """The ResourceManagementService (rescoord's default service) with this
    test's root component as the default parent; the test is checked for
    leaks after its teardown."""
    return _begin(request.node)["service"]


@pytest.fixture
def rescoord_root(request):
    """The id of this test's root component."""
    return _begin(request.node)["id"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # every function-scoped fixture is torn down now
    st = getattr(item, _ITEM_KEY, None)
    if st is None:
        return
    delattr(item, _ITEM_KEY)
    svc = st["service"]
    try:
        text = _check(item, st)
    finally:
        prev = svc._comps.get(st["prev"]) if st["prev"] else None
        svc.set_default_parent(prev)
        svc.unregister_component(st["root"])
    if text:
        raise RescoordLeak(text)


def _slug(nodeid):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150] or "test"


def _yaml_str(v):
    return json.dumps(str(v))  # a JSON string is a YAML double-quoted scalar


def _suppressions(item, path):
    entries = []
    for m in item.iter_markers("rescoord_allow"):
        kw = dict(m.kwargs)
        if m.args:
            raise pytest.UsageError("rescoord_allow takes keyword arguments only (%s)" % item.nodeid)
        reason = kw.pop("reason", None)
        if not reason:
            raise pytest.UsageError("rescoord_allow needs a reason= (%s)" % item.nodeid)
        unknown = set(kw) - set(_SUPPRESSION_KEYS)
        if unknown:
            raise pytest.UsageError("rescoord_allow: unknown %s (%s)" % (", ".join(sorted(unknown)),
                                                                        item.nodeid))
        if not any(kw.get(k) for k in _SUPPRESSION_KEYS if k not in ("action", "expires")):
            raise pytest.UsageError("rescoord_allow needs a pattern: rule=, component=, type=, "
                                    "name=, frame= or signature= (%s)" % item.nodeid)
        entries.append((kw, reason))
    lines = ["suppressions:"] if entries else ["suppressions: []"]
    for kw, reason in entries:
        first = True
        for k in _SUPPRESSION_KEYS:
            if kw.get(k) is None:
                continue
            lines.append(("  - " if first else "    ") + "%s: %s" % (k, _yaml_str(kw[k])))
            first = False
        lines.append("    reason: " + _yaml_str(reason))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def _check(item, st):
    sess = item.config._rescoord
    svc = st["service"]
    base = os.path.join(sess.dir(), _slug(item.nodeid))
    svc.flush()
    snap = svc.snapshot(st["root"], flush=False)
    write_json_atomic(base + ".json", snap)
    _suppressions(item, base + ".suppressions.yaml")
    args = [sess.binary(), "leaks", base + ".json", "--color", "never",
            "--suppressions", base + ".suppressions.yaml",
            "--fail-on", item.config.getoption("--rescoord-fail-on"),
            "-o", "json", "-o", "text=" + base + ".txt"]
    if item.config.getoption("--rescoord-grace"):
        args += ["--grace", item.config.getoption("--rescoord-grace")]
    if item.config.getoption("--rescoord-junit"):
        args += ["-o", "junit=" + base + ".junit.xml"]
        sess.junit.append((item.nodeid, base + ".junit.xml"))
    if item.config.getoption("--rescoord-sarif"):
        args += ["-o", "sarif=" + base + ".sarif"]
        sess.sarif.append((item.nodeid, base + ".sarif"))
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode == 0:
        return None
    if p.returncode != 1:
        raise RuntimeError("rescoord leaks failed (exit %d): %s" % (p.returncode, p.stderr.strip()))
    with open(base + ".txt", encoding="utf-8") as f:
        text = f.read()
    return ("rescoord found leaks in %s (snapshot %s.json):\n\n%s" % (item.nodeid, base, text))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "teardown" and call.excinfo is not None \
            and call.excinfo.errisinstance(RescoordLeak):
        rep = outcome.get_result()
        rep.longrepr = str(call.excinfo.value)
        rep.rescoord_leak = True


def pytest_report_teststatus(report, config):
    if getattr(report, "rescoord_leak", False):
        return "failed", "L", "LEAKED"
    return None


def pytest_sessionfinish(session, exitstatus):
    sess = getattr(session.config, "_rescoord", None)
    if sess is None:
        return
    path = session.config.getoption("--rescoord-junit")
    if path:
        _merge_junit(sess.junit, path)
    path = session.config.getoption("--rescoord-sarif")
    if path:
        _merge_sarif(sess.sarif, path)


def _merge_junit(parts, path):
    root = ET.Element("testsuites", name="rescoord leaks")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for nodeid, p in parts:
        if not os.path.exists(p):
            continue
        for suite in ET.parse(p).getroot().iter("testsuite"):
            suite.set("name", "rescoord leaks: " + nodeid)
            for k in totals:
                totals[k] += int(suite.get(k, "0"))
            root.append(suite)
    for k, v in totals.items():
        root.set(k, str(v))
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


def _merge_sarif(parts, path):
    doc = None
    for nodeid, p in parts:
        if not os.path.exists(p):
            continue
        with open(p, encoding="utf-8") as f:
            d = json.load(f)
        for run in d.get("runs", []):
            run.setdefault("automationDetails", {})["id"] = "rescoord/pytest/" + nodeid
        if doc is None:
            doc = d
        else:
            doc["runs"].extend(d.get("runs", []))
    if doc is None:
        doc = {"$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                          "sarif-schema-2.1.0.json", "version": "2.1.0", "runs": []}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
