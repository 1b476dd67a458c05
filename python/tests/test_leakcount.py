"""rescoord.leakcount counts findings as `rescoord leaks` finds them."""

import collections
import glob
import json
import os
import tempfile
import random

from rescoord import leakcount

from rc_helpers import REPO
from test_plan import random_snapshot


def binary_counts(rc, snap):
    # No suppressions: an empty file (rescoord reads only regular files).
    none = os.path.join(tempfile.mkdtemp(), "none.yaml")
    with open(none, "w") as f:
        f.write("suppressions: []\n")
    rep = rc.leaks(snap, "--suppressions", none)
    got = collections.Counter(f["rule"] for f in rep["findings"])
    return {r: got.get(r, 0) for r, _ in leakcount.RULES}


def test_counts_match_binary_on_testdata(rc):
    for p in sorted(glob.glob(os.path.join(REPO, "testdata", "snapshots", "*.json"))):
        snap = json.load(open(p))
        assert leakcount.count(snap) == binary_counts(rc, snap), p


def test_counts_match_binary_on_generated(rc):
    rng = random.Random(7)
    for i in range(30):
        snap = random_snapshot(rng)
        for r in snap["resources"]:
            r["running"] = rng.random() < 0.5
            r["size_bytes"] = rng.randrange(100)
            if rng.random() < 0.1:  # goroutines the runtime found leaked
                r["leaked"] = rng.random() < 0.8
            if rng.random() < 0.15:  # cycles too
                r.setdefault("depends_on", []).append("r%02d" % rng.randrange(len(snap["resources"])))
        snap["limits"] = {"global_bytes": rng.choice([0, 500, 5000]),
                          "components": {"c%d" % rng.randrange(12): rng.randrange(300)}}
        assert leakcount.count(snap) == binary_counts(rc, snap), i


def test_new_rules_are_exercised(rc):
    # running-under-orphan and leaked-goroutine, as Go defines them.
    snap = {"format": "rescoord/v1", "taken_at": "2026-11-27T12:01:00Z",
            "components": [{"id": "win", "state": "destroyed"},
                           {"id": "tab", "parent": "win", "state": "alive"},
                           {"id": "ctl", "parent": "tab", "state": "alive"},
                           {"id": "lost", "parent": "nowhere", "state": "alive"}],
            "resources": [{"id": "w1", "type": "worker", "owner": "ctl", "state": "active", "running": True},
                          {"id": "w2", "type": "thread", "owner": "lost", "state": "active", "running": True},
                          {"id": "w3", "type": "worker", "owner": "ctl", "state": "active", "running": False},
                          {"id": "f1", "type": "file", "owner": "ctl", "state": "active"},
                          {"id": "w4", "type": "worker", "owner": "win", "state": "active", "running": True},
                          {"id": "g1", "type": "goroutine", "owner": "tab", "state": "active", "leaked": True},
                          {"id": "g2", "type": "goroutine", "owner": "tab", "state": "released", "leaked": True}]}
    n = leakcount.count(snap)
    assert n["running-under-orphan"] == 2 and n["running-orphan"] == 1 and n["leaked-goroutine"] == 1
    assert n["orphaned-resource"] == 0 and n["orphaned-component"] == 2
    assert n == binary_counts(rc, snap)
