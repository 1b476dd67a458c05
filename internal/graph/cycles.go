// Package graph holds the one cycle finder the planner and the leak rules
// share (docs/cleanup-ordering.md, docs/leaks.md).
package graph

import "slices"

// Cycles finds one cycle per cyclic strongly connected set of a graph
// of n nodes whose edges are in CSR form (the successors of v are
// list[start[v]:start[v+1]]): the shortest way from the set's smallest node
// back to it, in edge order. Cycles are ordered by that node. It runs in
// O(n + edges) for the sets and a breadth-first search within each cyclic set.
func Cycles(n int, start, list []int32) [][]int {
	if len(list) == 0 {
		return nil
	}
	succ := func(v int32) []int32 { return list[start[v]:start[v+1]] }

	// Tarjan's strongly connected components, without recursion.
	const unseen = 0
	num := make([]int32, n) // visit number + 1
	low := make([]int32, n)
	comp := make([]int32, n) // component number + 1, once assigned
	var stack []int32
	type frame struct{ v, next int32 }
	var calls []frame
	counter := int32(0)
	ncomp := int32(0)
	var heads []int32 // smallest member of each cyclic component
	visit := func(v int32) {
		counter++
		num[v], low[v] = counter, counter
		stack = append(stack, v)
		calls = append(calls, frame{v, start[v]})
	}
	for s := range int32(n) {
		if num[s] != unseen || start[s] == start[s+1] {
			continue
		}
		visit(s)
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			v := f.v
			if f.next < start[v+1] {
				w := list[f.next]
				f.next++
				switch {
				case num[w] == unseen:
					visit(w)
				case comp[w] == 0: // on the stack
					low[v] = min(low[v], num[w])
				}
				continue
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] != num[v] {
				continue
			}
			ncomp++
			head, size := v, 0
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				comp[w] = ncomp
				head = min(head, w)
				size++
				if w == v {
					break
				}
			}
			if size > 1 || slices.Contains(succ(v), v) {
				heads = append(heads, head)
			}
		}
	}
	if len(heads) == 0 {
		return nil
	}
	slices.Sort(heads)

	// The shortest cycle through each head, by a breadth-first search
	// within its component, following depends_on in order.
	cycles := make([][]int, 0, len(heads))
	prev := make(map[int32]int32)
	for _, h := range heads {
		clear(prev)
		queue := []int32{h}
		var last int32 = -1
	search:
		for k := 0; k < len(queue); k++ {
			u := queue[k]
			for _, w := range succ(u) {
				if comp[w] != comp[h] {
					continue
				}
				if w == h {
					last = u
					break search
				}
				if _, seen := prev[w]; !seen {
					prev[w] = u
					queue = append(queue, w)
				}
			}
		}
		var cyc []int
		for u := last; u != h; u = prev[u] {
			cyc = append(cyc, int(u))
		}
		cyc = append(cyc, int(h))
		slices.Reverse(cyc)
		cycles = append(cycles, cyc)
	}
	return cycles
}
