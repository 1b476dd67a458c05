"""Counts the live resources whose owner is destroyed or missing: the
analysis at the heart of `rescoord leaks`, written as users would in Python.

    python3 bench/orphans.py snapshot.json
"""
import json
import sys


def main(path):
    with open(path) as f:
        snap = json.load(f)
    state = {c["id"]: c["state"] for c in snap["components"]}
    n = sum(
        1
        for r in snap["resources"]
        if r["state"] in ("active", "releasing")
        and state.get(r["owner"], "destroyed") == "destroyed"
    )
    print(n)


if __name__ == "__main__":
    main(sys.argv[1])
