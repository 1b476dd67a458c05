package planner

import (
	"strconv"
	"unsafe"
)

// since returns what was appended from buf[from:] on, as a string that
// shares the buffer. Like strings.Builder, stepFiller never changes a byte
// it has handed out: when the buffer grows, the strings keep the old one.
func (f *stepFiller) since(from int) string {
	if len(f.buf) == from {
		return ""
	}
	return unsafe.String(&f.buf[from], len(f.buf)-from)
}

// callbackID is the id of a callback step whose cleanup has none:
// COMPONENT#N, N its index in cleanups.
func (f *stepFiller) callbackID(component string, index int32) string {
	from := len(f.buf)
	f.buf = append(f.buf, component...)
	f.buf = append(f.buf, '#')
	f.buf = strconv.AppendInt(f.buf, int64(index), 10)
	return f.since(from)
}

// reason gives step st, node u, the single most telling reason for its
// position: for a component step, what it follows; else the constraint
// that held it back; else the dependency that makes it come first; else
// the first field of the key that sets it apart from the step before it
// in key order. The steps must be given in plan order.
func (f *stepFiller) reason(st *Step, u int32) string {
	from := len(f.buf)
	r := f.reasonOf(st, u)
	f.prev = max(f.prev, u)
	if len(f.buf) > from {
		return f.since(from)
	}
	return r
}

// componentAfter names what a component step follows, by a mask of
// callbacks (1), resources (2) and child components (4).
var componentAfter = [...]string{
	"", "after its callbacks", "after its resources", "after its callbacks and resources",
	"after its children", "after its callbacks and children", "after its resources and children",
	"after its callbacks, resources and children",
}

// resourceNotes name the first field of the key that sets a resource step
// apart from a resource step before it in its group, by resourceNote.
var resourceNotes = [...]string{
	"type order: after workers", "type order: after timers", "type order: after files and sockets", "type order: after qobjects",
	"newest first", "by id",
}

// resourceNote compares the keys of two resources of one group, a before
// b, for resourceNotes. numberGroup notes it while the keys are at hand.
func resourceNote(a, b *resKey) uint8 {
	switch {
	case a.class != b.class:
		return uint8(a.class) // the earlier class: 0 to 3
	case newerFirst(a.sec, a.nsec, b.sec, b.nsec) != 0:
		return 4
	}
	return 5
}

// nodeAt is the node of the step of the given order.
func (p *planner) nodeAt(order int) *planNode { return &p.nodes[p.seq[order-1]] }

// reasonOf returns a constant reason, or appends a built one to the buffer.
func (f *stepFiller) reasonOf(st *Step, u int32) string {
	p := f.p
	kind := p.nodes[u].kind
	if kind == nodeComponent && len(st.After) > 0 {
		var mask int
		for _, o := range st.After {
			switch p.nodeAt(o).kind {
			case nodeCallback:
				mask |= 1
			case nodeResource:
				mask |= 2
			default:
				mask |= 4
			}
		}
		return componentAfter[mask]
	}
	if n := len(st.After); n > 0 && u < f.prev { // held back
		last := p.nodeAt(st.After[n-1])
		if last.kind != nodeResource {
			return "after its callbacks"
		}
		f.buf = append(f.buf, "after "...)
		f.buf = append(f.buf, p.snap.Resources[last.idx].ID...)
		f.buf = append(f.buf, ", which depends on it"...)
		return ""
	}
	if kind == nodeResource {
		if deps := p.depsOf(u); len(deps) > 0 {
			f.before(deps)
			return ""
		}
	}
	return f.keyReason(u)
}

// before names the resources a step depends on: "before r-1001: depends
// on it".
func (f *stepFiller) before(deps []int32) {
	const shown = 3
	p := f.p
	f.buf = append(f.buf, "before "...)
	for k, v := range deps {
		if k == shown {
			f.buf = append(f.buf, " and "...)
			f.buf = strconv.AppendInt(f.buf, int64(len(deps)-shown), 10)
			f.buf = append(f.buf, " more"...)
			break
		}
		if k > 0 {
			f.buf = append(f.buf, ", "...)
		}
		f.buf = append(f.buf, p.snap.Resources[p.nodes[v].idx].ID...)
	}
	if len(deps) == 1 {
		f.buf = append(f.buf, ": depends on it"...)
	} else {
		f.buf = append(f.buf, ": depends on them"...)
	}
}

// keyReason compares the step with prev, the step before it in key order.
func (f *stepFiller) keyReason(u int32) string {
	p, prev := f.p, f.prev
	g := &p.groups[p.nodes[u].group]
	if prev < 0 {
		if g.ci < 0 {
			return "owner missing: first"
		}
		if u == 0 {
			f.buf = append(f.buf, "deepest first (depth "...)
		} else { // deeper steps wait for others
			f.buf = append(f.buf, "deepest ready first (depth "...)
		}
		f.buf = strconv.AppendInt(f.buf, int64(g.depth), 10)
		f.buf = append(f.buf, ')')
		return ""
	}
	pg := &p.groups[p.nodes[prev].group]
	if pg != g {
		switch {
		case g.ci < 0:
			return "owner missing: by owner id"
		case pg.depth != g.depth:
			f.buf = append(f.buf, "deeper first (depth "...)
			f.buf = strconv.AppendInt(f.buf, int64(g.depth), 10)
			f.buf = append(f.buf, ')')
			return ""
		case newerFirst(pg.sec, pg.nsec, g.sec, g.nsec) != 0:
			return "newest component first"
		}
		return "by component id"
	}
	un, pn := &p.nodes[u], &p.nodes[prev]
	switch un.kind {
	case nodeCallback:
		cb := p.snap.Cleanups
		prio := cb[un.idx].Priority
		f.buf = append(f.buf, "priority "...)
		f.buf = strconv.AppendInt(f.buf, prio, 10)
		if pn.kind == nodeCallback && cb[pn.idx].Priority == prio {
			f.buf = append(f.buf, ", snapshot order"...)
		}
		return ""
	case nodeResource:
		if pn.kind != nodeResource {
			return "after its callbacks"
		}
		if prev == u-1 {
			return resourceNotes[un.note]
		}
		a, b := p.resKey(pn.idx), p.resKey(un.idx)
		return resourceNotes[resourceNote(&a, &b)]
	}
	return "last of its component"
}
