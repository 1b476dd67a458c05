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
            if rng.random() < 0.15:  # cycles too
                r.setdefault("depends_on", []).append("r%02d" % rng.randrange(len(snap["resources"])))
        snap["limits"] = {"global_bytes": rng.choice([0, 500, 5000]),
                          "components": {"c%d" % rng.randrange(12): rng.randrange(300)}}
        assert leakcount.count(snap) == binary_counts(rc, snap), i
