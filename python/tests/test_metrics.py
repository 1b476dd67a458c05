"""GET /metrics of the Python server is the scheme of pkg/registry/metrics:
the same families, HELP texts, label names and values as `rescoord metrics
--attach` serves for the same registry, and valid for promtool."""

import os
import re
import shutil
import subprocess
import urllib.request

import pytest

from rescoord import ResourceType, leakcount

from rc_helpers import Component, Worker

_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
# Only a registry's own counters: not in a snapshot, so not served by
# `rescoord metrics` (docs/attach.md, "Prometheus metrics").
COUNTERS = {"rescoord_resources_created_total", "rescoord_resources_released_total"}


def parse(text):
    """{family: (help, type, {(sorted labels): value})} of a text exposition."""
    fams = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            name, _, help_ = line[len("# HELP "):].partition(" ")
            fams.setdefault(name, [None, None, {}])[0] = help_
        elif line.startswith("# TYPE "):
            name, _, typ = line[len("# TYPE "):].partition(" ")
            fams.setdefault(name, [None, None, {}])[1] = typ
        elif line.startswith("#"):
            continue
        else:
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
            assert m, line
            labels = tuple(sorted(_LABEL.findall(m.group(3) or "")))
            series = fams[m.group(1)][2]
            assert labels not in series, line
            series[labels] = float(m.group(4))
    return {k: tuple(v) for k, v in fams.items()}


class Thing:
    def close(self):
        pass


@pytest.fixture
def every_rule(svc):
    """A registry with one finding of each rule the Python service can
    produce, and components sharing a type and name."""
    workers = []

    def worker(owner):
        w = Worker("metrics-worker")
        w.start()
        workers.append(w)
        svc.track_resource(owner, ResourceType.WORKER, w)

    main = Component()
    svc.register_component(main, "main", "window", name="Main")
    svc.track_resource(main, ResourceType.MEMORY, None, 100, name="cache")
    svc.set_memory_limit("main", 50)  # over-component-limit
    tabs = [Component(), Component()]
    for i, t in enumerate(tabs):  # same type and name: summed, largest limit, highest use
        svc.register_component(t, "tab-%d" % i, "tab", parent=main, name="Tab")
        svc.track_resource(t, ResourceType.MEMORY, None, 10 * (i + 1))
    svc.set_memory_limit("tab-0", 1000)
    svc.set_memory_limit("tab-1", 400)
    closed, ctl = Component(), Component()
    svc.register_component(closed, "closed", "tab", parent=main, name="Closed")
    svc.register_component(ctl, "ctl", "controller", parent=closed, name="Ctl")  # orphaned-component
    worker(closed)  # running-orphan
    svc.track_resource(closed, ResourceType.MEMORY, None, 5)  # orphaned-resource
    worker(ctl)  # running-under-orphan
    svc.unregister_component(closed)
    used = Thing()
    dep = svc.track_resource(main, ResourceType.FILE_HANDLE, used, name="used")
    user = Thing()  # held weakly: kept here
    svc.track_resource(main, ResourceType.CUSTOM, user, name="user", depends_on=[dep])
    svc.release_resource(main, dep)  # dangling-dependency
    svc.set_global_memory_limit(120)  # over-global-limit: 135 live bytes
    yield svc, (main, tabs, closed, ctl, used, user)
    for w in workers:
        w.cancel()
        w.join()


@pytest.fixture
def served(every_rule, tmp_path):
    svc, _ = every_rule
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    h = svc.serve(address="127.0.0.1:0", gui_thread=False, process_name="pymetrics-test",
                  runtime_dir=str(xdg / "rescoord"))
    try:
        yield h, str(xdg)
    finally:
        h.close()


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
        return r.read().decode()


def go_metrics(rescoord_bin, target, xdg):
    """The body `rescoord metrics --attach target` serves for one scrape."""
    env = dict(os.environ, XDG_RUNTIME_DIR=xdg, NO_COLOR="1")
    p = subprocess.Popen([rescoord_bin, "metrics", "--attach", target, "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()  # "serving the metrics of T at http://ADDR/metrics (Ctrl-C stops)"
        m = re.search(r" at (http://\S+/metrics) ", line)
        assert m, (line, p.poll(), p.stderr.read() if p.poll() is not None else "")
        return get(m.group(1))
    finally:
        p.terminate()
        p.wait(timeout=30)


def test_metrics_text_as_go(served, rescoord_bin):
    h, xdg = served
    py_text = get(h.address + "/metrics")
    py = parse(py_text)
    go = parse(go_metrics(rescoord_bin, h.address, xdg))
    # The same families, HELP, TYPE, label names and values; the Python
    # registry adds only its counters.
    assert set(py) - set(go) == COUNTERS and set(go) <= set(py)
    for name in go:
        assert py[name] == go[name], name
    leaks = py["rescoord_leak_findings"][2]
    got = {dict(k)["rule"]: v for k, v in leaks.items()}
    sev = {dict(k)["rule"]: dict(k)["severity"] for k in leaks}
    assert sev == dict(leakcount.RULES)
    # One finding of each rule the Python service can produce.
    assert got == dict({r: 0 for r, _ in leakcount.RULES},
                       **{r: 1 for r in ("running-orphan", "running-under-orphan", "orphaned-resource",
                                         "over-component-limit", "over-global-limit",
                                         "orphaned-component", "dangling-dependency")})
    # Bounded labels: no component id anywhere.
    for name, (_h, _t, series) in py.items():
        for labels in series:
            assert "component" not in dict(labels), name
            assert not any(v in ("tab-0", "tab-1", "closed", "ctl") for _k, v in labels), (name, labels)
    live = py["rescoord_live_bytes"][2]
    assert live[(("component_name", "Tab"), ("component_type", "tab"), ("type", "memory"))] == 30
    assert py["rescoord_live_resources"][2][
        (("component_name", "Tab"), ("component_type", "tab"), ("type", "memory"))] == 2
    assert py["rescoord_limit_bytes"][2] == {(("component_name", "Main"), ("component_type", "window")): 50,
                                             (("component_name", "Tab"), ("component_type", "tab")): 1000}
    assert py["rescoord_limit_use_ratio"][2][(("component_name", "Tab"), ("component_type", "tab"))] == 20 / 400
    assert py["rescoord_registry_limit_bytes"][2] == {(): 120}
    assert py["rescoord_registry_limit_use_ratio"][2] == {(): 135 / 120}
    assert py["rescoord_registry_live_bytes"][2] == {(): 135}
    assert py["rescoord_components"][2] == {(("state", "alive"),): 4, (("state", "destroyed"),): 1}


def promtool():
    p = shutil.which("promtool")
    if p is None:
        if os.environ.get("RESCOORD_REQUIRE_CONSUMERS") == "1":
            pytest.fail("promtool not found (RESCOORD_REQUIRE_CONSUMERS=1)")
        pytest.skip("promtool not installed")
    return p


def test_promtool_accepts_the_metrics(served, svc):
    tool = promtool()
    h, _ = served
    for text in (get(h.address + "/metrics"),):
        p = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
    # without a limit: the registry limit series are absent
    svc.set_global_memory_limit(0)
    text = get(h.address + "/metrics")
    assert "rescoord_registry_limit_bytes" not in text and "rescoord_registry_limit_use_ratio" not in text
    p = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_clean_registry_has_every_rule_at_zero(svc):
    from rescoord.server import _metrics_text

    fams = parse(_metrics_text(svc.stats(), svc.snapshot()))
    assert {dict(k)["rule"]: v for k, v in fams["rescoord_leak_findings"][2].items()} == \
        {r: 0 for r, _ in leakcount.RULES}
    assert "rescoord_registry_limit_bytes" not in fams and "rescoord_limit_bytes" not in fams
