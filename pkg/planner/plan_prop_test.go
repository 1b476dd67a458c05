package planner

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// genOptions shape a random snapshot.
type genOptions struct {
	maxComponents, maxResources, maxCleanups int
}

var genTypes = []string{"worker", "thread", "process", "timer", "file", "socket", "qobject", "memory", "pool", "custom", "gpu-texture"}

// randomSnapshot builds a valid snapshot with destroyed components, missing
// parents and owners, released resources, ties in every key field and
// depends_on links that never form a cycle (each resource may only depend
// on resources of lower rank in a random permutation).
func randomSnapshot(r *rand.Rand, o genOptions) *snapshot.Snapshot {
	base := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	stamp := func() time.Time {
		if r.IntN(5) == 0 {
			return time.Time{}
		}
		return base.Add(time.Duration(r.IntN(6)) * time.Second)
	}
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: base.Add(time.Hour)}
	nc := r.IntN(o.maxComponents + 1)
	perm := r.Perm(nc)
	for i := range nc {
		c := snapshot.Component{ID: "c" + strconv.Itoa(perm[i]), State: snapshot.StateAlive, CreatedAt: stamp()}
		if r.IntN(4) == 0 {
			c.State = snapshot.StateDestroyed
		}
		switch x := r.IntN(10); {
		case x < 7 && i > 0:
			c.Parent = s.Components[r.IntN(i)].ID
		case x == 7:
			c.Parent = "ghost-parent"
		}
		s.Components = append(s.Components, c)
	}
	nr := r.IntN(o.maxResources + 1)
	rank := r.Perm(nr)
	for i := range nr {
		res := snapshot.Resource{ID: "r" + strconv.Itoa(r.IntN(1000)) + "-" + strconv.Itoa(i), Type: genTypes[r.IntN(len(genTypes))], CreatedAt: stamp()}
		switch x := r.IntN(20); {
		case x < 3 || nc == 0:
			res.Owner = "ghost-" + strconv.Itoa(r.IntN(3))
		default:
			res.Owner = s.Components[r.IntN(nc)].ID
		}
		switch x := r.IntN(10); {
		case x < 6:
			res.State = snapshot.StateActive
		case x < 8:
			res.State = snapshot.StateReleasing
		default:
			res.State = snapshot.StateReleased
		}
		if r.IntN(4) == 0 {
			res.Cleanup = &snapshot.CleanupSpec{}
			if r.IntN(2) == 0 {
				res.Cleanup.Strategy = []string{"worker", "process", "timer", "bogus", ""}[r.IntN(5)]
			}
			if r.IntN(2) == 0 {
				n := int64(r.IntN(4000))
				res.Cleanup.TimeoutMS = &n
			}
		}
		s.Resources = append(s.Resources, res)
	}
	for i := range s.Resources {
		for range r.IntN(4) {
			j := r.IntN(nr)
			if rank[j] < rank[i] {
				s.Resources[i].DependsOn = append(s.Resources[i].DependsOn, s.Resources[j].ID)
			}
		}
		if r.IntN(15) == 0 {
			s.Resources[i].DependsOn = append(s.Resources[i].DependsOn, "r-missing")
		}
	}
	for k := range r.IntN(o.maxCleanups + 1) {
		c := snapshot.Cleanup{Priority: int64(r.IntN(4) * 5)}
		if nc > 0 && r.IntN(8) > 0 {
			c.Component = s.Components[r.IntN(nc)].ID
		} else {
			c.Component = "ghost-0"
		}
		if r.IntN(3) > 0 {
			c.ID = "cb" + strconv.Itoa(k)
		}
		if r.IntN(2) == 0 {
			n := int64(r.IntN(6000))
			c.TimeoutMS = &n
		}
		s.Cleanups = append(s.Cleanups, c)
	}
	return s
}

// The reference planner's own copies of docs/cleanup-ordering.md's tables.
var refClass = map[string]int{"worker": 0, "thread": 0, "process": 0, "timer": 1, "socket": 2, "file": 2, "qobject": 3, "custom": 4}

var refDefaultTimeout = map[string]int64{"worker": 2000, "thread": 2000, "process": 5000}

func refTimeout(r *snapshot.Resource) int64 {
	typ := r.Type
	if r.Cleanup != nil && snapshot.IsKnownType(r.Cleanup.Strategy) {
		typ = r.Cleanup.Strategy
	}
	if r.Cleanup != nil && r.Cleanup.TimeoutMS != nil {
		return *r.Cleanup.TimeoutMS
	}
	return refDefaultTimeout[typ]
}

// refNewest orders times newest first, absent ones last.
func refNewest(a, b time.Time) int {
	if a.IsZero() || b.IsZero() {
		return cmp.Compare(btoi(a.IsZero()), btoi(b.IsZero()))
	}
	if a.After(b) {
		return -1
	}
	if b.After(a) {
		return 1
	}
	return 0
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// refStep is a step as the reference planner sees it.
type refStep struct {
	kind  StepKind
	index int
	// key fields
	depth     int // -1 stands for "deeper than every component"
	created   time.Time
	group     string
	priority  int64
	class     int
	resCreate time.Time
	id        string
	weight    int64
}

// refPlan is docs/cleanup-ordering.md written as plainly as possible: the steps, the
// predecessors of each by the three hard constraints, and the greedy
// smallest-ready-key order, in quadratic time.
func refPlan(s *snapshot.Snapshot, scope Scope) (steps []refStep, preds [][]int, ok bool) {
	byID := map[string]int{}
	for i, c := range s.Components {
		byID[c.ID] = i
	}
	parent := func(ci int) int {
		if p, ok := byID[s.Components[ci].Parent]; ok && s.Components[ci].Parent != "" {
			return p
		}
		return -1
	}
	root := -1
	if scope.Component != "" {
		root = byID[scope.Component]
	}
	inScope := func(ci int) bool {
		if root < 0 {
			return true
		}
		for c := ci; c >= 0; c = parent(c) {
			if c == root {
				return true
			}
		}
		return false
	}
	depth := func(ci int) int {
		d := 0
		for c := parent(ci); c >= 0; c = parent(c) {
			d++
		}
		return d
	}
	alive := func(ci int) bool { return s.Components[ci].State == snapshot.StateAlive }
	group := func(st *refStep, ci int, owner string) {
		if ci < 0 {
			st.depth, st.group = -1, owner
			return
		}
		st.depth, st.created, st.group = depth(ci), s.Components[ci].CreatedAt, s.Components[ci].ID
	}
	stepOf := map[[2]int]int{} // kind rank, index -> step
	for k, c := range s.Cleanups {
		ci, ok := byID[c.Component]
		if !ok || !alive(ci) || !inScope(ci) {
			continue
		}
		st := refStep{kind: KindCallback, index: k, priority: c.Priority, weight: DefaultCallbackTimeoutMS}
		if c.TimeoutMS != nil {
			st.weight = *c.TimeoutMS
		}
		group(&st, ci, "")
		stepOf[[2]int{0, k}] = len(steps)
		steps = append(steps, st)
	}
	for ri, r := range s.Resources {
		if r.State == snapshot.StateReleased {
			continue
		}
		ci, owned := byID[r.Owner]
		if owned && !inScope(ci) || !owned && root >= 0 {
			continue
		}
		if !owned {
			ci = -1
		}
		st := refStep{kind: KindResource, index: ri, class: refClass[r.Type], resCreate: r.CreatedAt, id: r.ID}
		if _, known := refClass[r.Type]; !known || r.Type == "custom" {
			st.class = 4
		}
		st.weight = refTimeout(&r)
		group(&st, ci, r.Owner)
		stepOf[[2]int{1, ri}] = len(steps)
		steps = append(steps, st)
	}
	for ci := range s.Components {
		if !alive(ci) || !inScope(ci) {
			continue
		}
		st := refStep{kind: KindComponent, index: ci}
		group(&st, ci, "")
		stepOf[[2]int{2, ci}] = len(steps)
		steps = append(steps, st)
	}

	preds = make([][]int, len(steps))
	addPred := func(before, after int) {
		if !slices.Contains(preds[after], before) {
			preds[after] = append(preds[after], before)
		}
	}
	resByID := map[string]int{}
	for ri, r := range s.Resources {
		resByID[r.ID] = ri
	}
	for a, st := range steps {
		switch st.kind {
		case KindResource: // 1: A depends on B => A before B
			for _, dep := range s.Resources[st.index].DependsOn {
				if b, ok := stepOf[[2]int{1, resByID[dep]}]; ok && dep == s.Resources[resByID[dep]].ID {
					addPred(a, b)
				}
			}
		case KindCallback: // 2: callbacks before the component's resources
			comp := s.Cleanups[st.index].Component
			for b, other := range steps {
				if other.kind == KindResource && s.Resources[other.index].Owner == comp {
					addPred(a, b)
				}
			}
		}
	}
	for b, st := range steps { // 3: component after its own steps and children
		if st.kind != KindComponent {
			continue
		}
		id := s.Components[st.index].ID
		for a, other := range steps {
			switch {
			case other.kind == KindCallback && s.Cleanups[other.index].Component == id,
				other.kind == KindResource && s.Resources[other.index].Owner == id:
				addPred(a, b)
			case other.kind == KindComponent && other.index != st.index:
				// The nearest alive proper ancestor within scope.
				up := parent(other.index)
				for up >= 0 && inScope(up) && !alive(up) {
					up = parent(up)
				}
				if up == st.index && inScope(up) {
					addPred(a, b)
				}
			}
		}
	}

	less := func(x, y *refStep) int {
		dx, dy := x.depth, y.depth
		if dx < 0 {
			dx = 1 << 30
		}
		if dy < 0 {
			dy = 1 << 30
		}
		kindRank := map[StepKind]int{KindCallback: 0, KindResource: 1, KindComponent: 2}
		return cmp.Or(
			cmp.Compare(dy, dx),
			refNewest(x.created, y.created),
			cmp.Compare(x.group, y.group),
			cmp.Compare(kindRank[x.kind], kindRank[y.kind]),
			cmp.Compare(y.priority, x.priority),
			cmp.Compare(x.class, y.class),
			refNewest(x.resCreate, y.resCreate),
			cmp.Compare(x.id, y.id),
			cmp.Compare(x.index, y.index),
		)
	}
	placed := make([]bool, len(steps))
	var order []refStep
	var orderPreds [][]int
	pos := make([]int, len(steps))
	for len(order) < len(steps) {
		best := -1
		for i := range steps {
			if placed[i] {
				continue
			}
			ready := true
			for _, p := range preds[i] {
				ready = ready && placed[p]
			}
			if ready && (best < 0 || less(&steps[i], &steps[best]) < 0) {
				best = i
			}
		}
		if best < 0 {
			return nil, nil, false
		}
		placed[best] = true
		pos[best] = len(order) + 1
		order = append(order, steps[best])
	}
	for _, st := range order {
		var key [2]int
		switch st.kind {
		case KindCallback:
			key = [2]int{0, st.index}
		case KindResource:
			key = [2]int{1, st.index}
		default:
			key = [2]int{2, st.index}
		}
		var after []int
		for _, p := range preds[stepOf[key]] {
			after = append(after, pos[p])
		}
		slices.Sort(after)
		orderPreds = append(orderPreds, after)
	}
	return order, orderPreds, true
}

// checkAgainstReference compares a plan with the reference planner.
func checkAgainstReference(t *testing.T, name string, s *snapshot.Snapshot, scope Scope, p *Plan) {
	t.Helper()
	want, wantAfter, ok := refPlan(s, scope)
	if !ok {
		t.Fatalf("%s: the reference planner found a cycle the generator should not make", name)
	}
	if len(want) != len(p.Steps) {
		t.Fatalf("%s: %d steps, reference has %d", name, len(p.Steps), len(want))
	}
	var worst int64
	dist := make([]int64, len(p.Steps)+1)
	for i, st := range p.Steps {
		w := want[i]
		if st.Kind != w.kind || st.Index != w.index || st.TimeoutMS != w.weight {
			t.Fatalf("%s: step %d is %s %s (index %d, %d ms), reference has %s index %d (%d ms)",
				name, i+1, st.Kind, st.ID, st.Index, st.TimeoutMS, w.kind, w.index, w.weight)
		}
		if !slices.Equal(st.After, wantAfter[i]) {
			t.Fatalf("%s: step %d (%s) After = %v, reference %v", name, i+1, st.ID, st.After, wantAfter[i])
		}
		if st.Reason == "" {
			t.Fatalf("%s: step %d has no reason", name, i+1)
		}
		worst += st.TimeoutMS
		var before int64
		for _, a := range st.After {
			before = max(before, dist[a])
		}
		dist[st.Order] = before + st.TimeoutMS
	}
	crit := slices.Max(append(dist, 0))
	if p.Summary != (Summary{Steps: len(want), WorstCaseMS: worst, CriticalPathMS: crit}) {
		t.Fatalf("%s: summary %+v, want steps %d worst %d critical %d", name, p.Summary, len(want), worst, crit)
	}
	// The chain is a chain of direct predecessors whose weights add up.
	var sum int64
	for k, o := range p.CriticalPath {
		sum += p.Steps[o-1].TimeoutMS
		if k > 0 && !slices.Contains(p.Steps[o-1].After, p.CriticalPath[k-1]) {
			t.Fatalf("%s: critical path %v: step %d does not follow step %d", name, p.CriticalPath, o, p.CriticalPath[k-1])
		}
	}
	if sum != crit || len(p.Steps) > 0 && len(p.CriticalPath) == 0 {
		t.Fatalf("%s: critical path %v weighs %d, want %d", name, p.CriticalPath, sum, crit)
	}
}

// checkHardConstraints checks docs/cleanup-ordering.md's three constraints and that every
// in-scope step appears exactly once, straight from the snapshot.
func checkHardConstraints(t *testing.T, name string, ix *snapshot.Index, scope Scope, p *Plan) {
	t.Helper()
	s := ix.Snap
	root := -1
	if scope.Component != "" {
		root, _ = ix.ComponentIndex(scope.Component)
	}
	in := func(ci int) bool { return ci >= 0 && (root < 0 || ix.InSubtree(ci, root)) }
	pos := map[[2]int]int{}
	kinds := map[StepKind]int{KindCallback: 0, KindResource: 1, KindComponent: 2}
	for _, st := range p.Steps {
		key := [2]int{kinds[st.Kind], st.Index}
		if _, dup := pos[key]; dup {
			t.Fatalf("%s: %s %s appears twice", name, st.Kind, st.ID)
		}
		pos[key] = st.Order
	}
	want := 0
	for k, c := range s.Cleanups {
		ci, ok := ix.ComponentIndex(c.Component)
		if ok && in(ci) && s.Components[ci].Alive() {
			want++
			if pos[[2]int{0, k}] == 0 {
				t.Fatalf("%s: callback %d missing", name, k)
			}
		}
	}
	for ri := range s.Resources {
		r := &s.Resources[ri]
		o := ix.Owner(ri)
		if r.Live() && (in(o) || o < 0 && root < 0) {
			want++
			if pos[[2]int{1, ri}] == 0 {
				t.Fatalf("%s: resource %s missing", name, r.ID)
			}
		}
	}
	for ci := range s.Components {
		if in(ci) && s.Components[ci].Alive() {
			want++
			if pos[[2]int{2, ci}] == 0 {
				t.Fatalf("%s: component %s missing", name, s.Components[ci].ID)
			}
		}
	}
	if want != len(p.Steps) {
		t.Fatalf("%s: %d steps, want %d", name, len(p.Steps), want)
	}
	for ri := range s.Resources {
		a := pos[[2]int{1, ri}]
		if a == 0 {
			continue
		}
		for _, dep := range s.Resources[ri].DependsOn {
			if rj, ok := ix.ResourceIndex(dep); ok {
				if b := pos[[2]int{1, rj}]; b != 0 && a >= b {
					t.Fatalf("%s: constraint 1: %s (step %d) depends on %s (step %d)", name, s.Resources[ri].ID, a, dep, b)
				}
			}
		}
		if o := ix.Owner(ri); o >= 0 {
			for _, k := range ix.Cleanups(o) {
				if c := pos[[2]int{0, int(k)}]; c != 0 && c >= a {
					t.Fatalf("%s: constraint 2: callback step %d after resource step %d", name, c, a)
				}
			}
			if c := pos[[2]int{2, o}]; c != 0 && c <= a {
				t.Fatalf("%s: constraint 3: component step %d before its resource step %d", name, c, a)
			}
		}
	}
	for ci := range s.Components {
		c := pos[[2]int{2, ci}]
		if c == 0 {
			continue
		}
		for _, k := range ix.Cleanups(ci) {
			if cb := pos[[2]int{0, int(k)}]; cb >= c {
				t.Fatalf("%s: constraint 3: callback step %d after component step %d", name, cb, c)
			}
		}
		for _, kid := range ix.Children(ci) {
			if k := pos[[2]int{2, int(kid)}]; k >= c {
				t.Fatalf("%s: constraint 3: child step %d after component step %d", name, k, c)
			}
		}
	}
}

func planJSON(t *testing.T, p *Plan) []byte {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPlan_PropertiesOverRandomSnapshots(t *testing.T) {
	const runs = 600
	r := rand.New(rand.NewPCG(20261127, 42))
	sizes := []genOptions{{4, 8, 4}, {12, 30, 10}, {30, 90, 25}}
	for n := range runs {
		o := sizes[n%len(sizes)]
		s := randomSnapshot(r, o)
		ix, err := snapshot.NewIndex(s)
		if err != nil {
			t.Fatalf("run %d: generator made an invalid snapshot: %v", n, err)
		}
		scopes := []Scope{{}}
		if len(s.Components) > 0 {
			scopes = append(scopes, Scope{Component: s.Components[r.IntN(len(s.Components))].ID})
		}
		for _, scope := range scopes {
			name := fmt.Sprintf("run %d scope %q", n, scope.Component)
			p, err := NewPlan(ix, scope)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkHardConstraints(t, name, ix, scope, p)
			checkAgainstReference(t, name, s, scope, p)

			// Deterministic: the same input gives the same bytes, also
			// after a round trip through the format.
			again, err := NewPlan(ix, scope)
			if err != nil {
				t.Fatal(err)
			}
			first := planJSON(t, p)
			if !bytes.Equal(first, planJSON(t, again)) {
				t.Fatalf("%s: two runs differ", name)
			}
			enc, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := snapshot.Parse(enc, "roundtrip")
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			ix2, err := snapshot.NewIndex(s2)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := NewPlan(ix2, scope)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, planJSON(t, p2)) {
				t.Fatalf("%s: the plan changed after a round trip through JSON", name)
			}
		}
	}
}

func TestPlan_PropertiesCycles(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	found := 0
	for n := range 400 {
		s := randomSnapshot(r, genOptions{10, 40, 8})
		// Close a cycle: B, which A depends on, now depends on A too.
		var a, b = -1, -1
		for i := range s.Resources {
			ri := &s.Resources[i]
			if !ri.Live() || len(ri.DependsOn) == 0 {
				continue
			}
			for j := range s.Resources {
				if s.Resources[j].ID == ri.DependsOn[0] && s.Resources[j].Live() {
					a, b = i, j
				}
			}
			if a >= 0 {
				break
			}
		}
		if a < 0 {
			continue
		}
		s.Resources[b].DependsOn = append(s.Resources[b].DependsOn, s.Resources[a].ID)
		ix, err := snapshot.NewIndex(s)
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewPlan(ix, Scope{})
		var ce *CycleError
		if !errors.As(err, &ce) {
			t.Fatalf("run %d: err = %v, want a cycle", n, err)
		}
		found++
		// Each member depends on the next, the last on the first; all live.
		m := ce.Members
		for k := range m {
			from := ix.Resource(m[k][len("resource "):])
			to := m[(k+1)%len(m)][len("resource "):]
			if from == nil || !from.Live() || !slices.Contains(from.DependsOn, to) {
				t.Fatalf("run %d: %v is not a cycle at %s → %s", n, m, m[k], to)
			}
		}
		if len(m) < 1 || !reflect.DeepEqual(DependencyCycles(ix)[0], cycleIndices(ix, m)) {
			t.Fatalf("run %d: plan cycle %v differs from DependencyCycles %v", n, m, DependencyCycles(ix))
		}
	}
	if found < 100 {
		t.Fatalf("only %d cycles made: the generator needs more dependencies", found)
	}
}

func cycleIndices(ix *snapshot.Index, members []string) []int {
	out := make([]int, len(members))
	for k, m := range members {
		out[k], _ = ix.ResourceIndex(m[len("resource "):])
	}
	return out
}
