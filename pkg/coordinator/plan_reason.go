package coordinator

import "strconv"

// fillReasons gives each step the single most telling reason for its
// position: for a component step, what it follows; else the constraint
// that held it back; else the dependency that makes it come first; else
// the first field of the key that sets it apart from the step before it
// in key order.
//
// Most reasons are constants. The others are written one after another
// into one buffer that becomes one string, which the steps share.
func (p *planner) fillReasons(steps []Step) {
	type span struct{ step, from, to int }
	var spans []span
	buf := make([]byte, 0, 24*len(p.depList)+24*len(p.groups))
	prev := int32(-1) // the largest node placed so far
	for k, u := range p.seq {
		n := len(buf)
		var r string
		r, buf = p.reason(buf, steps, &steps[k], u, prev)
		if len(buf) > n {
			spans = append(spans, span{k, n, len(buf)})
		} else {
			steps[k].Reason = r
		}
		prev = max(prev, u)
	}
	all := string(buf)
	for _, s := range spans {
		steps[s.step].Reason = all[s.from:s.to]
	}
}

// componentAfter names what a component step follows, by a mask of
// callbacks (1), resources (2) and child components (4).
var componentAfter = [...]string{
	"", "after its callbacks", "after its resources", "after its callbacks and resources",
	"after its children", "after its callbacks and children", "after its resources and children",
	"after its callbacks, resources and children",
}

var classAfter = [...]string{"type order: after workers", "type order: after timers", "type order: after files and sockets", "type order: after qobjects"}

// reason returns a constant reason, or appends a built one to buf.
func (p *planner) reason(buf []byte, steps []Step, st *Step, u, prev int32) (string, []byte) {
	kind := p.kind[u]
	if kind == nodeComponent && len(st.After) > 0 {
		var mask int
		for _, o := range st.After {
			switch steps[o-1].Kind {
			case KindCallback:
				mask |= 1
			case KindResource:
				mask |= 2
			default:
				mask |= 4
			}
		}
		return componentAfter[mask], buf
	}
	if n := len(st.After); n > 0 && u < prev { // held back
		last := &steps[st.After[n-1]-1]
		if last.Kind != KindResource {
			return "after its callbacks", buf
		}
		buf = append(buf, "after "...)
		buf = append(buf, last.ID...)
		return "", append(buf, ", which depends on it"...)
	}
	if kind == nodeResource {
		if deps := p.depListID[p.depStart[u]:p.depStart[u+1]]; len(deps) > 0 {
			return "", beforeReason(buf, deps)
		}
	}
	return p.keyReason(buf, u, prev)
}

// beforeReason names the resources a step depends on: "before r-1001:
// depends on it".
func beforeReason(buf []byte, deps []string) []byte {
	const shown = 3
	buf = append(buf, "before "...)
	for k, v := range deps {
		if k == shown {
			buf = append(buf, " and "...)
			buf = strconv.AppendInt(buf, int64(len(deps)-shown), 10)
			buf = append(buf, " more"...)
			break
		}
		if k > 0 {
			buf = append(buf, ", "...)
		}
		buf = append(buf, v...)
	}
	if len(deps) == 1 {
		return append(buf, ": depends on it"...)
	}
	return append(buf, ": depends on them"...)
}

// keyReason compares the step with prev, the step before it in key order.
func (p *planner) keyReason(buf []byte, u, prev int32) (string, []byte) {
	g := &p.groups[p.group[u]]
	if prev < 0 {
		if g.ci < 0 {
			return "owner missing: first", buf
		}
		if u == 0 {
			buf = append(buf, "deepest first (depth "...)
		} else { // deeper steps wait for others
			buf = append(buf, "deepest ready first (depth "...)
		}
		buf = strconv.AppendInt(buf, int64(g.depth), 10)
		return "", append(buf, ')')
	}
	pg := &p.groups[p.group[prev]]
	if pg != g {
		switch {
		case g.ci < 0:
			return "owner missing: by owner id", buf
		case pg.depth != g.depth:
			buf = append(buf, "deeper first (depth "...)
			buf = strconv.AppendInt(buf, int64(g.depth), 10)
			return "", append(buf, ')')
		case newerFirst(pg.sec, pg.nsec, g.sec, g.nsec) != 0:
			return "newest component first", buf
		}
		return "by component id", buf
	}
	switch p.kind[u] {
	case nodeCallback:
		cb := p.snap.Cleanups
		prio := cb[p.idx[u]].Priority
		buf = append(buf, "priority "...)
		buf = strconv.AppendInt(buf, prio, 10)
		if p.kind[prev] == nodeCallback && cb[p.idx[prev]].Priority == prio {
			buf = append(buf, ", snapshot order"...)
		}
		return "", buf
	case nodeResource:
		if p.kind[prev] != nodeResource {
			return "after its callbacks", buf
		}
		a, b := &p.meta[p.idx[prev]], &p.meta[p.idx[u]]
		if a.class != b.class {
			return classAfter[a.class], buf
		}
		if newerFirst(a.sec, a.nsec, b.sec, b.nsec) != 0 {
			return "newest first", buf
		}
		return "by id", buf
	}
	return "last of its component", buf
}
