package coordinator

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// How the planner works, in O(steps + edges) apart from sorting within
// each component:
//
//  1. scanResources reads every resource once, in snapshot order, into a
//     compact resMeta (key fields, strategy, whether it has a step) and
//     resolves depends_on ids to positions.
//  2. collectGroups gathers the steps of each component (and of each
//     missing owner) and sorts these groups by the first two key fields.
//  3. numberNodes numbers the steps in key order: group by group,
//     callbacks, then resources, then the component step. From then on a
//     smaller node id is a smaller key, and the key is never compared again.
//  4. order is Kahn's algorithm taking the smallest ready node. Most steps
//     are ready when their turn in key order comes, so a cursor walks the
//     node ids and a binary heap holds only the steps that became ready
//     after the cursor passed them (the ones a constraint held back).
//  5. build fills the Steps, their After lists, reasons and figures.

// Node kinds. Step nodes come first; barrier nodes after every step node.
const (
	nodeCallback uint8 = iota
	nodeResource
	nodeComponent
	// nodeBarrier joins a component's callbacks to its resources, so that
	// K callbacks and M resources cost K+M edges rather than K×M. It is no
	// step: it is passed the moment its last callback is placed.
	nodeBarrier
)

// resMeta is what the plan needs of one resource.
type resMeta struct {
	sec    int64 // created_at in Unix seconds, math.MinInt64 when absent
	weight int64 // timeout
	nsec   int32
	class  int8 // type class, or -1 when the resource has no step in scope
	strat  uint8
}

// planGroup is the steps of one component, or of one missing owner: they
// share the first two fields of the key.
type planGroup struct {
	ci    int32  // component position, or -1 for a missing owner
	owner string // the missing owner's id
	depth int32  // math.MaxInt32 for a missing owner
	nsec  int32
	sec   int64 // created_at, as in resMeta

	resFrom, resTo int32 // its resources, as a range of planner.resFlat

	// Nodes: callbacks [cbStart, resStart), resources [resStart, resEnd).
	cbStart, resStart, resEnd int32
	comp                      int32 // the component step, or -1
	barrier                   int32 // or -1
	next                      int32 // the component step that must follow comp, or -1
}

type planner struct {
	ix   *snapshot.Index
	snap *snapshot.Snapshot
	root int // scope root component, -1 for the whole registry

	meta     []resMeta // per resource position
	depFrom  []int32   // resolved depends_on of step resources: positions
	depTo    []int32   // and ids, in snapshot order
	depID    []string
	missing  int     // step resources whose owner is missing
	resFlat  []int32 // step resource positions, grouped
	groups   []planGroup
	nSteps   int32
	kind     []uint8
	idx      []int32 // snapshot position; a barrier's is its group
	group    []int32
	weight   []int64
	resNode  []int32 // per resource position: its step node, or -1
	compNode []int32 // per component position: its component step node, or -1
	compGrp  []int32 // per component position: its group, or -1

	depStart  []int32 // per step node: its depends_on successors, CSR,
	depList   []int32 // with their ids
	depListID []string
	indeg     []int32
	npred     []int32 // per step node: its direct predecessors

	seq    []int32 // step nodes in plan order
	orders []int32 // per step node: its 1-based order
	dist   []int64 // per node: finish time along the heaviest chain
	best   []int64 // per node: the latest finish among its predecessors
	pred   []int32 // per node: the predecessor that gave best, or -1
	heap   planHeap
	cursor int32
}

func (p *planner) inScope(ci int) bool {
	return p.root < 0 || p.ix.InSubtree(ci, p.root)
}

func timeKey(t time.Time) (int64, int32) {
	if t.IsZero() {
		return math.MinInt64, 0
	}
	return t.Unix(), int32(t.Nanosecond())
}

// newerFirst orders two time keys newest first; absent keys are the oldest.
func newerFirst(asec int64, ansec int32, bsec int64, bnsec int32) int {
	if asec != bsec {
		return cmp.Compare(bsec, asec)
	}
	return cmp.Compare(bnsec, ansec)
}

// typeClass is the resource type's rank in the key (SPEC §3).
func typeClass(t string) int8 {
	switch t {
	case snapshot.TypeWorker, snapshot.TypeThread, snapshot.TypeProcess:
		return 0
	case snapshot.TypeTimer:
		return 1
	case snapshot.TypeSocket, snapshot.TypeFile:
		return 2
	case snapshot.TypeQObject:
		return 3
	}
	return 4
}

// scanResources reads every resource once, in snapshot order.
func (p *planner) scanResources() {
	res := p.snap.Resources
	p.meta = make([]resMeta, len(res))
	for ri := range res {
		r := &res[ri]
		m := &p.meta[ri]
		m.class = -1
		if !r.Live() {
			continue
		}
		o := p.ix.Owner(ri)
		if o >= 0 && !p.inScope(o) || o < 0 && p.root >= 0 {
			continue
		}
		if o < 0 {
			p.missing++
		}
		m.class = typeClass(r.Type)
		m.sec, m.nsec = timeKey(r.CreatedAt)
		m.strat, m.weight = resourceStrategy(r)
		for _, dep := range r.DependsOn {
			if rj, ok := p.ix.ResourceIndex(dep); ok {
				p.depFrom = append(p.depFrom, int32(ri))
				p.depTo = append(p.depTo, int32(rj))
				p.depID = append(p.depID, dep)
			}
		}
	}
}

// collectGroups finds the groups that have steps, with their resources,
// and sorts them by the first two fields of the key.
func (p *planner) collectGroups() {
	s, ix := p.snap, p.ix
	nc := len(s.Components)
	p.compGrp = make([]int32, nc)
	for i := range p.compGrp {
		p.compGrp[i] = -1
	}
	var comps []int32
	if p.root < 0 {
		comps = make([]int32, nc)
		for i := range comps {
			comps[i] = int32(i)
		}
	} else {
		comps = ix.Subtree(p.root)
	}
	p.resFlat = make([]int32, 0, len(p.meta))
	p.groups = make([]planGroup, 0, len(comps))
	for _, ci := range comps {
		c := &s.Components[ci]
		from := int32(len(p.resFlat))
		for _, ri := range ix.Owned(int(ci)) {
			if p.meta[ri].class >= 0 {
				p.resFlat = append(p.resFlat, ri)
			}
		}
		to := int32(len(p.resFlat))
		if from == to && !c.Alive() {
			continue // no steps
		}
		g := planGroup{ci: ci, depth: int32(ix.Depth(int(ci))), resFrom: from, resTo: to}
		g.sec, g.nsec = timeKey(c.CreatedAt)
		p.groups = append(p.groups, g)
	}
	if p.missing > 0 {
		p.collectMissingOwners()
	}
	slices.SortFunc(p.groups, func(a, b planGroup) int {
		if a.depth != b.depth {
			return cmp.Compare(b.depth, a.depth) // deeper first
		}
		if c := newerFirst(a.sec, a.nsec, b.sec, b.nsec); c != 0 {
			return c
		}
		return cmp.Compare(p.groupID(&a), p.groupID(&b))
	})
	for g := range p.groups {
		if ci := p.groups[g].ci; ci >= 0 {
			p.compGrp[ci] = int32(g)
		}
	}
}

// collectMissingOwners adds a group per missing owner id, its resources in
// snapshot order.
func (p *planner) collectMissingOwners() {
	res := p.snap.Resources
	byOwner := make(map[string]int32) // owner id -> group, counted from 0
	var count []int32
	groupOf := make([]int32, 0, p.missing)
	list := make([]int32, 0, p.missing)
	for ri := range res {
		if p.meta[ri].class < 0 || p.ix.Owner(ri) >= 0 {
			continue
		}
		g, ok := byOwner[res[ri].Owner]
		if !ok {
			g = int32(len(count))
			byOwner[res[ri].Owner] = g
			count = append(count, 0)
		}
		count[g]++
		list = append(list, int32(ri))
		groupOf = append(groupOf, g)
	}
	start := make([]int32, len(count))
	next := int32(len(p.resFlat))
	for g, n := range count {
		start[g] = next
		next += n
	}
	p.resFlat = p.resFlat[:next]
	fill := slices.Clone(start)
	for k, ri := range list {
		g := groupOf[k]
		p.resFlat[fill[g]] = ri
		fill[g]++
	}
	for owner, g := range byOwner {
		p.groups = append(p.groups, planGroup{ci: -1, owner: owner, depth: math.MaxInt32, sec: math.MinInt64, resFrom: start[g], resTo: start[g] + count[g]})
	}
}

func (p *planner) groupID(g *planGroup) string {
	if g.ci < 0 {
		return g.owner
	}
	return p.snap.Components[g.ci].ID
}

func (p *planner) addNode(kind uint8, idx, g int32, w int64) int32 {
	id := int32(len(p.kind))
	p.kind = append(p.kind, kind)
	p.idx = append(p.idx, idx)
	p.group = append(p.group, g)
	p.weight = append(p.weight, w)
	return id
}

// numberNodes gives every step its node id in key order, then adds the
// barriers and links the component steps.
func (p *planner) numberNodes() {
	s := p.snap
	n := len(p.resFlat)
	for g := range p.groups {
		if ci := p.groups[g].ci; ci >= 0 && s.Components[ci].Alive() {
			n += len(p.ix.Cleanups(int(ci))) + 2
		}
	}
	p.kind = make([]uint8, 0, n)
	p.idx = make([]int32, 0, n)
	p.group = make([]int32, 0, n)
	p.weight = make([]int64, 0, n)
	p.resNode = make([]int32, len(s.Resources))
	for i := range p.resNode {
		p.resNode[i] = -1
	}
	p.compNode = make([]int32, len(s.Components))
	for i := range p.compNode {
		p.compNode[i] = -1
	}
	res, meta := s.Resources, p.meta
	byKey := func(a, b int32) int {
		ma, mb := &meta[a], &meta[b]
		if ma.class != mb.class {
			return cmp.Compare(ma.class, mb.class)
		}
		if c := newerFirst(ma.sec, ma.nsec, mb.sec, mb.nsec); c != 0 {
			return c
		}
		return cmp.Compare(res[a].ID, res[b].ID)
	}
	var cbs []int32
	for gi := range p.groups {
		g := &p.groups[gi]
		g.comp, g.barrier, g.next = -1, -1, -1
		alive := g.ci >= 0 && s.Components[g.ci].Alive()
		g.cbStart = int32(len(p.kind))
		if alive {
			cbs = append(cbs[:0], p.ix.Cleanups(int(g.ci))...)
			slices.SortFunc(cbs, func(a, b int32) int {
				return cmp.Or(cmp.Compare(s.Cleanups[b].Priority, s.Cleanups[a].Priority), cmp.Compare(a, b))
			})
			for _, k := range cbs {
				p.addNode(nodeCallback, k, int32(gi), callbackTimeout(&s.Cleanups[k]))
			}
		}
		g.resStart = int32(len(p.kind))
		own := p.resFlat[g.resFrom:g.resTo]
		slices.SortFunc(own, byKey)
		for _, ri := range own {
			p.resNode[ri] = p.addNode(nodeResource, ri, int32(gi), meta[ri].weight)
		}
		g.resEnd = int32(len(p.kind))
		if alive {
			g.comp = p.addNode(nodeComponent, g.ci, int32(gi), 0)
			p.compNode[g.ci] = g.comp
		}
	}
	p.nSteps = int32(len(p.kind))
	for gi := range p.groups {
		g := &p.groups[gi]
		if g.resStart > g.cbStart && g.resEnd > g.resStart {
			g.barrier = p.addNode(nodeBarrier, int32(gi), int32(gi), 0)
		}
	}
	p.linkComponents()
}

// linkComponents finds, for each component step, the component step that
// must follow it: its parent's, or when the parent is destroyed the
// nearest alive ancestor's, within scope.
func (p *planner) linkComponents() {
	ix, s := p.ix, p.snap
	// up[ci]: the nearest alive component at or above ci within scope, or -1.
	up := make([]int32, len(s.Components))
	visit := func(order []int32) {
		for _, ci := range order {
			par := int32(ix.Parent(int(ci)))
			if int(ci) == p.root {
				par = -1
			}
			switch {
			case s.Components[ci].Alive():
				up[ci] = ci
			case par >= 0:
				up[ci] = up[par]
			default:
				up[ci] = -1
			}
			if g := p.compGrp[ci]; g >= 0 && p.groups[g].comp >= 0 && par >= 0 && up[par] >= 0 {
				p.groups[g].next = p.compNode[up[par]]
			}
		}
	}
	if p.root >= 0 {
		visit(ix.Subtree(p.root))
		return
	}
	for _, r := range ix.Roots() {
		visit(ix.Subtree(int(r)))
	}
}

// resolveDependencies turns depends_on into edges between resource steps
// (deduplicated) and counts every node's predecessors.
func (p *planner) resolveDependencies() {
	p.indeg = make([]int32, len(p.kind))
	p.depStart = make([]int32, p.nSteps+1)
	kept := make([]int32, 0, len(p.depFrom)) // edges that link two steps
	stamp := make([]int32, p.nSteps)         // u+1 once u links to v
	for k, ri := range p.depFrom {
		u, v := p.resNode[ri], p.resNode[p.depTo[k]]
		if v < 0 || stamp[v] == u+1 {
			continue
		}
		stamp[v] = u + 1
		kept = append(kept, int32(k))
		p.depStart[u+1]++
		p.indeg[v]++
	}
	for u := range p.nSteps {
		p.depStart[u+1] += p.depStart[u]
	}
	p.depList = make([]int32, len(kept))
	p.depListID = make([]string, len(kept))
	fill := stamp // reused as each list's fill cursor
	copy(fill, p.depStart[:p.nSteps])
	for _, k := range kept {
		u := p.resNode[p.depFrom[k]]
		p.depList[fill[u]] = p.resNode[p.depTo[k]]
		p.depListID[fill[u]] = p.depID[k]
		fill[u]++
	}
	p.depFrom, p.depTo, p.depID = nil, nil, nil
	for gi := range p.groups {
		g := &p.groups[gi]
		k := g.resStart - g.cbStart
		m := g.resEnd - g.resStart
		if g.barrier >= 0 {
			p.indeg[g.barrier] = k
			for v := g.resStart; v < g.resEnd; v++ {
				p.indeg[v]++
			}
		}
		if g.comp >= 0 {
			p.indeg[g.comp] += k + m
		}
		if g.next >= 0 {
			p.indeg[g.next]++
		}
	}
	// Direct predecessors: a barrier stands for its K callbacks.
	p.npred = slices.Clone(p.indeg[:p.nSteps])
	for gi := range p.groups {
		if g := &p.groups[gi]; g.barrier >= 0 {
			for v := g.resStart; v < g.resEnd; v++ {
				p.npred[v] += g.resStart - g.cbStart - 1
			}
		}
	}
}

// succ returns u's successors: the nodes of list, the range [lo, hi), and
// a and b when they are not -1.
func (p *planner) succ(u int32) (list []int32, lo, hi, a, b int32) {
	g := &p.groups[p.group[u]]
	switch p.kind[u] {
	case nodeCallback:
		return nil, 0, 0, g.barrier, g.comp
	case nodeResource:
		return p.depList[p.depStart[u]:p.depStart[u+1]], 0, 0, g.comp, -1
	case nodeBarrier:
		return nil, g.resStart, g.resEnd, -1, -1
	}
	return nil, 0, 0, g.next, -1
}

// order runs the topological sort, always taking the ready step with the
// smallest key, and follows the heaviest chain on the way. It reports
// whether every step was placed.
func (p *planner) order() bool {
	n := len(p.kind)
	p.seq = make([]int32, 0, p.nSteps)
	p.orders = make([]int32, p.nSteps)
	p.dist = make([]int64, n)
	p.best = make([]int64, n)
	p.pred = make([]int32, n)
	for i := range p.pred {
		p.pred[i] = -1
	}
	for {
		var u int32
		if len(p.heap) > 0 {
			u = p.heap.pop()
		} else {
			for p.cursor < p.nSteps && p.indeg[p.cursor] != 0 {
				p.cursor++
			}
			if p.cursor == p.nSteps {
				break
			}
			u = p.cursor
			p.cursor++
		}
		p.seq = append(p.seq, u)
		p.orders[u] = int32(len(p.seq))
		p.place(u)
	}
	return int32(len(p.seq)) == p.nSteps
}

// place settles u's finish time and releases its successors; a barrier
// that becomes ready is placed at once.
func (p *planner) place(u int32) {
	p.dist[u] = addSat(p.best[u], p.weight[u])
	list, lo, hi, a, b := p.succ(u)
	for _, v := range list {
		p.relax(u, v)
	}
	for v := lo; v < hi; v++ {
		p.relax(u, v)
	}
	if a >= 0 {
		p.relax(u, a)
	}
	if b >= 0 {
		p.relax(u, b)
	}
}

func (p *planner) relax(u, v int32) {
	if d := p.dist[u]; p.pred[v] < 0 || d > p.best[v] {
		p.best[v], p.pred[v] = d, u
	}
	p.indeg[v]--
	if p.indeg[v] != 0 {
		return
	}
	switch {
	case p.kind[v] == nodeBarrier:
		p.place(v)
	case v < p.cursor:
		p.heap.push(v) // held back: the cursor has passed it
	}
}

func addSat(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}

// planHeap is a binary min-heap of node ids.
type planHeap []int32

func (h *planHeap) push(v int32) {
	a := append(*h, v)
	i := len(a) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if a[parent] <= v {
			break
		}
		a[i] = a[parent]
		i = parent
	}
	a[i] = v
	*h = a
}

func (h *planHeap) pop() int32 {
	a := *h
	top := a[0]
	last := a[len(a)-1]
	a = a[:len(a)-1]
	n := len(a)
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && a[c+1] < a[c] {
			c++
		}
		if last <= a[c] {
			break
		}
		a[i] = a[c]
		i = c
	}
	if n > 0 {
		a[i] = last
	}
	*h = a
	return top
}

// cycleError names the cycles among the in-scope resources that block the plan.
func (p *planner) cycleError() error {
	cycles := depCycles(p.ix, func(ri int) bool { return p.resNode[ri] >= 0 })
	if len(cycles) == 0 { // cannot happen: only depends_on edges can close a cycle
		return errors.New("no cleanup plan: the hard constraints form a cycle")
	}
	e := &CycleError{More: len(cycles) - 1}
	for _, ri := range cycles[0] {
		e.Members = append(e.Members, string(KindResource)+" "+p.snap.Resources[ri].ID)
	}
	return e
}

// build turns the placed nodes into the Plan.
func (p *planner) build() *Plan {
	s := p.snap
	steps := make([]Step, p.nSteps)
	var worst int64
	for k, u := range p.seq {
		st := &steps[k]
		st.Order = k + 1
		st.Index = int(p.idx[u])
		st.TimeoutMS = p.weight[u]
		worst = addSat(worst, st.TimeoutMS)
		switch p.kind[u] {
		case nodeCallback:
			c := &s.Cleanups[p.idx[u]]
			st.Kind = KindCallback
			st.ID = c.ID
			if st.ID == "" {
				st.ID = c.Component + "#" + strconv.Itoa(int(p.idx[u]))
			}
			st.Component = c.Component
			st.Actions = actionsCall
			st.Name = c.Name
			if st.Name == "" {
				st.Name = st.ID
			}
		case nodeResource:
			st.Kind = KindResource // the rest below, in snapshot order
		case nodeComponent:
			c := &s.Components[p.idx[u]]
			st.Kind = KindComponent
			st.ID = c.ID
			st.Component = c.ID
			st.Actions = actionsMarkDestroyed
			st.Name = c.DisplayName()
		}
	}
	// Reading the resources in snapshot order is much kinder to the cache
	// than reading them in plan order.
	for ri := range s.Resources {
		u := p.resNode[ri]
		if u < 0 {
			continue
		}
		r := &s.Resources[ri]
		st := &steps[p.orders[u]-1]
		st.ID = r.ID
		st.Component = r.Owner
		st.Type = r.Type
		st.Actions = planStrategies[p.meta[ri].strat].actions
		st.Name = r.DisplayName()
	}
	p.fillAfter(steps)
	p.fillReasons(steps)

	plan := &Plan{Steps: steps, Summary: Summary{Steps: len(steps), WorstCaseMS: worst}}
	// The heaviest chain ends at the last step that finishes latest.
	end := int32(-1)
	for _, u := range p.seq {
		if end < 0 || p.dist[u] >= p.dist[end] {
			end = u
		}
	}
	if end >= 0 {
		plan.Summary.CriticalPathMS = p.dist[end]
		for u := end; u >= 0; u = p.pred[u] {
			if u < p.nSteps {
				plan.CriticalPath = append(plan.CriticalPath, int(p.orders[u]))
			}
		}
		slices.Reverse(plan.CriticalPath)
	}
	if p.root >= 0 {
		plan.Warnings = p.warnings()
	}
	return plan
}

// forEachAfter calls fn(v) for each step v that has u as a direct
// predecessor: a barrier stands for its resources.
func (p *planner) forEachAfter(u int32, fn func(v int32)) {
	list, lo, hi, a, b := p.succ(u)
	for _, v := range list {
		fn(v)
	}
	for v := lo; v < hi; v++ {
		fn(v)
	}
	for _, v := range [2]int32{a, b} {
		switch {
		case v < 0:
		case p.kind[v] == nodeBarrier:
			g := &p.groups[p.group[v]]
			for w := g.resStart; w < g.resEnd; w++ {
				fn(w)
			}
		default:
			fn(v)
		}
	}
}

// fillAfter sets each step's direct predecessors, ascending: visiting the
// steps in plan order appends each predecessor in turn.
func (p *planner) fillAfter(steps []Step) {
	count := p.npred
	total := 0
	for _, c := range count {
		total += int(c)
	}
	if total == 0 {
		return
	}
	backing := make([]int, total)
	end := make([]int32, p.nSteps) // fill cursor, then the end of each list
	next := int32(0)
	for u := range p.nSteps {
		end[u] = next
		next += count[u]
	}
	for _, u := range p.seq {
		order := int(p.orders[u])
		p.forEachAfter(u, func(v int32) {
			backing[end[v]] = order
			end[v]++
		})
	}
	for _, u := range p.seq {
		if c := count[u]; c > 0 {
			e := end[u]
			steps[p.orders[u]-1].After = backing[e-c : e : e]
		}
	}
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
