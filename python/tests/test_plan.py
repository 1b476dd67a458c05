"""rescoord.planner orders a cleanup exactly as `rescoord cleanup --dry-run`."""

import glob
import json
import os
import random

import pytest

from rescoord import planner as P

from rc_helpers import REPO

SNAPS = sorted(glob.glob(os.path.join(REPO, "testdata", "snapshots", "*.json")))


def steps_of(steps):
    return [(s["kind"], s["id"], s["component"], s.get("type"), list(s["actions"]), s["timeout_ms"])
            for s in steps]


def load(path):
    with open(path) as f:
        return json.load(f)


@pytest.mark.parametrize("path", [p for p in SNAPS if "cycle" not in p], ids=os.path.basename)
def test_plan_matches_binary_whole_registry(rc, path):
    snap = load(path)
    assert steps_of(P.plan(snap)) == steps_of(rc.plan(snap))


def test_plan_matches_binary_every_subtree(rc):
    snap = load(os.path.join(REPO, "testdata", "snapshots", "media-app.json"))
    for c in snap["components"]:
        assert steps_of(P.plan(snap, c["id"])) == steps_of(rc.plan(snap, c["id"])), c["id"]


@pytest.mark.parametrize("path", [p for p in SNAPS if "cycle" in p], ids=os.path.basename)
def test_plan_refuses_cycles(path):
    with pytest.raises(P.CycleError):
        P.plan(load(path))


def random_snapshot(rng, n_comps=12, n_res=30):
    comps, res, cleanups = [], [], []
    types = ["worker", "thread", "timer", "process", "file", "socket", "qobject", "memory", "pool",
             "custom", "thumbnail"]
    for i in range(n_comps):
        c = {"id": "c%d" % i, "state": rng.choice(["alive", "alive", "destroyed"])}
        if i and rng.random() < 0.85:
            c["parent"] = "c%d" % rng.randrange(i) if rng.random() < 0.9 else "gone%d" % i
        if rng.random() < 0.8:
            c["created_at"] = "2026-11-27T12:00:%02d.%03dZ" % (rng.randrange(3), rng.randrange(1000))
        comps.append(c)
    for i in range(n_res):
        r = {"id": "r%02d" % i, "type": rng.choice(types),
             "owner": "c%d" % rng.randrange(n_comps) if rng.random() < 0.9 else "missing%d" % rng.randrange(2),
             "state": rng.choice(["active", "active", "releasing", "released"])}
        if rng.random() < 0.7:
            r["created_at"] = "2026-11-27T12:00:%02d+01:00" % rng.randrange(60)
        if i and rng.random() < 0.3:  # only on older resources: no cycles
            r["depends_on"] = ["r%02d" % rng.randrange(i) for _ in range(rng.randrange(1, 3))]
        if rng.random() < 0.2:
            r["cleanup"] = {"strategy": rng.choice(["worker", "process", "bogus"]),
                            "timeout_ms": rng.choice([None, 0, 750])}
        res.append(r)
    for i in range(rng.randrange(8)):
        cb = {"component": "c%d" % rng.randrange(n_comps), "priority": rng.randrange(-2, 3)}
        if rng.random() < 0.5:
            cb["id"] = "cb%d" % i
        if rng.random() < 0.5:
            cb["timeout_ms"] = rng.randrange(3000)
        cleanups.append(cb)
    return {"format": "rescoord/v1", "taken_at": "2026-11-27T12:01:00Z",
            "components": comps, "resources": res, "cleanups": cleanups}


def test_plan_matches_binary_on_generated_registries(rc):
    rng = random.Random(16)
    for n in range(40):
        snap = random_snapshot(rng)
        assert steps_of(P.plan(snap)) == steps_of(rc.plan(snap)), n
        root = rng.choice(snap["components"])["id"]
        assert steps_of(P.plan(snap, root)) == steps_of(rc.plan(snap, root)), (n, root)


def test_parse_time_ns():
    assert P.parse_time_ns("1970-01-01T00:00:01.5Z") == 1500000000
    assert P.parse_time_ns("1970-01-01T01:00:00+01:00") == 0
    assert P.parse_time_ns(None) is None
    with pytest.raises(ValueError):
        P.parse_time_ns("yesterday")
