package registry

import "sync/atomic"

// resTable holds the live resources in creation order, with their mutable
// fields in parallel arrays so that a snapshot copies them with a few
// memmoves under the lock. A released resource leaves a hole (state 0)
// until the table is compacted. While a snapshot reads the items outside
// the lock it pins the table: items below the length it saw are then
// never rewritten (compaction waits), so it needs no copy of them.
type resTable struct {
	items  []*Handle
	sizes  []int64
	states []uint8
	holes  int
	pins   atomic.Int32
}

// Resource states inside the registry; 0 is a hole.
const (
	stActive uint8 = iota + 1
	stReleasing
)

func (t *resTable) add(h *Handle, size int64) {
	h.slot = len(t.items)
	t.items = append(t.items, h)
	t.sizes = append(t.sizes, size)
	t.states = append(t.states, stActive)
}

func (t *resTable) remove(h *Handle) {
	i := h.slot
	t.sizes[i], t.states[i] = 0, 0
	h.slot = -1
	t.holes++
	if t.holes >= 64 && 2*t.holes >= len(t.items) && t.pins.Load() == 0 {
		t.compact()
	}
}

// compact closes the holes, keeping creation order.
func (t *resTable) compact() {
	j := 0
	for i, h := range t.items {
		if t.states[i] == 0 {
			continue
		}
		h.slot = j
		t.items[j], t.sizes[j], t.states[j] = h, t.sizes[i], t.states[i]
		j++
	}
	clear(t.items[j:])
	if cap(t.items) > 1024 && 4*j < cap(t.items) {
		// Most of the table is gone: give the memory back.
		t.items = append([]*Handle(nil), t.items[:j]...)
		t.sizes = append([]int64(nil), t.sizes[:j]...)
		t.states = append([]uint8(nil), t.states[:j]...)
	} else {
		t.items, t.sizes, t.states = t.items[:j], t.sizes[:j], t.states[:j]
	}
	t.holes = 0
}

// live is the number of resources in the table.
func (t *resTable) live() int { return len(t.items) - t.holes }

// slotted is a record that knows its position in a table.
type slotted interface {
	comparable
	slotp() *int
}

// table holds records in insertion order; removed ones leave holes until
// the table is compacted.
type table[T slotted] struct {
	items []T
	holes int
}

func (t *table[T]) add(x T) {
	*x.slotp() = len(t.items)
	t.items = append(t.items, x)
}

func (t *table[T]) remove(x T) {
	var zero T
	p := x.slotp()
	t.items[*p] = zero
	*p = -1
	t.holes++
	if t.holes >= 64 && 2*t.holes >= len(t.items) {
		j := 0
		for _, y := range t.items {
			if y != zero {
				*y.slotp() = j
				t.items[j] = y
				j++
			}
		}
		clear(t.items[j:])
		t.items = t.items[:j]
		t.holes = 0
	}
}

func (t *table[T]) len() int { return len(t.items) - t.holes }
