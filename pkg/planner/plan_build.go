package planner

import (
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/rescoord/rescoord/internal/hugemem"
)

// build turns the placed nodes into the Plan. fillBehind has filled the
// steps before from; the others are filled here, in ranges of the plan,
// concurrently. A lazy plan has no steps yet: it keeps the planner to
// fill them on demand (Plan.All, StepFiller).
func (p *planner) build(steps []Step, from int, lazy bool) *Plan {
	p.parallel(len(steps)-from, nil, func(_, lo, hi int) {
		p.newStepFiller(steps, from+lo, hi-lo).fill(from+lo, from+hi)
	})
	plan := &Plan{Steps: steps, Summary: Summary{Steps: int(p.nSteps)}}
	if lazy {
		plan.lazy = p
		p.notePrev()
	}
	// The heaviest chain ends at the last step that finishes latest.
	end := -1
	for k, u := range p.seq {
		d := p.nodes[u].dist
		plan.Summary.WorstCaseMS = addSat(plan.Summary.WorstCaseMS, p.nodes[u].weight)
		if end < 0 || d >= p.nodes[p.seq[end]].dist {
			end = k
		}
	}
	if end >= 0 {
		plan.Summary.CriticalPathMS = p.nodes[p.seq[end]].dist
		for o := int32(end + 1); o > 0; o = p.nodes[p.seq[o-1]].pred {
			plan.CriticalPath = append(plan.CriticalPath, int(o))
		}
		slices.Reverse(plan.CriticalPath)
	}
	if p.root >= 0 {
		plan.Warnings = p.warnings()
	}
	return plan
}

// fillBehind fills, on another core, the steps that order has placed
// while order goes on placing the others: filling a step takes several
// times as long as placing it, and order runs on one core. It starts once
// the steps' pages are faulted in. Call stop once the ordering is over:
// the filling stops, and stop returns how many steps, from the first,
// are filled.
func (p *planner) fillBehind(steps []Step, stepsReady <-chan struct{}) (stop func() int) {
	if p.workers == 1 || len(steps) == 0 { // one core, or a lazy plan
		return func() int {
			<-stepsReady
			return 0
		}
	}
	var over atomic.Bool
	filled := make(chan int)
	go func() {
		<-stepsReady
		f := p.newStepFiller(steps, 0, len(steps)/p.workers)
		k := 0
		for !over.Load() {
			batch := int(p.fillBatch)
			if int(p.progress.Load()) < k+batch {
				runtime.Gosched() // rare: order is the faster
				continue
			}
			f.fill(k, k+batch)
			k += batch
		}
		filled <- k
	}()
	return func() int {
		over.Store(true)
		return <-filled
	}
}

// stepFiller fills steps, in plan order: their fields, their After
// lists and their reasons. Most reasons are constants; the others (and
// the ids of callbacks without one) are appended one after another to one
// buffer, and each step's string points into it. The After lists follow
// each other in large arrays.
type stepFiller struct {
	p     *planner
	steps []Step // the step of plan position k is steps[k-first]
	first int
	prev  int32 // the largest node placed before the step being filled
	buf   []byte
	after []int
}

// newStepFiller prepares to fill the steps from at on, about n of them:
// into steps[at:] when steps holds the whole plan, else into steps[0:].
func (p *planner) newStepFiller(steps []Step, at, n int) *stepFiller {
	f := new(stepFiller)
	p.resetStepFiller(f, steps, at, n)
	return f
}

// resetStepFiller prepares f as newStepFiller does, keeping its buffers
// where they are large enough: what f filled before is then overwritten.
func (p *planner) resetStepFiller(f *stepFiller, steps []Step, at, n int) {
	f.p, f.steps, f.first, f.prev = p, steps, 0, p.prevBefore(at)
	if len(steps) < int(p.nSteps) {
		f.first = at
	}
	// About one step in three has a reason of its own, of some 30 bytes,
	// and each step has one or two predecessors.
	if cap(f.buf) < 12*n+256 {
		f.buf = hugemem.Make[byte](12*n + 256)
	}
	if cap(f.after) < 2*n+64 {
		f.after = hugemem.Make[int](2*n + 64)
	}
	f.buf, f.after = f.buf[:0], f.after[:0]
}

// fill fills the steps at [lo, hi), which must follow the ones filled
// before.
func (f *stepFiller) fill(lo, hi int) {
	p, s := f.p, f.p.snap
	for k := lo; k < hi; k++ {
		u := p.seq[k]
		n := &p.nodes[u]
		st := &f.steps[k-f.first]
		st.Order = k + 1
		st.Index = int(n.idx)
		st.TimeoutMS = n.weight
		switch n.kind {
		case nodeCallback:
			c := &s.Cleanups[n.idx]
			st.Kind = KindCallback
			st.ID = c.ID
			if st.ID == "" {
				st.ID = f.callbackID(c.Component, n.idx)
			}
			st.Component = c.Component
			st.Actions = actionsCall
			st.Name = c.Name
			if st.Name == "" {
				st.Name = st.ID
			}
		case nodeResource:
			r := &s.Resources[n.idx]
			st.Kind = KindResource
			st.ID = r.ID
			st.Component = r.Owner
			st.Type = r.Type
			st.Actions = planStrategies[p.info[n.idx].strat].actions
			st.Name = r.DisplayName()
		case nodeComponent:
			c := &s.Components[n.idx]
			st.Kind = KindComponent
			st.ID = c.ID
			st.Component = c.ID
			st.Actions = actionsMarkDestroyed
			st.Name = c.DisplayName()
		}
		if count := p.afterLen(u); count > 0 {
			if cap(f.after)-len(f.after) < count {
				// The lists filled so far keep the old array. The new
				// one is at least twice as large, and the next ranges
				// reuse it: a filler grows a few times in all, rather
				// than twice per range (docs/performance.md, "No
				// garbage left by growth").
				f.after = hugemem.Make[int](max(count, 2*(hi-k), 2*cap(f.after)))[:0]
			}
			from := len(f.after)
			f.after = p.appendAfter(f.after, u)
			st.After = f.after[from:len(f.after):len(f.after)]
		}
		st.Reason = f.reason(st, u)
	}
}

// prevBlock is how many plan positions one entry of planner.prevMax covers.
const prevBlock = 1024

// notePrev notes, for every prevBlock-th plan position, the largest node
// placed before it, so that a lazy plan's steps can be filled from
// anywhere without reading the plan from its start.
func (p *planner) notePrev() {
	p.prevMax = make([]int32, (len(p.seq)+prevBlock-1)/prevBlock)
	prev := int32(-1)
	for k, u := range p.seq {
		if k%prevBlock == 0 {
			p.prevMax[k/prevBlock] = prev
		}
		prev = max(prev, u)
	}
}

// prevBefore is the largest node placed before plan position at, -1 if none.
func (p *planner) prevBefore(at int) int32 {
	prev, from := int32(-1), 0
	if b := at / prevBlock; b < len(p.prevMax) {
		prev, from = p.prevMax[b], b*prevBlock
	}
	for _, u := range p.seq[from:at] {
		prev = max(prev, u)
	}
	return prev
}

// afterLen is the length of step u's After list: its direct predecessors.
func (p *planner) afterLen(u int32) int {
	n := &p.nodes[u]
	g := &p.groups[n.group]
	switch n.kind {
	case nodeResource:
		k := int(p.revStart[u+1] - p.revStart[u])
		if g.barrier >= 0 {
			k += int(g.ncb)
		}
		return k
	case nodeComponent:
		k := int(g.resEnd - g.cbStart)
		for c := g.kids; c >= 0; c = p.groups[c].sibling {
			k++
		}
		return k
	}
	return 0
}

// appendAfter appends the orders of step u's direct predecessors to list,
// ascending: for a resource, its component's callbacks and the resources
// that depend on it; for a component, its callbacks, its resources and
// the component steps whose next it is (its nearest alive descendants).
// It appends afterLen(u) orders.
func (p *planner) appendAfter(list []int, u int32) []int {
	n := &p.nodes[u]
	g := &p.groups[n.group]
	from := len(list)
	switch n.kind {
	case nodeResource:
		if g.barrier >= 0 {
			for c := g.cbStart; c < g.resStart; c++ {
				list = append(list, int(p.nodes[c].indeg))
			}
		}
		for _, v := range p.revList[p.revStart[u]:p.revStart[u+1]] {
			list = append(list, int(p.nodes[v].indeg))
		}
	case nodeComponent:
		for v := g.cbStart; v < g.resEnd; v++ {
			list = append(list, int(p.nodes[v].indeg))
		}
		for c := g.kids; c >= 0; c = p.groups[c].sibling {
			list = append(list, int(p.nodes[p.groups[c].comp].indeg))
		}
	}
	slices.Sort(list[from:])
	return list
}

// warnings name the live resources outside a subtree scope that depend on
// one inside it, in snapshot order.
func (p *planner) warnings() []string {
	var out []string
	res := p.snap.Resources
	for ri := range res {
		r := &res[ri]
		if p.resNode[ri] >= 0 || !r.Live() || len(r.DependsOn) == 0 {
			continue
		}
		for k, dep := range r.DependsOn {
			rj, ok := p.ix.ResourceIndex(dep)
			if !ok || p.resNode[rj] < 0 || slices.Contains(r.DependsOn[:k], dep) {
				continue
			}
			out = append(out, r.ID+" (owner "+r.Owner+", outside the scope) depends on "+dep+", which this plan releases")
		}
	}
	return out
}
