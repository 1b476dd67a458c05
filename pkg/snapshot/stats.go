package snapshot

import (
	"cmp"
	"slices"
	"time"

	"github.com/rescoord/rescoord/internal/human"
)

// Stats summarises a snapshot: totals by type and state, the heaviest
// components, the use of each limit and the oldest live resources.
type Stats struct {
	Components          int           `json:"components"`
	DestroyedComponents int           `json:"destroyed_components"`
	Resources           int           `json:"resources"`
	LiveResources       int           `json:"live_resources"`
	LiveBytes           int64         `json:"live_bytes"`
	ByType              []TypeStats   `json:"by_type"`
	TopComponents       []CompStats   `json:"top_components"`
	Limits              []LimitUse    `json:"limits"`
	Oldest              []OldResource `json:"oldest"`
}

// TypeStats counts the resources of one type by state.
type TypeStats struct {
	Type      string `json:"type"`
	Active    int    `json:"active"`
	Releasing int    `json:"releasing"`
	Released  int    `json:"released"`
	Running   int    `json:"running"`
	LiveBytes int64  `json:"live_bytes"`
}

// CompStats is one component's live resources and bytes, own and subtree.
type CompStats struct {
	ID               string `json:"id"`
	Name             string `json:"name,omitempty"`
	Type             string `json:"type,omitempty"`
	State            string `json:"state"`
	LiveResources    int    `json:"live_resources"`
	LiveBytes        int64  `json:"live_bytes"`
	SubtreeLiveBytes int64  `json:"subtree_live_bytes"`
}

// LimitUse is one limit and how much of it the live bytes use. Component is
// empty for the global limit.
type LimitUse struct {
	Component string  `json:"component,omitempty"`
	Limit     int64   `json:"limit_bytes"`
	Used      int64   `json:"used_bytes"`
	Percent   float64 `json:"percent"`
	Missing   bool    `json:"missing,omitempty"`
}

// OldResource is a live resource and its age at the snapshot.
type OldResource struct {
	ID    string        `json:"id"`
	Type  string        `json:"type"`
	Name  string        `json:"name,omitempty"`
	Owner string        `json:"owner"`
	Age   time.Duration `json:"age_ns"`
}

// ComputeStats summarises ix, keeping the top n components and oldest resources.
func ComputeStats(ix *Index, n int) *Stats {
	s := ix.Snap
	st := &Stats{Components: len(s.Components), Resources: len(s.Resources), LiveResources: ix.LiveCount(), LiveBytes: ix.TotalLiveBytes()}
	byType := map[string]*TypeStats{}
	liveCount := make([]int, len(s.Components))
	var old []int32
	for i := range s.Resources {
		r := &s.Resources[i]
		t := byType[r.Type]
		if t == nil {
			t = &TypeStats{Type: r.Type}
			byType[r.Type] = t
		}
		switch r.State {
		case StateActive:
			t.Active++
		case StateReleasing:
			t.Releasing++
		case StateReleased:
			t.Released++
		}
		if !r.Live() {
			continue
		}
		if r.Running {
			t.Running++
		}
		t.LiveBytes = addBytes(t.LiveBytes, r.SizeBytes)
		if o := ix.Owner(i); o >= 0 {
			liveCount[o]++
		}
		if !r.CreatedAt.IsZero() {
			old = append(old, int32(i))
		}
	}
	for _, t := range byType {
		st.ByType = append(st.ByType, *t)
	}
	rank := func(t string) int {
		if i := slices.Index(knownTypes[:], t); i >= 0 {
			return i
		}
		return len(knownTypes)
	}
	slices.SortFunc(st.ByType, func(a, b TypeStats) int {
		return cmp.Or(cmp.Compare(rank(a.Type), rank(b.Type)), cmp.Compare(a.Type, b.Type))
	})

	for ci := range s.Components {
		c := &s.Components[ci]
		if !c.Alive() {
			st.DestroyedComponents++
		}
		if ix.SubtreeLiveBytes(ci) == 0 && liveCount[ci] == 0 {
			continue
		}
		st.TopComponents = append(st.TopComponents, CompStats{
			ID: c.ID, Name: c.Name, Type: c.Type, State: c.State,
			LiveResources: liveCount[ci], LiveBytes: ix.LiveBytes(ci), SubtreeLiveBytes: ix.SubtreeLiveBytes(ci),
		})
	}
	slices.SortFunc(st.TopComponents, func(a, b CompStats) int {
		return cmp.Or(cmp.Compare(b.LiveBytes, a.LiveBytes), cmp.Compare(b.LiveResources, a.LiveResources), human.Compare(a.ID, b.ID))
	})
	st.TopComponents = st.TopComponents[:min(n, len(st.TopComponents))]

	if g := s.Limits.GlobalBytes; g > 0 {
		st.Limits = append(st.Limits, LimitUse{Limit: g, Used: ix.TotalLiveBytes(), Percent: percent(ix.TotalLiveBytes(), g)})
	}
	ids := make([]string, 0, len(s.Limits.Components))
	for id := range s.Limits.Components {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		lim := s.Limits.Components[id]
		u := LimitUse{Component: id, Limit: lim}
		if ci, ok := ix.ComponentIndex(id); ok {
			u.Used = ix.SubtreeLiveBytes(ci)
		} else {
			u.Missing = true
		}
		u.Percent = percent(u.Used, lim)
		st.Limits = append(st.Limits, u)
	}

	res := s.Resources
	slices.SortFunc(old, func(a, b int32) int {
		return cmp.Or(res[a].CreatedAt.Compare(res[b].CreatedAt), cmp.Compare(res[a].ID, res[b].ID))
	})
	for _, i := range old[:min(n, len(old))] {
		r := &res[i]
		st.Oldest = append(st.Oldest, OldResource{ID: r.ID, Type: r.Type, Name: r.Name, Owner: r.Owner, Age: s.TakenAt.Sub(r.CreatedAt)})
	}
	return st
}

func percent(used, limit int64) float64 {
	if limit <= 0 {
		return 0
	}
	return float64(used) * 100 / float64(limit)
}
