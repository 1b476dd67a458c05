"""Leak finding counts by rule and severity, for GET /metrics.

The rules are docs/leaks.md's, without grace, max age or suppressions (as
pkg/registry's metrics use them by default); only the counts, not the
messages, paths or signatures that `rescoord leaks` reports.
"""

_LIVE = ("active", "releasing")
_RUNS = ("worker", "thread", "timer", "process")

# Every rule the metric exposes, with its severity, in Go's order
# (metrics.ExportedRules: every rule one snapshot can show; growth, the
# suppression rules and untracked-resource are not).
RULES = (
    ("running-orphan", "critical"),
    ("running-under-orphan", "critical"),
    ("orphaned-resource", "error"),
    ("over-component-limit", "error"),
    ("over-global-limit", "error"),
    ("cleanup-cycle", "error"),
    ("orphaned-component", "warning"),
    ("dangling-dependency", "warning"),
    ("stale-resource", "warning"),
    ("leaked-goroutine", "critical"),
)


def count(snap):
    """{rule: count} of the findings in a snapshot dict."""
    n = {r: 0 for r, _ in RULES}
    comps = {c["id"]: c for c in snap.get("components") or []}
    res = {r["id"]: r for r in snap.get("resources") or []}
    live = [r for r in snap.get("resources") or [] if r["state"] in _LIVE]

    def gone(cid):
        c = comps.get(cid)
        return c is None or c["state"] == "destroyed"

    above = {}

    def gone_above(cid):
        """Whether a component has a destroyed or missing ancestor."""
        chain, seen = [], set()
        c = cid
        ans = False
        while True:
            if c in above:
                ans = above[c]
                break
            comp = comps.get(c)
            p = comp.get("parent") if comp else None
            if not p or c in seen:
                break
            seen.add(c)
            chain.append(c)
            if gone(p):
                ans = True
                break
            c = p
        for x in chain:
            above[x] = ans
        return ans

    for r in live:
        runs = r["type"] in _RUNS and r.get("running") is True
        if gone(r["owner"]):
            if runs:
                n["running-orphan"] += 1
            else:
                n["orphaned-resource"] += 1
        elif runs and gone_above(r["owner"]):
            n["running-under-orphan"] += 1
        if r.get("leaked") is True:
            n["leaked-goroutine"] += 1
        if any(d not in res or res[d]["state"] not in _LIVE for d in r.get("depends_on") or ()):
            n["dangling-dependency"] += 1
    for c in comps.values():
        if c["state"] == "alive" and c.get("parent") is not None and gone(c["parent"]):
            n["orphaned-component"] += 1
    limits = snap.get("limits") or {}
    kids = {}
    for c in comps.values():
        if c.get("parent") in comps:
            kids.setdefault(c["parent"], []).append(c["id"])
    own = {}
    for r in live:
        own[r["owner"]] = own.get(r["owner"], 0) + (r.get("size_bytes") or 0)
    for cid, lim in (limits.get("components") or {}).items():
        if not lim or cid not in comps:
            continue
        total, todo = 0, [cid]
        while todo:
            x = todo.pop()
            total += own.get(x, 0)
            todo.extend(kids.get(x, ()))
        if total > lim:
            n["over-component-limit"] += 1
    g = limits.get("global_bytes")
    if g and sum(r.get("size_bytes") or 0 for r in live) > g:
        n["over-global-limit"] += 1
    n["cleanup-cycle"] = _cycles({r["id"]: r for r in live})
    return n


def _cycles(live):
    """Strongly connected sets of live resources linked by depends_on that
    form a cycle (more than one member, or one that depends on itself)."""
    index, low, on, stack, out = {}, {}, set(), [], [0]
    counter = [0]
    edges = {k: [d for d in (r.get("depends_on") or ()) if d in live] for k, r in live.items()}
    for root in live:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(edges[w])))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                members = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    members.append(w)
                    if w == v:
                        break
                if len(members) > 1 or v in edges[v]:
                    out[0] += 1
    return out[0]
