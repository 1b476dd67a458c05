package planner

import (
	"slices"

	"github.com/rescoord/rescoord/internal/graph"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// DependencyCycles finds the cycles among the depends_on links of the live
// resources in ix: one cycle for each group of resources that can all reach
// each other (a resource that depends on itself is a cycle of one). Each
// cycle lists resource positions in dependency order — each member depends
// on the next, the last on the first — starting at the member that comes
// first in the snapshot and taking the shortest way back to it; cycles are
// ordered by that first member.
func DependencyCycles(ix *snapshot.Index) [][]int {
	res := ix.Snap.Resources
	return depCycles(ix, func(ri int) bool { return res[ri].Live() })
}

// depCycles is DependencyCycles over the resources for which include holds.
func depCycles(ix *snapshot.Index, include func(ri int) bool) [][]int {
	res := ix.Snap.Resources
	n := len(res)
	// Edges in CSR form, deduplicated.
	start := make([]int32, n+1)
	var list []int32
	for ri := range res {
		if include(ri) {
			deps := res[ri].DependsOn
			for k, dep := range deps {
				rj, ok := ix.ResourceIndex(dep)
				if ok && include(rj) && !slices.Contains(deps[:k], dep) {
					list = append(list, int32(rj))
				}
			}
		}
		start[ri+1] = int32(len(list))
	}
	return graph.Cycles(n, start, list)
}
