package snapshot

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"unsafe"

	"github.com/rescoord/rescoord/internal/hugemem"
)

// Index is a read-only, indexed view of a snapshot that the analyses share:
// lookups by id, the component tree, depths, owners and live bytes. Component
// and resource positions (ci, ri) are indices into Snapshot.Components and
// Snapshot.Resources. Build it once with NewIndex; it is safe for concurrent
// reads.
type Index struct {
	Snap *Snapshot

	compIDs, resIDs *idTable
	tune            tuning

	parent []int32 // -1 for a root (no parent, or parent not in the snapshot)
	depth  []int32
	roots  []int32
	// children, owned resources and cleanups per component, in CSR form:
	// the entries of component ci are list[start[ci]:start[ci+1]].
	childStart, childList     []int32
	ownedStart, ownedList     []int32
	cleanupStart, cleanupList []int32
	// tin/tout number the components in a depth-first walk, so that
	// "b is in a's subtree" is tin[a] <= tin[b] && tout[b] <= tout[a].
	tin, tout []int32

	owner        []int32 // per resource: the owner's ci, or -1 when missing
	ownBytes     []int64 // live bytes owned directly, per component
	subtreeBytes []int64 // live bytes of the subtree, per component
	totalLive    int64
	liveCount    int
}

// NewIndex indexes s. It fails on duplicate ids and component parent
// cycles, which Decode already reports for snapshots read from input.
// The passes over a large snapshot run on all available cores.
// LoadIndex and DecodeIndex read a snapshot and index it in one go,
// reusing the id tables their decoder builds anyway.
func NewIndex(s *Snapshot) (*Index, error) {
	return newIndex(s, nil, defaultTuning())
}

// newIndex indexes s, with the id tables its decoder built (t, or nil).
func newIndex(s *Snapshot, t *tables, tune tuning) (*Index, error) {
	nc := len(s.Components)
	ix := &Index{Snap: s, tune: tune}
	var err error
	if ix.compIDs, ix.resIDs, err = idTables(s, t, tune); err != nil {
		return nil, err
	}
	ix.parent = hugemem.Make[int32](nc)
	for i := range s.Components {
		ix.parent[i] = -1
		if p := s.Components[i].Parent; p != "" {
			if pi, ok := ix.compIDs.find(p); ok {
				ix.parent[i] = pi
			}
		}
	}
	if cycles := parentCycles(ix.parent); len(cycles) > 0 {
		c := cycles[0]
		ids := make([]string, 0, len(c)+1)
		for _, i := range c {
			ids = append(ids, s.Components[i].ID)
		}
		ids = append(ids, s.Components[c[0]].ID)
		return nil, fmt.Errorf("component parent cycle: %s", strings.Join(ids, " → "))
	}
	ix.childStart, ix.childList = csr(nc, nc, func(yield func(group, item int32)) {
		for i, p := range ix.parent {
			if p >= 0 {
				yield(p, int32(i))
			}
		}
	})
	for i, p := range ix.parent {
		if p < 0 {
			ix.roots = append(ix.roots, int32(i))
		}
	}
	ix.depth = hugemem.Make[int32](nc)
	ix.walk()
	var owners []int32
	if t != nil {
		owners = t.owners
	}
	ix.resolveOwners(owners)
	if t != nil {
		// Read once, here: handed back (docs/performance.md, "Scratch
		// handed back"), as is the scratch below.
		hugemem.Release(t.owners)
		t.owners = nil
	}
	ix.ownedStart, ix.ownedList = csr(nc, len(s.Resources), func(yield func(group, item int32)) {
		for i, o := range ix.owner {
			if o >= 0 {
				yield(o, int32(i))
			}
		}
	})
	ix.cleanupStart, ix.cleanupList = csr(nc, len(s.Cleanups), func(yield func(group, item int32)) {
		for i := range s.Cleanups {
			if ci, ok := ix.compIDs.find(s.Cleanups[i].Component); ok {
				yield(ci, int32(i))
			}
		}
	})

	// Subtree bytes: children have larger tin than parents, so summing in
	// reverse walk order adds every child before its parent is read.
	ix.subtreeBytes = hugemem.Make[int64](nc)
	copy(ix.subtreeBytes, ix.ownBytes)
	order := hugemem.Make[int32](nc)
	for ci, t := range ix.tin {
		order[t] = int32(ci)
	}
	for k := nc - 1; k >= 0; k-- {
		ci := order[k]
		if p := ix.parent[ci]; p >= 0 {
			ix.subtreeBytes[p] = addBytes(ix.subtreeBytes[p], ix.subtreeBytes[ci])
		}
	}
	hugemem.Release(order)
	return ix, nil
}

// idTables returns the id tables of s: the decoder's (t, when not nil),
// or new ones. Duplicate ids are an error naming the first.
func idTables(s *Snapshot, t *tables, tune tuning) (comps, res *idTable, err error) {
	compKey := func(p int32) string { return s.Components[p].ID }
	resKey := func(p int32) string { return s.Resources[p].ID }
	if t != nil {
		if t.comps != nil {
			comps = t.comps.rebind(compKey)
		}
		if t.res != nil {
			res = t.res.rebind(resKey)
		}
	}
	if comps == nil {
		var ok bool
		if comps, ok = buildIDTable(len(s.Components), compKey, tune); !ok {
			return nil, nil, fmt.Errorf("duplicate component id %q", firstDuplicate(len(s.Components), compKey))
		}
	}
	if res == nil {
		var ok bool
		if res, ok = buildIDTable(len(s.Resources), resKey, tune); !ok {
			return nil, nil, fmt.Errorf("duplicate resource id %q", firstDuplicate(len(s.Resources), resKey))
		}
	}
	return comps, res, nil
}

// firstDuplicate returns the first id, in order, that occurs twice.
func firstDuplicate(n int, key func(int32) string) string {
	seen := make(map[string]bool, n)
	for i := range n {
		id := key(int32(i))
		if seen[id] {
			return id
		}
		seen[id] = true
	}
	return ""
}

// resolveOwners finds each resource's owner and sums the live bytes, on
// several goroutines for a large snapshot. hint, when the decoder noted
// them, holds the owners' positions: where the resource's owner is that
// component's id string (the same bytes, not only equal ones), the
// position is taken as it is — a lookup in a large id table costs three
// cache misses.
func (ix *Index) resolveOwners(hint []int32) {
	res, comps := ix.Snap.Resources, ix.Snap.Components
	nc, nr := len(comps), len(res)
	if len(hint) != nr {
		hint = nil
	}
	ix.owner = hugemem.Make[int32](nr)
	workers := ix.tune.parallelism(nr)
	type sums struct {
		own        []int64
		live       int
		totalBytes int64
	}
	part := make([]sums, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			p := &part[w]
			p.own = hugemem.Make[int64](nc)
			for i := nr * w / workers; i < nr*(w+1)/workers; i++ {
				r := &res[i]
				ci := int32(-1)
				if hint != nil && hint[i] >= 0 && int(hint[i]) < nc && sameString(r.Owner, comps[hint[i]].ID) {
					ci = hint[i]
				} else if pos, ok := ix.compIDs.find(r.Owner); ok {
					ci = pos
				}
				ix.owner[i] = ci
				if r.Live() {
					p.live++
					p.totalBytes = addBytes(p.totalBytes, r.SizeBytes)
					if ci >= 0 {
						p.own[ci] = addBytes(p.own[ci], r.SizeBytes)
					}
				}
			}
		})
	}
	wg.Wait()
	ix.ownBytes = part[0].own
	for _, p := range part {
		ix.liveCount += p.live
		ix.totalLive = addBytes(ix.totalLive, p.totalBytes)
	}
	for _, p := range part[1:] {
		for ci, b := range p.own {
			ix.ownBytes[ci] = addBytes(ix.ownBytes[ci], b)
		}
		hugemem.Release(p.own)
	}
}

// csr groups items by group in compressed sparse row form, keeping the
// order in which they are yielded.
func csr(groups, items int, each func(yield func(group, item int32))) (start, list []int32) {
	start = hugemem.Make[int32](groups + 1)
	each(func(g, _ int32) { start[g+1]++ })
	for g := 0; g < groups; g++ {
		start[g+1] += start[g]
	}
	list = hugemem.Make[int32](int(start[groups]))
	fill := hugemem.Make[int32](groups)
	copy(fill, start[:groups])
	each(func(g, item int32) {
		list[fill[g]] = item
		fill[g]++
	})
	hugemem.Release(fill)
	return start, list
}

// walk numbers the components depth-first from the roots and sets depths.
func (ix *Index) walk() {
	nc := len(ix.parent)
	ix.tin = hugemem.Make[int32](nc)
	ix.tout = hugemem.Make[int32](nc)
	t := int32(0)
	type frame struct{ ci, next int32 }
	var stack []frame
	for _, r := range ix.roots {
		ix.depth[r] = 0
		ix.tin[r] = t
		t++
		stack = append(stack[:0], frame{r, ix.childStart[r]})
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next < ix.childStart[f.ci+1] {
				c := ix.childList[f.next]
				f.next++
				ix.depth[c] = ix.depth[f.ci] + 1
				ix.tin[c] = t
				t++
				stack = append(stack, frame{c, ix.childStart[c]})
				continue
			}
			ix.tout[f.ci] = t - 1
			stack = stack[:len(stack)-1]
		}
	}
}

// parentCycles returns every cycle of parent links, each as component
// indices in parent order, starting from its smallest index. parent holds
// each component's parent position, -1 for none.
func parentCycles(parent []int32) [][]int {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(parent))
	var cycles [][]int
	var path []int
	for i := range parent {
		path = path[:0]
		j := i
		for j >= 0 && state[j] == unseen {
			state[j] = onPath
			path = append(path, j)
			j = int(parent[j])
		}
		if j >= 0 && state[j] == onPath {
			k := 0
			for path[k] != j {
				k++
			}
			cyc := append([]int(nil), path[k:]...)
			m := 0
			for x := range cyc {
				if cyc[x] < cyc[m] {
					m = x
				}
			}
			cycles = append(cycles, append(cyc[m:], cyc[:m]...))
		}
		for _, x := range path {
			state[x] = done
		}
	}
	return cycles
}

// ComponentIndex returns the position of the component with the given id.
func (ix *Index) ComponentIndex(id string) (int, bool) {
	ci, ok := ix.compIDs.find(id)
	if !ok {
		return 0, false
	}
	return int(ci), true
}

// ResourceIndex returns the position of the resource with the given id.
func (ix *Index) ResourceIndex(id string) (int, bool) {
	ri, ok := ix.resIDs.find(id)
	if !ok {
		return 0, false
	}
	return int(ri), true
}

// Component returns the component with the given id, or nil.
func (ix *Index) Component(id string) *Component {
	if ci, ok := ix.compIDs.find(id); ok {
		return &ix.Snap.Components[ci]
	}
	return nil
}

// Resource returns the resource with the given id, or nil.
func (ix *Index) Resource(id string) *Resource {
	if ri, ok := ix.resIDs.find(id); ok {
		return &ix.Snap.Resources[ri]
	}
	return nil
}

// Parent returns the position of ci's parent, or -1 when ci is a root.
func (ix *Index) Parent(ci int) int { return int(ix.parent[ci]) }

// Depth is 0 for a root component, else its parent's depth + 1.
func (ix *Index) Depth(ci int) int { return int(ix.depth[ci]) }

// Roots are the components without a parent in the snapshot, in input order.
func (ix *Index) Roots() []int32 { return ix.roots }

// Children returns the child components of ci, in input order.
func (ix *Index) Children(ci int) []int32 {
	return ix.childList[ix.childStart[ci]:ix.childStart[ci+1]]
}

// Owned returns the resources owned directly by ci (in any state), in input order.
func (ix *Index) Owned(ci int) []int32 {
	return ix.ownedList[ix.ownedStart[ci]:ix.ownedStart[ci+1]]
}

// Cleanups returns the cleanups registered for ci, in input order.
func (ix *Index) Cleanups(ci int) []int32 {
	return ix.cleanupList[ix.cleanupStart[ci]:ix.cleanupStart[ci+1]]
}

// Owner returns the position of resource ri's owner, or -1 when the owner
// is not in the snapshot.
func (ix *Index) Owner(ri int) int { return int(ix.owner[ri]) }

// InSubtree reports whether component ci is root or one of its descendants.
func (ix *Index) InSubtree(ci, root int) bool {
	return ix.tin[root] <= ix.tin[ci] && ix.tin[ci] <= ix.tout[root]
}

// Subtree returns root and its descendants, parents before children.
func (ix *Index) Subtree(root int) []int32 {
	out := []int32{int32(root)}
	for k := 0; k < len(out); k++ {
		out = append(out, ix.Children(int(out[k]))...)
	}
	return out
}

// PathTo returns the components from ci's root down to ci.
func (ix *Index) PathTo(ci int) []int32 {
	var out []int32
	for c := int32(ci); c >= 0; c = ix.parent[c] {
		out = append(out, c)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// LiveBytes is the size of the live resources ci owns directly.
func (ix *Index) LiveBytes(ci int) int64 { return ix.ownBytes[ci] }

// SubtreeLiveBytes is the size of the live resources of ci and its descendants.
func (ix *Index) SubtreeLiveBytes(ci int) int64 { return ix.subtreeBytes[ci] }

// TotalLiveBytes is the size of every live resource in the snapshot.
func (ix *Index) TotalLiveBytes() int64 { return ix.totalLive }

// LiveCount is the number of live resources in the snapshot.
func (ix *Index) LiveCount() int { return ix.liveCount }

// sameString reports whether a and b are the very same string: the same
// bytes in memory, not only equal ones.
func sameString(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// addBytes adds two sizes (never negative), saturating at math.MaxInt64:
// a sum past it still exceeds every limit (docs/snapshot-format.md).
func addBytes(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}
