package planner

import (
	"cmp"
	"errors"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rescoord/rescoord/internal/hugemem"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// How the planner works, in O(steps + edges) apart from sorting within
// each component:
//
//  1. scanResources reads every resource once, in snapshot order: whether
//     it has a step, its type class and strategy (resInfo); it resolves
//     depends_on ids to positions and counts each component's resource
//     steps.
//  2. collectGroups makes a group of the steps of each component (and of
//     each missing owner), and sortGroups sorts them by the first two
//     fields of the key.
//  3. numberNodes numbers the steps in key order: group by group,
//     callbacks, then resources (sorted by a resKey read once for each),
//     then the component step. From then on a smaller node id is a smaller
//     key, and the key is never compared again. resolveDependencies turns
//     depends_on into edges between nodes.
//  4. order is Kahn's algorithm taking the smallest ready node. Most steps
//     are ready when their turn in key order comes, so a cursor walks the
//     node ids and a binary heap holds only the steps that became ready
//     after the cursor passed them (the ones a constraint held back).
//  5. build (plan_build.go) fills the Steps, their After lists and
//     reasons, and the figures.
//
// A 1,000,000-resource plan lives next to the snapshot it is made of, and
// the planner is bound by memory: by the cache misses of reading the
// snapshot out of order, and by the first writes to fresh memory. So it
// keeps a few flat, pointer-free arrays (which the garbage collector does
// not scan), sizes them once its counts are known and asks for huge pages
// (hugemem.Make); and it uses every core for large plans: the scan, the
// numbering and the filling of the steps are split in ranges; another
// core faults in the pages of the nodes and steps while the groups are
// sorted (allocate), and fills the steps that order has placed while
// order goes on (fillBehind).

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

// resInfo is what the scan notes of one resource.
type resInfo struct {
	class int8 // type class, or -1 when the resource has no step in scope
	strat uint8
	// ownTimeout: cleanup.timeout_ms sets the timeout (resourceWeight
	// reads it), not the strategy.
	ownTimeout bool
}

// resKey is the part of the key that orders the resource steps of one
// group: type class, created_at newest first, id.
type resKey struct {
	sec   int64 // created_at in Unix seconds, math.MinInt64 when absent
	nsec  int32
	ri    int32
	class int8
}

// planGroup is the steps of one component, or of one missing owner: they
// share the first two fields of the key.
type planGroup struct {
	sec   int64 // created_at, as in resKey
	nsec  int32
	depth int32 // math.MaxInt32 for a missing owner
	ci    int32 // component position, or -1 for a missing owner
	// A missing owner's resources are planner.missingRes[res : res+nres].
	res  int32
	nres int32 // resource steps
	ncb  int32 // callback steps

	// Nodes: callbacks [cbStart, resStart), resources [resStart, resEnd).
	cbStart, resStart, resEnd int32
	comp                      int32 // the component step, or -1
	barrier                   int32 // or -1
	next                      int32 // the component step that must follow comp, or -1
	// The groups whose component steps have this one's as their next:
	// the first, and from each the next one, -1 at the end.
	kids, sibling int32
}

// planNode is one step (or barrier) of the graph, numbered in key order.
type planNode struct {
	weight int64 // timeout
	// dist is the latest finish among the predecessors placed so far;
	// once the node is placed, its own finish along the heaviest chain.
	dist  int64
	idx   int32 // snapshot position; a barrier's is its group
	group int32
	// indeg counts the predecessors not yet placed; once the node is
	// placed, it is the step's order (1-based place in the plan).
	indeg int32
	// pred is the order of the step before this one on the heaviest chain
	// leading to it, 0 for none (a barrier passes its own on).
	pred int32
	// deps is where the node's depends_on successors start in
	// planner.depList; they end where the next node's start.
	deps int32
	kind uint8
	// note is how a resource's key differs from that of the node before
	// it, when that is a resource of the same group (see resourceNote).
	note uint8
}

// depLink is one resolved depends_on entry: from uses to.
type depLink struct{ from, to int32 }

type planner struct {
	ix        *snapshot.Index
	snap      *snapshot.Snapshot
	root      int   // scope root component, -1 for the whole registry
	workers   int   // goroutines for the passes that run on all cores
	fillBatch int32 // steps fillBehind fills at a time (tuning)

	info       []resInfo   // per resource position
	links      [][]depLink // resolved depends_on of step resources, deduplicated, in snapshot order
	nres       []int32     // per component position: its resources with a step
	missingRes []int32     // step resources of missing owners, grouped
	groups     []planGroup
	compGrp    []int32 // per component position: its group, or -1

	nSteps    int32
	nBarriers int32
	nodes     []planNode // step nodes, then barriers, then a sentinel (deps only)
	resNode   []int32    // per resource position: its step node, or -1
	compNode  []int32    // per component position: its component step node, or -1
	depList   []int32    // depends_on successors of the resource nodes, see planNode.deps
	// The depends_on predecessors of resource node v are
	// revList[revStart[v]:revStart[v+1]].
	revStart, revList []int32

	// seq holds the step nodes in plan order, as far as order has placed
	// them; it publishes how far in progress, for fillBehind.
	seq      []int32
	prevMax  []int32 // see notePrev
	progress atomic.Int32
	heap     planHeap
	cursor   int32
}

// tuning holds the planner's thresholds: fields of a value, not package
// variables, so that tests run the concurrent paths on small snapshots,
// with as many workers as they like, in parallel with each other.
type tuning struct {
	// workers is how many goroutines a large plan uses (0: GOMAXPROCS,
	// at most 8).
	workers int
	// parallelMin is the number of resources from which they are used.
	parallelMin int
	// fillBatch is how many steps fillBehind fills at a time.
	fillBatch int32
}

// defaults is the tuning of NewPlan and NewLazyPlan.
func defaults() tuning { return tuning{parallelMin: 1 << 15, fillBatch: 4096} }

func newPlanner(ix *snapshot.Index, t tuning) *planner {
	p := &planner{ix: ix, snap: ix.Snap, root: -1, workers: 1, fillBatch: t.fillBatch}
	if len(ix.Snap.Resources) >= t.parallelMin {
		p.workers = t.workers
		if p.workers <= 0 {
			p.workers = min(runtime.GOMAXPROCS(0), 8)
		}
	}
	return p
}

// parallel splits [0, n) into one range per worker and runs fn on each,
// concurrently; w numbers the range, and the ranges follow each other in w
// order. bounds, when not nil, moves the split points (for balance).
func (p *planner) parallel(n int, bounds func(w int) int, fn func(w, lo, hi int)) {
	workers := p.workers
	if workers == 1 {
		fn(0, 0, n)
		return
	}
	cut := func(w int) int {
		if w == 0 || w == workers {
			return n * w / workers
		}
		if bounds != nil {
			return bounds(w)
		}
		return n * w / workers
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := cut(w), cut(w+1)
		wg.Go(func() { fn(w, lo, hi) })
	}
	wg.Wait()
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

// typeClass is the resource type's rank in the key (docs/cleanup-ordering.md).
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

// scanResources reads every resource once, in snapshot order: each worker
// takes a range of resources and keeps what it finds apart, and the parts
// are joined in order.
func (p *planner) scanResources() {
	res := p.snap.Resources
	nc := len(p.snap.Components)
	p.info = hugemem.Make[resInfo](len(res))
	type part struct {
		missing []int32 // step resources whose owner is missing
		nres    []int32 // per component position
	}
	parts := make([]part, p.workers)
	p.links = make([][]depLink, p.workers)
	p.parallel(len(res), nil, func(w, lo, hi int) {
		pt := &parts[w]
		pt.nres = make([]int32, nc)
		// Room for every dependency of the range, counted first: an
		// array that grew by appends would leave each smaller one behind,
		// garbage that a command seldom collects (docs/performance.md,
		// "No garbage left by growth").
		ndeps := 0
		for ri := lo; ri < hi; ri++ {
			ndeps += len(res[ri].DependsOn)
		}
		links := hugemem.MakeCap[depLink](0, ndeps)
		for ri := lo; ri < hi; ri++ {
			r := &res[ri]
			in := &p.info[ri]
			in.class = -1
			if !r.Live() {
				continue
			}
			o := p.ix.Owner(ri)
			if o >= 0 && !p.inScope(o) || o < 0 && p.root >= 0 {
				continue
			}
			if o >= 0 {
				pt.nres[o]++
			} else {
				pt.missing = append(pt.missing, int32(ri))
			}
			in.class = typeClass(r.Type)
			in.strat, in.ownTimeout = resourceStrategy(r)
			for k, dep := range r.DependsOn {
				if rj, ok := p.ix.ResourceIndex(dep); ok && !slices.Contains(r.DependsOn[:k], dep) {
					links = append(links, depLink{int32(ri), int32(rj)})
				}
			}
		}
		p.links[w] = links
	})
	p.nres = parts[0].nres
	var missing []int32
	for w := range parts {
		missing = append(missing, parts[w].missing...)
		if w > 0 {
			for ci, n := range parts[w].nres {
				p.nres[ci] += n
			}
		}
	}
	if len(missing) > 0 {
		p.groupMissingOwners(missing)
	}
}

// groupMissingOwners adds a group per missing owner id, its resources in
// snapshot order.
func (p *planner) groupMissingOwners(missing []int32) {
	res := p.snap.Resources
	byOwner := make(map[string]int32) // owner id -> group, counted from 0
	var count []int32
	groupOf := make([]int32, len(missing))
	for k, ri := range missing {
		g, ok := byOwner[res[ri].Owner]
		if !ok {
			g = int32(len(count))
			byOwner[res[ri].Owner] = g
			count = append(count, 0)
		}
		count[g]++
		groupOf[k] = g
	}
	fill := make([]int32, len(count))
	next := int32(0)
	for g, n := range count {
		fill[g] = next
		p.groups = append(p.groups, planGroup{ci: -1, depth: math.MaxInt32, sec: math.MinInt64, res: next, nres: n})
		next += n
	}
	p.missingRes = make([]int32, len(missing))
	for k, ri := range missing {
		g := groupOf[k]
		p.missingRes[fill[g]] = ri
		fill[g]++
	}
}

// collectGroups finds the groups that have steps, and counts the steps.
func (p *planner) collectGroups() {
	s, ix := p.snap, p.ix
	nc := len(s.Components)
	p.compGrp = make([]int32, nc)
	for i := range p.compGrp {
		p.compGrp[i] = -1
	}
	add := func(ci int32) {
		c := &s.Components[ci]
		nres := p.nres[ci]
		if nres == 0 && !c.Alive() {
			return // no steps
		}
		g := planGroup{ci: ci, depth: int32(ix.Depth(int(ci))), nres: nres}
		if c.Alive() {
			g.ncb = int32(len(ix.Cleanups(int(ci))))
		}
		g.sec, g.nsec = timeKey(c.CreatedAt)
		p.groups = append(p.groups, g)
	}
	if p.root < 0 {
		groups := hugemem.Make[planGroup](len(p.groups) + nc)
		p.groups = append(groups[:0], p.groups...)
		for ci := range int32(nc) {
			add(ci)
		}
	} else {
		for _, ci := range ix.Subtree(p.root) {
			add(ci)
		}
	}
	for gi := range p.groups {
		g := &p.groups[gi]
		p.nSteps += g.ncb + g.nres
		if g.ci >= 0 && s.Components[g.ci].Alive() {
			p.nSteps++
		}
		if g.ncb > 0 && g.nres > 0 {
			p.nBarriers++
		}
	}
}

// sortGroups sorts the groups by the first two fields of the key.
func (p *planner) sortGroups() {
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

func (p *planner) groupID(g *planGroup) string {
	if g.ci < 0 {
		return p.snap.Resources[p.missingRes[g.res]].Owner
	}
	return p.snap.Components[g.ci].ID
}

// allocate sizes the nodes and the steps, now that their counts are
// known, and has another core fault their pages in while this one sorts
// the groups, numbers and orders: the kernel zeroes the memory of a large
// slice when it is first written, and that is much of the time it takes
// to fill the nodes, and to fill the []Step (168 bytes a step). Receive
// from nodesReady before numbering, and from stepsReady before filling
// the steps. Without withSteps there are no steps (nil) to fill.
func (p *planner) allocate(withSteps bool) (steps []Step, nodesReady, stepsReady <-chan struct{}) {
	p.nodes = hugemem.Make[planNode](int(p.nSteps+p.nBarriers) + 1) // + the sentinel
	p.resNode = hugemem.Make[int32](len(p.snap.Resources))
	p.seq = hugemem.Make[int32](int(p.nSteps))
	if withSteps {
		steps = hugemem.Make[Step](int(p.nSteps))
	}
	nodesDone, stepsDone := make(chan struct{}), make(chan struct{})
	fault := func() {
		faultIn(p.nodes)
		for i := range p.resNode {
			p.resNode[i] = -1
		}
		close(nodesDone)
		faultIn(steps)
		close(stepsDone)
	}
	if p.workers == 1 {
		fault()
	} else {
		go fault()
	}
	return steps, nodesDone, stepsDone
}

// resKey reads the key of resource ri.
func (p *planner) resKey(ri int32) resKey {
	k := resKey{ri: ri, class: p.info[ri].class}
	k.sec, k.nsec = timeKey(p.snap.Resources[ri].CreatedAt)
	return k
}

// compareRes compares two resource steps of one group by their key.
func (p *planner) compareRes(a, b resKey) int {
	if a.class != b.class {
		return cmp.Compare(a.class, b.class)
	}
	if c := newerFirst(a.sec, a.nsec, b.sec, b.nsec); c != 0 {
		return c
	}
	res := p.snap.Resources
	return cmp.Compare(res[a.ri].ID, res[b.ri].ID)
}

// resourceWeight is the timeout of resource ri's step.
func (p *planner) resourceWeight(ri int32) int64 {
	in := &p.info[ri]
	if in.ownTimeout {
		return resourceTimeout(&p.snap.Resources[ri], in.strat)
	}
	return planStrategies[in.strat].timeout
}

// numberNodes gives every step its node id in key order, then adds the
// barriers and links the component steps. The node ids of each group are
// known from the counts, so the groups are numbered concurrently, once
// nodesReady says that allocate is done with the nodes.
func (p *planner) numberNodes(nodesReady <-chan struct{}) {
	s := p.snap
	n := int32(0) // the next node id
	for gi := range p.groups {
		g := &p.groups[gi]
		g.cbStart = n
		g.resStart = g.cbStart + g.ncb
		g.resEnd = g.resStart + g.nres
		g.comp, g.barrier, g.next, g.kids, g.sibling = -1, -1, -1, -1, -1
		n = g.resEnd
		if g.ci >= 0 && s.Components[g.ci].Alive() {
			g.comp = n
			n++
		}
	}
	for gi := range p.groups {
		if g := &p.groups[gi]; g.ncb > 0 && g.nres > 0 {
			g.barrier = n
			n++
		}
	}
	p.compNode = make([]int32, len(s.Components))
	for i := range p.compNode {
		p.compNode[i] = -1
	}
	<-nodesReady
	groups := p.groups
	// Split the groups so that each worker numbers about as many nodes.
	split := func(w int) int {
		at := int64(p.nSteps) * int64(w) / int64(p.workers)
		return sort.Search(len(groups), func(g int) bool { return int64(groups[g].cbStart) >= at })
	}
	p.parallel(len(groups), split, func(_, lo, hi int) {
		var scratch numberScratch
		for gi := lo; gi < hi; gi++ {
			p.numberGroup(int32(gi), &scratch)
		}
	})
	p.linkComponents()
}

// numberScratch is numberGroup's working memory, one per worker.
type numberScratch struct {
	cbs  []int32
	keys []resKey
}

// numberGroup numbers the nodes of group gi: its callbacks by priority, its
// resources by key, its component step and its barrier.
func (p *planner) numberGroup(gi int32, scratch *numberScratch) {
	s, ix := p.snap, p.ix
	g := &p.groups[gi]
	if g.ncb > 0 {
		cbs := append(scratch.cbs[:0], ix.Cleanups(int(g.ci))...)
		slices.SortFunc(cbs, func(a, b int32) int {
			return cmp.Or(cmp.Compare(s.Cleanups[b].Priority, s.Cleanups[a].Priority), cmp.Compare(a, b))
		})
		for k, c := range cbs {
			p.nodes[g.cbStart+int32(k)] = planNode{kind: nodeCallback, idx: c, group: gi, weight: callbackTimeout(&s.Cleanups[c])}
		}
		scratch.cbs = cbs
	}
	keys := scratch.keys[:0]
	if g.ci < 0 {
		for _, ri := range p.missingRes[g.res : g.res+g.nres] {
			keys = append(keys, p.resKey(ri))
		}
	} else {
		for _, ri := range ix.Owned(int(g.ci)) {
			if p.info[ri].class >= 0 {
				keys = append(keys, p.resKey(ri))
			}
		}
	}
	slices.SortFunc(keys, p.compareRes)
	scratch.keys = keys
	var indeg int32
	if g.barrier >= 0 {
		indeg = 1
		p.nodes[g.barrier] = planNode{kind: nodeBarrier, idx: gi, group: gi, indeg: g.ncb}
	}
	for k, key := range keys {
		u := g.resStart + int32(k)
		ri := key.ri
		p.nodes[u] = planNode{kind: nodeResource, idx: ri, group: gi, weight: p.resourceWeight(ri), indeg: indeg}
		if k > 0 {
			p.nodes[u].note = resourceNote(&keys[k-1], &key)
		}
		p.resNode[ri] = u
	}
	if g.comp >= 0 {
		p.nodes[g.comp] = planNode{kind: nodeComponent, idx: g.ci, group: gi, indeg: g.ncb + g.nres}
		p.compNode[g.ci] = g.comp
	}
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
				next := p.compNode[up[par]]
				p.groups[g].next = next
				p.nodes[next].indeg++
				parent := &p.groups[p.compGrp[up[par]]]
				p.groups[g].sibling = parent.kids
				parent.kids = g
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

// resolveDependencies turns the depends_on links into edges between
// resource steps: each node's successors, in depends_on order, start at
// its deps in depList; its predecessors are in revList.
func (p *planner) resolveDependencies() {
	nodes := p.nodes
	// Count each list's length, then turn the counts into positions: where
	// each successor list starts, and where each predecessor list ends.
	p.revStart = hugemem.Make[int32](int(p.nSteps) + 1)
	kept := int32(0)
	for _, part := range p.links {
		for _, l := range part {
			if v := p.resNode[l.to]; v >= 0 {
				nodes[p.resNode[l.from]].deps++
				nodes[v].indeg++
				p.revStart[v]++
				kept++
			}
		}
	}
	start, end := int32(0), int32(0)
	for u := range nodes {
		n := nodes[u].deps
		nodes[u].deps = start
		start += n
	}
	for v := range p.nSteps {
		end += p.revStart[v]
		p.revStart[v] = end
	}
	p.revStart[p.nSteps] = kept
	// The links of one resource follow each other: fill each successor
	// list in turn, and each predecessor list from its end back to where
	// it starts.
	p.depList = make([]int32, kept)
	p.revList = make([]int32, kept)
	at, from := int32(0), int32(-1)
	for _, part := range p.links {
		for _, l := range part {
			v := p.resNode[l.to]
			if v < 0 {
				continue
			}
			if l.from != from {
				from = l.from
				at = nodes[p.resNode[from]].deps
			}
			p.depList[at] = v
			at++
			p.revStart[v]--
			p.revList[p.revStart[v]] = p.resNode[from]
		}
	}
	hugemem.Release(p.links...)
	p.links = nil
}

// depsOf returns the depends_on successors of node u.
func (p *planner) depsOf(u int32) []int32 {
	return p.depList[p.nodes[u].deps:p.nodes[u+1].deps]
}

// succ returns u's successors: the nodes of list, the range [lo, hi), and
// a and b when they are not -1.
func (p *planner) succ(u int32) (list []int32, lo, hi, a, b int32) {
	n := &p.nodes[u]
	g := &p.groups[n.group]
	switch n.kind {
	case nodeCallback:
		return nil, 0, 0, g.barrier, g.comp
	case nodeResource:
		return p.depsOf(u), 0, 0, g.comp, -1
	case nodeBarrier:
		return nil, g.resStart, g.resEnd, -1, -1
	}
	return nil, 0, 0, g.next, -1
}

// order runs the topological sort, always taking the ready step with the
// smallest key, and follows the heaviest chain on the way. It reports
// whether every step was placed.
func (p *planner) order() bool {
	placed := int32(0)
	for {
		var u int32
		if len(p.heap) > 0 {
			u = p.heap.pop()
		} else {
			for p.cursor < p.nSteps && p.nodes[p.cursor].indeg != 0 {
				p.cursor++
			}
			if p.cursor == p.nSteps {
				break
			}
			u = p.cursor
			p.cursor++
		}
		p.seq[placed] = u
		placed++
		p.nodes[u].indeg = placed
		p.place(u, placed)
		if placed%p.fillBatch == 0 {
			p.progress.Store(placed)
		}
	}
	p.progress.Store(placed)
	return placed == p.nSteps
}

// place settles u's finish time and releases its successors; a barrier
// that becomes ready is placed at once. order is u's place in the plan,
// or for a barrier the step it passes on as its chain.
func (p *planner) place(u, order int32) {
	n := &p.nodes[u]
	n.dist = addSat(n.dist, n.weight)
	list, lo, hi, a, b := p.succ(u)
	for _, v := range list {
		p.relax(n.dist, order, v)
	}
	for v := lo; v < hi; v++ {
		p.relax(n.dist, order, v)
	}
	if a >= 0 {
		p.relax(n.dist, order, a)
	}
	if b >= 0 {
		p.relax(n.dist, order, b)
	}
}

// relax tells v that a predecessor finished at d, on a chain through the
// step of the given order.
func (p *planner) relax(d int64, order, v int32) {
	n := &p.nodes[v]
	if n.pred == 0 || d > n.dist {
		n.dist, n.pred = d, order
	}
	n.indeg--
	if n.indeg != 0 {
		return
	}
	switch {
	case n.kind == nodeBarrier:
		p.place(v, n.pred)
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
