"""The pytest plugin, run in subprocesses with pytester."""

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from rc_helpers import HERE

pytest_plugins = ["pytester"]

PKG = os.path.dirname(HERE)

LEAKY = '''
import threading
import pytest
import rescoord
from rescoord import ResourceType

class Tab:
    pass

class Worker(threading.Thread):
    def __init__(self):
        super().__init__(name="analysis-worker", daemon=True)
        self.stop = threading.Event()
    def cancel(self):
        self.stop.set()
    def run(self):
        self.stop.wait()

def start_analysis(svc, tab):
    w = Worker()
    w.start()
    svc.track_resource(tab, ResourceType.WORKER, w)
    return w

def test_leaks_a_worker(rescoord_service):
    tab = Tab()
    rescoord_service.register_component(tab, "media_tab", "tab")
    start_analysis(rescoord_service, tab)
    del tab  # the tab is closed, its worker forgotten

def test_clean(rescoord_service):
    tab = Tab()
    rescoord_service.register_component(tab, "media_tab", "tab")
    w = start_analysis(rescoord_service, tab)
    w.cancel()
    w.join()
    rescoord_service.cleanup_component(tab)

@pytest.mark.rescoord_allow(rule="running-orphan", name="analysis-*", reason="tracked in #41")
def test_allowed(rescoord_service):
    tab = Tab()
    rescoord_service.register_component(tab, "media_tab", "tab")
    start_analysis(rescoord_service, tab)
    del tab

def test_default_service_unchecked_without_opt_in():
    svc = rescoord.get_default_service()
    tab = Tab()
    svc.register_component(tab, "other_tab", "tab")
    start_analysis(svc, tab)
    del tab
'''


@pytest.fixture
def run(pytester, monkeypatch, rescoord_bin):
    monkeypatch.setenv("PYTHONPATH", PKG + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("RESCOORD_BIN", rescoord_bin)
    if os.environ.get("RESCOORD_TEST_NO_QT"):
        monkeypatch.setenv("RESCOORD_NO_QT", "1")

    def _run(*args, plugin=True):
        extra = ["-p", "rescoord.pytest_plugin"] if plugin else []
        return pytester.runpytest_subprocess(*(extra + ["-p", "no:cacheprovider"] + list(args)))

    return _run


def test_a_leaking_test_fails_with_the_leak_trace(pytester, run):
    pytester.makepyfile(test_app=LEAKY)
    r = run("-rA")
    r.assert_outcomes(passed=4, failed=1)
    out = r.stdout.str()
    assert "LEAKED test_app.py::test_leaks_a_worker" in out
    assert "CRITICAL running-orphan" in out
    assert 'worker "analysis-worker"' in out
    assert "leak trace:" in out and "└─ Tab (tab, media_tab)  destroyed" in out
    assert "test_app.py:21 start_analysis" in out  # the creation stack
    assert r.ret == 1


def test_opt_in_mode_checks_every_test(pytester, run):
    pytester.makepyfile(test_app=LEAKY)
    r = run("--rescoord", "-rA")
    r.assert_outcomes(passed=4, failed=2)
    assert "LEAKED test_app.py::test_default_service_unchecked_without_opt_in" in r.stdout.str()


def test_session_junit_and_sarif(pytester, run):
    pytester.makepyfile(test_app=LEAKY)
    junit, sarif = str(pytester.path / "leaks.xml"), str(pytester.path / "leaks.sarif")
    run("--rescoord-junit", junit, "--rescoord-sarif", sarif)
    root = ET.parse(junit).getroot()
    suites = [s.get("name") for s in root.iter("testsuite")]
    assert suites == ["rescoord leaks: test_app.py::" + t for t in
                      ("test_leaks_a_worker", "test_clean", "test_allowed")]
    assert root.get("failures") == "1"
    doc = json.load(open(sarif))
    assert [r["automationDetails"]["id"] for r in doc["runs"]] == [
        "rescoord/pytest/test_app.py::" + t for t in ("test_leaks_a_worker", "test_clean", "test_allowed")]
    assert [res["ruleId"] for res in doc["runs"][0]["results"]] == ["running-orphan"]


def test_marker_without_reason_is_a_usage_error(pytester, run):
    pytester.makepyfile(test_m='''
import pytest
@pytest.mark.rescoord_allow(rule="running-orphan")
def test_x(rescoord_service):
    pass
''')
    r = run()
    assert r.ret != 0
    assert "rescoord_allow needs a reason=" in r.stdout.str() + r.stderr.str()


def test_opt_in_without_binary_is_a_usage_error(pytester, run, monkeypatch):
    monkeypatch.setenv("RESCOORD_BIN", str(pytester.path / "nowhere"))
    monkeypatch.setenv("PATH", "/nonexistent")
    pytester.makepyfile(test_app="def test_x():\n    pass\n")
    r = pytester.runpytest_subprocess("-p", "rescoord.pytest_plugin", "--rescoord")
    assert r.ret == 4  # pytest's usage error
    assert "no rescoord binary" in r.stderr.str()


def test_installed_package_loads_the_plugin_by_entry_point(pytester, run, tmp_path, monkeypatch):
    try:
        import setuptools  # noqa: F401
        pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    except ImportError:
        pip = None
    if pip is None or pip.returncode != 0:
        if os.environ.get("RESCOORD_REQUIRE_INSTALL"):
            pytest.fail("pip and setuptools are needed to test the install")
        pytest.skip("pip or setuptools is missing")
    src = tmp_path / "src"
    shutil.copytree(PKG, str(src), ignore=shutil.ignore_patterns("tests", "__pycache__", "build",
                                                                 "*.egg-info"))
    target = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-build-isolation",
                        "--target", str(target), str(src)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    monkeypatch.setenv("PYTHONPATH", str(target))
    pytester.makepyfile(test_app=LEAKY)
    run(plugin=False).assert_outcomes(passed=4, failed=1)
    # -p rescoord.pytest_plugin as well: loaded once, not an error
    run().assert_outcomes(passed=4, failed=1)
    # and -p no:rescoord turns it off
    r = run("-p", "no:rescoord", plugin=False)
    assert "fixture 'rescoord_service' not found" in r.stdout.str()
