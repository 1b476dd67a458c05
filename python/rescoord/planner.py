"""The cleanup planner of docs/cleanup-ordering.md, in Python.

plan(snapshot, component=None) orders the cleanup of a rescoord/v1
snapshot (a dict) exactly as `rescoord cleanup --dry-run` does: the same
steps, the same order, the same actions and timeouts.  Reasons and the
critical path are not computed here; the emergency cleanup only needs the
order.  Small inputs: a heap-based topological sort, O(n log n).
"""

import heapq
import re

# Strategies and timeouts (docs/cleanup-ordering.md, "Strategies and timeouts").
STRATEGIES = {
    "worker": (("cancel", "quit", "wait", "terminate"), 2000),
    "thread": (("cancel", "quit", "wait", "terminate"), 2000),
    "process": (("terminate", "wait", "kill"), 5000),
    "timer": (("stop",), 0),
    "file": (("close",), 0),
    "socket": (("close",), 0),
    "qobject": (("disconnect", "deleteLater"), 0),
    "memory": (("release",), 0),
    "pool": (("release",), 0),
    "custom": (("release",), 0),
}
_RELEASE = (("release",), 0)
_TYPE_CLASS = {"worker": 0, "thread": 0, "process": 0, "timer": 1,
               "socket": 2, "file": 2, "qobject": 3}
DEFAULT_CALLBACK_TIMEOUT_MS = 5000
_LIVE = ("active", "releasing")

# Absent created_at sorts as the oldest; "newest first" sorts by -ns.
_ABSENT = float("inf")
_MISSING_DEPTH = float("inf")


class CycleError(ValueError):
    """The hard constraints form a cycle: there is no plan."""

    def __init__(self, members):
        self.members = members
        super().__init__("no cleanup plan: the hard constraints form a cycle: "
                         + " → ".join(members))


_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_time_ns(s):
    """RFC 3339 → nanoseconds since the epoch (None for None)."""
    if s is None:
        return None
    m = _TS.match(s)
    if not m:
        raise ValueError("not an RFC 3339 time: %r" % (s,))
    import calendar

    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7) or ""
    ns = int((frac[1:] + "000000000")[:9]) if frac else 0
    secs = calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0))
    tz = m.group(8)
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        secs -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return secs * 1000000000 + ns


def _created_sort(obj):
    ns = parse_time_ns(obj.get("created_at"))
    return _ABSENT if ns is None else -ns


def strategy_of(res):
    """(actions, timeout_ms) of a resource, with its cleanup override."""
    actions, timeout = STRATEGIES.get(res["type"], _RELEASE)
    cl = res.get("cleanup") or {}
    strat = cl.get("strategy")
    if strat in STRATEGIES:  # an unknown strategy name is ignored
        actions, timeout = STRATEGIES[strat]
    if cl.get("timeout_ms") is not None:
        timeout = cl["timeout_ms"]
    return actions, timeout


def plan(snap, component=None):
    """Return the steps, in order: dicts with order, kind, id, component,
    name, type (resource steps only), actions, timeout_ms, index (the
    position of the cleanup, resource or component in the snapshot) and
    after: the orders, ascending, of the step's direct predecessors by the
    hard constraints (the Go planner's Step.After): for a resource, its
    component's callbacks and the resources that depend on it; for a
    component step, its callbacks, its resources and the component steps
    of its nearest alive descendants; none for a callback."""
    comps = {c["id"]: c for c in snap.get("components") or []}
    kids = {}
    for c in comps.values():
        p = c.get("parent")
        if p is not None and p in comps:
            kids.setdefault(p, []).append(c["id"])

    depth = {}
    for cid in comps:
        chain = []
        cur = cid
        while cur not in depth:
            chain.append(cur)
            p = comps[cur].get("parent")
            if p is None or p not in comps:
                depth[cur] = 0
                chain.pop()
                break
            cur = p
        for x in reversed(chain):
            depth[x] = depth[comps[x]["parent"]] + 1

    if component is None:
        scope = set(comps)
    else:
        if component not in comps:
            raise KeyError("no component %r" % (component,))
        scope, todo = set(), [component]
        while todo:
            x = todo.pop()
            scope.add(x)
            todo.extend(kids.get(x, ()))

    def alive(cid):
        return cid in comps and comps[cid]["state"] == "alive"

    comp_key = {}

    def ckey(cid):
        k = comp_key.get(cid)
        if k is None:
            if cid in comps:
                k = (-depth[cid], _created_sort(comps[cid]), cid)
            else:
                k = (-_MISSING_DEPTH, _ABSENT, cid)
            comp_key[cid] = k
        return k

    steps = []  # each: dict; keys in parallel list
    keys = []

    def add(step, key):
        step["_n"] = len(steps)
        steps.append(step)
        keys.append(key)
        return step["_n"]

    callbacks_of, resources_of, comp_step = {}, {}, {}
    for i, cb in enumerate(snap.get("cleanups") or []):
        cid = cb["component"]
        if cid not in scope or not alive(cid):
            continue
        t = cb.get("timeout_ms")
        cbid = cb.get("id") or "%s#%d" % (cid, i)
        n = add({"kind": "callback", "id": cbid, "name": cb.get("name") or cbid,
                 "component": cid, "actions": ["call"],
                 "timeout_ms": DEFAULT_CALLBACK_TIMEOUT_MS if t is None else t,
                 "index": i},
                ckey(cid) + (0, -cb["priority"], i))
        callbacks_of.setdefault(cid, []).append(n)

    res_step = {}
    for i, r in enumerate(snap.get("resources") or []):
        if r["state"] not in _LIVE:
            continue
        owner = r["owner"]
        if component is not None and owner not in scope:
            continue
        actions, timeout = strategy_of(r)
        n = add({"kind": "resource", "id": r["id"], "name": r.get("name") or r["id"], "component": owner,
                 "type": r["type"], "actions": list(actions),
                 "timeout_ms": timeout, "index": i},
                ckey(owner) + (1, _TYPE_CLASS.get(r["type"], 4), _created_sort(r), r["id"]))
        res_step[r["id"]] = n
        resources_of.setdefault(owner, []).append(n)

    for i, c in enumerate(snap.get("components") or []):
        cid = c["id"]
        if cid in scope and c["state"] == "alive":
            comp_step[cid] = add({"kind": "component", "id": cid, "name": c.get("name") or cid,
                                  "component": cid,
                                  "actions": ["mark destroyed"], "timeout_ms": 0,
                                  "index": i},
                                 ckey(cid) + (2,))

    succ = [set() for _ in steps]
    # 1. dependencies: A uses B => A before B.
    for i, r in enumerate(snap.get("resources") or []):
        a = res_step.get(r["id"])
        if a is None or steps[a]["index"] != i:
            continue
        for dep in r.get("depends_on") or ():
            b = res_step.get(dep)
            if b is not None:
                succ[a].add(b)
    # 2. a component's callbacks before its resources.
    for cid, cbs in callbacks_of.items():
        for cb in cbs:
            for rs in resources_of.get(cid, ()):
                succ[cb].add(rs)
    # 3. a component after its callbacks, resources and nearest alive descendants.
    for cid, n in comp_step.items():
        for x in callbacks_of.get(cid, ()):
            succ[x].add(n)
        for x in resources_of.get(cid, ()):
            succ[x].add(n)
        todo = list(kids.get(cid, ()))
        while todo:
            k = todo.pop()
            if k in comp_step:
                succ[comp_step[k]].add(n)
            else:
                todo.extend(kids.get(k, ()))

    indeg = [0] * len(steps)
    for s in succ:
        for b in s:
            indeg[b] += 1
    heap = [(keys[i], i) for i in range(len(steps)) if indeg[i] == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, i = heapq.heappop(heap)
        out.append(i)
        for b in succ[i]:
            indeg[b] -= 1
            if indeg[b] == 0:
                heapq.heappush(heap, (keys[b], b))
    if len(out) != len(steps):
        stuck = [steps[i] for i in range(len(steps)) if indeg[i] > 0]
        raise CycleError(["%s %s" % (s["kind"], s["id"]) for s in stuck])

    order_of = [0] * len(steps)
    for order, i in enumerate(out, 1):
        order_of[i] = order
    preds = [[] for _ in steps]
    for a, s in enumerate(succ):
        for b in s:
            preds[b].append(order_of[a])
    result = []
    for order, i in enumerate(out, 1):
        st = dict(steps[i])
        del st["_n"]
        st["order"] = order
        st["after"] = sorted(preds[i])
        result.append(st)
    return result


MAX_WAITING = 10


def waiting_on(steps, i, limit=MAX_WAITING):
    """The first limit steps after steps[i] (in plan order) that follow it,
    directly or through others, by the hard constraints (their "after"),
    and how many there are: the steps that wait for steps[i]."""
    reached = {steps[i]["order"]}
    first, total = [], 0
    for st in steps[i + 1:]:
        if any(o in reached for o in st.get("after") or ()):
            reached.add(st["order"])
            total += 1
            if len(first) < limit:
                first.append(st)
    return first, total
