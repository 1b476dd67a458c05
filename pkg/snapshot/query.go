package snapshot

import (
	"cmp"
	"fmt"
	"slices"
)

// StateFilter selects resources by state.
type StateFilter string

// State filters: live (active or releasing) is the default.
const (
	FilterLive      StateFilter = "live"
	FilterActive    StateFilter = "active"
	FilterReleasing StateFilter = "releasing"
	FilterReleased  StateFilter = "released"
	FilterAll       StateFilter = "all"
)

// Query selects and orders resources. The zero Query selects every live
// resource in snapshot order.
type Query struct {
	// Types keeps resources of any of these types; empty keeps all.
	Types []string
	// Owner keeps resources owned by this component id; with Recursive,
	// also those owned by its descendants.
	Owner     string
	Recursive bool
	// State keeps resources in this state; "" means live.
	State StateFilter
	// Running keeps only resources that are running.
	Running bool
	// MinSize keeps resources of at least this many bytes.
	MinSize int64
	// Sort orders the result: "", "id", "size", "age", "type" or "owner".
	Sort string
}

// SortKeys lists the values Query.Sort accepts (a new slice each call).
func SortKeys() []string { return []string{"id", "size", "age", "type", "owner"} }

// Select returns the positions of the resources q selects, in q's order.
// Sorts are stable and fall back to the resource id: size is largest
// first, age oldest first.
func (ix *Index) Select(q Query) ([]int32, error) {
	state := q.State
	if state == "" {
		state = FilterLive
	}
	switch state {
	case FilterLive, FilterActive, FilterReleasing, FilterReleased, FilterAll:
	default:
		return nil, fmt.Errorf("invalid state filter %q: want live, active, releasing, released or all", q.State)
	}
	root := -1
	if q.Owner != "" {
		ci, ok := ix.ComponentIndex(q.Owner)
		if !ok && q.Recursive {
			return nil, fmt.Errorf("no component %q in the snapshot", q.Owner)
		}
		root = ci
	}
	res := ix.Snap.Resources
	out := make([]int32, 0, len(res))
	for i := range res {
		r := &res[i]
		switch state {
		case FilterLive:
			if !r.Live() {
				continue
			}
		case FilterAll:
		default:
			if r.State.String() != string(state) {
				continue
			}
		}
		if len(q.Types) > 0 && !slices.Contains(q.Types, r.Type) {
			continue
		}
		if q.Running && !r.Running {
			continue
		}
		if r.SizeBytes < q.MinSize {
			continue
		}
		if q.Owner != "" {
			if q.Recursive {
				o := ix.Owner(i)
				if o < 0 || !ix.InSubtree(o, root) {
					continue
				}
			} else if r.Owner != q.Owner {
				continue
			}
		}
		out = append(out, int32(i))
	}
	if err := ix.sortResources(out, q.Sort); err != nil {
		return nil, err
	}
	return out, nil
}

func (ix *Index) sortResources(sel []int32, key string) error {
	res := ix.Snap.Resources
	byID := func(a, b int32) int { return cmp.Compare(res[a].ID, res[b].ID) }
	var f func(a, b int32) int
	switch key {
	case "":
		return nil
	case "id":
		f = byID
	case "size":
		f = func(a, b int32) int { return cmp.Or(cmp.Compare(res[b].SizeBytes, res[a].SizeBytes), byID(a, b)) }
	case "age":
		f = func(a, b int32) int {
			return cmp.Or(compareTimeOldestFirst(res[a].CreatedAt.UnixNano(), res[b].CreatedAt.UnixNano(), res[a].CreatedAt.IsZero(), res[b].CreatedAt.IsZero()), byID(a, b))
		}
	case "type":
		f = func(a, b int32) int { return cmp.Or(cmp.Compare(res[a].Type, res[b].Type), byID(a, b)) }
	case "owner":
		f = func(a, b int32) int { return cmp.Or(cmp.Compare(res[a].Owner, res[b].Owner), byID(a, b)) }
	default:
		return fmt.Errorf("invalid sort key %q: want id, size, age, type or owner", key)
	}
	slices.SortStableFunc(sel, f)
	return nil
}

// compareTimeOldestFirst orders times oldest first, unknown times last.
func compareTimeOldestFirst(a, b int64, aZero, bZero bool) int {
	switch {
	case aZero && bZero:
		return 0
	case aZero:
		return 1
	case bZero:
		return -1
	}
	return cmp.Compare(a, b)
}
