package registry

import "time"

// Stats are the registry's counts at one moment: what is live by type and
// state, live bytes against limits, and the lifecycle counters (created
// and released) by resource type and by component.
type Stats struct {
	// TakenAt is when the stats were taken, by the registry's clock.
	TakenAt time.Time
	// AliveComponents and DestroyedComponents count the components kept
	// (a destroyed one is kept while it owns live resources or children).
	AliveComponents, DestroyedComponents int
	// Live counts the live resources (active or releasing).
	Live int
	// Releasing counts the resources being released now.
	Releasing int
	// LiveBytes is the size of the live resources.
	LiveBytes int64
	// GlobalLimit is the registry's byte limit (0: none).
	GlobalLimit int64
	// Cleanups counts the registered cleanup callbacks.
	Cleanups int
	// ByType holds the counts of each resource type ever tracked.
	ByType map[string]TypeStats
	// ByComponent holds the counts of each kept component, by id.
	ByComponent map[string]ComponentStats
}

// TypeStats are the counts of one resource type.
type TypeStats struct {
	// Active and Releasing count the live resources of the type by state.
	Active, Releasing int
	// Bytes is their size.
	Bytes int64
	// Created and Released count the resources of the type tracked and
	// released since the registry was made.
	Created, Released uint64
}

// ComponentStats are the counts of one component.
type ComponentStats struct {
	// Destroyed is true once the component is destroyed.
	Destroyed bool
	// Live counts the live resources it owns directly.
	Live int
	// Bytes is their size; SubtreeBytes adds its descendants'.
	Bytes, SubtreeBytes int64
	// Limit is its subtree's byte limit (0: none).
	Limit int64
	// Created and Released count the resources tracked under it and
	// released since it was registered.
	Created, Released uint64
}

// OverLimit reports whether the component's subtree exceeds its limit.
func (c ComponentStats) OverLimit() bool { return c.Limit > 0 && c.SubtreeBytes > c.Limit }

// OverLimit reports whether the registry's live bytes exceed its global limit.
func (s Stats) OverLimit() bool { return s.GlobalLimit > 0 && s.LiveBytes > s.GlobalLimit }

// Stats returns the registry's counts. It takes time in proportion to the
// number of components and resource types, not resources.
func (r *Registry) Stats() Stats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := Stats{
		TakenAt:     r.now(),
		Live:        r.res.live(),
		LiveBytes:   r.liveBytes,
		GlobalLimit: r.globalLimit,
		Cleanups:    r.cbTable.len(),
		ByType:      make(map[string]TypeStats, len(r.byType)),
		ByComponent: make(map[string]ComponentStats, r.compTable.len()),
	}
	for typ, tc := range r.byType {
		s.ByType[typ] = TypeStats{Active: tc.active, Releasing: tc.releasing, Bytes: tc.bytes, Created: tc.created, Released: tc.released}
		s.Releasing += tc.releasing
	}
	for _, c := range r.compTable.items {
		if c == nil {
			continue
		}
		if c.state == csDestroyed {
			s.DestroyedComponents++
		} else {
			s.AliveComponents++
		}
		s.ByComponent[c.id] = ComponentStats{
			Destroyed: c.state == csDestroyed, Live: c.live, Bytes: c.own, SubtreeBytes: c.subtree,
			Limit: c.limit, Created: c.tracked, Released: c.released,
		}
	}
	return s
}
